package cache

import (
	"testing"
	"time"
)

func TestPurgeByKeyAndPrefix(t *testing.T) {
	o := newTestOrigin()
	for _, k := range []string{"/vod/a/1.ts", "/vod/a/2.ts", "/vod/b/1.ts", "/live/1.ts"} {
		o.set(k, testObject{body: []byte("segment " + k), kind: KindSegment, ttl: time.Hour})
	}
	c := newTestCache(t, DefaultConfig(), o, Options{})
	for _, k := range []string{"/vod/a/1.ts", "/vod/a/2.ts", "/vod/b/1.ts", "/live/1.ts"} {
		get(t, c, k)
	}
	c.ristWait()
	stored := func(k string) bool { _, ok := c.Peek(k); return ok }
	// ristretto admits what it wants: count what it kept.
	want := 0
	for _, k := range []string{"/vod/a/1.ts", "/vod/a/2.ts"} {
		if stored(k) {
			want++
		}
	}
	if want == 0 || !stored("/vod/b/1.ts") && !stored("/live/1.ts") {
		t.Fatal("nothing was stored to purge")
	}
	if n := c.Purge("/vod/a/", true); n != want {
		t.Fatalf("prefix purge dropped %d, want %d", n, want)
	}
	if stored("/vod/a/1.ts") || stored("/vod/a/2.ts") {
		t.Fatal("a purged object is still stored")
	}
	liveStored := stored("/live/1.ts")
	if n := c.Purge("/live/1.ts", false); n != map[bool]int{true: 1}[liveStored] {
		t.Fatalf("key purge dropped %d, stored %v", n, liveStored)
	}
	if n := c.Purge("/live/1.ts", false); n != 0 || stored("/live/1.ts") {
		t.Fatalf("a second purge dropped %d", n)
	}
	before := o.count("/vod/a/1.ts")
	get(t, c, "/vod/a/1.ts")
	if o.count("/vod/a/1.ts") != before+1 {
		t.Fatal("a purged key was not fetched again")
	}
}
