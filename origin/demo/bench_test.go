package demo

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkSyntheticSegment measures generating one 1 MiB synthetic segment
// (a cache miss).
func BenchmarkSyntheticSegment(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		syntheticSegment(buf, 1, int64(i))
	}
}

// BenchmarkLoopRewrite measures making one live segment of the high rendition
// from the clip (a cache miss).
func BenchmarkLoopRewrite(b *testing.B) {
	o := newTestOrigin(b, DefaultConfig(), newFakeClock(testStart))
	c := o.clips[2]
	src := c.segments[3]
	buf := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	for i := 0; b.Loop(); i++ {
		copy(buf, src)
		if err := loopRewrite(buf, uint64(i), o.clip90k, c.counts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeCachedSegment measures answering a request for a live segment
// that is already cached.
func BenchmarkServeCachedSegment(b *testing.B) {
	clock := newFakeClock(testStart)
	o := newTestOrigin(b, DefaultConfig(), clock)
	req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/live/high/%d.ts", o.liveEdge(clock.Now())), nil)
	for b.Loop() {
		o.ServeHTTP(discard{}, req)
	}
}
