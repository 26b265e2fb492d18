package origin

import (
	"slices"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
)

// TestParseDirectives: directives over several lines are one list, names
// are case-insensitive, quoted arguments keep their commas and escapes, a
// later argument replaces an earlier one, qualified no-cache and private
// name their fields (and are not the plain ones), and a delta-seconds that
// is not one is 0.
func TestParseDirectives(t *testing.T) {
	d := parseDirectives([]string{`Max-Age=60, no-cache="Set-Cookie, X-A", ext="a\"b, no-store", max-age=1`, ` , =x, s-maxage=a b, PRIVATE="X"`})
	if !d.present || d.noStore || d.noCache || d.private || d.public ||
		!slices.Equal(d.noCacheFields, []string{"set-cookie", "x-a"}) || !slices.Equal(d.privateFields, []string{"x"}) {
		t.Errorf("flags %+v", d)
	}
	for _, v := range []string{`no-cache=""`, `no-cache="a b"`, `no-cache`} {
		if d := parseDirectives([]string{v}); !d.noCache || d.noCacheFields != nil {
			t.Errorf("%s: %+v, want the unqualified no-cache", v, d)
		}
	}
	if !d.hasMaxAge || d.maxAge != time.Second || !d.hasSMaxAge || d.sMaxAge != 0 || d.lifetime() != 0 {
		t.Errorf("max-age %v (%v), s-maxage %v (%v), lifetime %v; want 1s, 0 and 0", d.maxAge, d.hasMaxAge, d.sMaxAge, d.hasSMaxAge, d.lifetime())
	}
	if d := parseDirectives(nil); d.present || d.explicit() {
		t.Errorf("no field lines: %+v", d)
	}
}

// BenchmarkDecide is the decision the node makes on every fetch, for a
// segment and for a live playlist with typical headers.
func BenchmarkDecide(b *testing.B) {
	cfg := DefaultConfig().TTL
	hs := []cache.Header{
		{Name: "Content-Type", Value: "video/mp2t"}, {Name: "Cache-Control", Value: "public, max-age=86400"},
		{Name: "ETag", Value: `"5f3a-1c2b"`}, {Name: "Last-Modified", Value: "Thu, 01 Jan 2026 00:00:00 GMT"},
		{Name: "Date", Value: "Thu, 01 Jan 2026 00:10:00 GMT"}, {Name: "Age", Value: "12"}, {Name: "Vary", Value: "Origin"},
	}
	live := media{kind: cache.KindLivePlaylist, info: &PlaylistInfo{TargetDuration: 6 * time.Second}}
	b.ReportAllocs()
	for b.Loop() {
		if p := decide(cfg, hs, "", 200, false, media{kind: cache.KindSegment}); !p.store {
			b.Fatal("not stored")
		}
		if p := decide(cfg, hs, "", 200, false, live); p.ttl-p.age != 3*time.Second {
			b.Fatal(p.ttl)
		}
	}
}
