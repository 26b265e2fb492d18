package edge

import (
	"strings"
	"testing"
)

// FuzzBlocking checks the LL-HLS directive parser on any query: a
// blocking reload's canonical query parses again to itself, names each
// directive once and in one order, and the plain query holds none.
func FuzzBlocking(f *testing.F) {
	for _, s := range []string{"", "_HLS_msn=3", "_HLS_msn=3&_HLS_part=1", "_HLS_part=1&_HLS_msn=3&t=x",
		"_HLS_skip=YES", "_HLS_msn=3&_HLS_skip=v2", "_HLS_part=1", "_HLS_msn=x", "_HLS_msn=1&_HLS_msn=1",
		"a=1&&_HLS_msn=9223372036854775807&b", "_HLS_msn=%33", "_HLS_msn=-1", "_HLS_skip=NO&_HLS_msn=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		b, err := blockingOf(q)
		if err != nil || !b.on {
			return
		}
		again, err := blockingOf(b.query)
		if err != nil || again.query != b.query || again.plain != b.plain {
			t.Fatalf("%q -> %q does not parse to itself: %q, %v", q, b.query, again.query, err)
		}
		msns := 0
		for param := range strings.SplitSeq(b.query, "&") {
			if name, _, _ := strings.Cut(param, "="); name == "_HLS_msn" {
				msns++
			}
		}
		for param := range strings.SplitSeq(b.plain, "&") {
			switch name, _, _ := strings.Cut(param, "="); name {
			case "_HLS_msn", "_HLS_part", "_HLS_skip":
				t.Fatalf("%q: plain query %q keeps a directive", q, b.plain)
			}
		}
		if msns != 1 {
			t.Fatalf("%q: canonical query %q has _HLS_msn %d times", q, b.query, msns)
		}
	})
}
