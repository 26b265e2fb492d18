package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
)

// fakeClock is a settable clock for TTL tests.
func newFakeClock() *fakeclock.Clock { return fakeclock.New(time.Unix(1_700_000_000, 0)) }

// testOrigin serves objects from a map and counts fetches per key.
type testOrigin struct {
	mu      sync.Mutex
	objects map[string]testObject
	fail    error
	fetches map[string]int
}

type testObject struct {
	body   []byte
	kind   Kind
	ttl    time.Duration
	window []string
	media  []string
	seq    uint64
	swarms []SwarmMedia
	status int
}

func newTestOrigin() *testOrigin {
	return &testOrigin{objects: map[string]testObject{}, fetches: map[string]int{}}
}

func (o *testOrigin) set(key string, obj testObject) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if obj.status == 0 {
		obj.status = 200
	}
	o.objects[key] = obj
}

func (o *testOrigin) setFail(err error) {
	o.mu.Lock()
	o.fail = err
	o.mu.Unlock()
}

func (o *testOrigin) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fetches[key]
}

func (o *testOrigin) Fetch(ctx context.Context, req *Request) (*Object, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fetches[req.Key]++
	if o.fail != nil {
		return nil, o.fail
	}
	obj, ok := o.objects[req.Key]
	if !ok {
		return &Object{Status: 404, TTL: time.Second, Store: true, Size: 0, Body: io.NopCloser(bytes.NewReader(nil))}, nil
	}
	return &Object{
		Status: obj.status, Kind: obj.kind, TTL: obj.ttl, Store: obj.ttl > 0, Window: obj.window, Media: obj.media, MediaSequence: obj.seq, Swarms: obj.swarms,
		Size: int64(len(obj.body)), Body: io.NopCloser(bytes.NewReader(obj.body)),
		Header: []Header{{"Content-Type", "video/mp2t"}},
	}, nil
}

func newTestCache(tb testing.TB, cfg Config, f Fetcher, opt Options) *Cache {
	tb.Helper()
	c, err := New(cfg, f, opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

func get(tb testing.TB, c *Cache, key string) ([]byte, Lookup) {
	tb.Helper()
	e, lk, err := c.Get(context.Background(), &Request{Key: key, Path: key})
	if err != nil {
		tb.Fatalf("get %s: %v", key, err)
	}
	body, err := e.Wait(context.Background())
	if err != nil {
		tb.Fatalf("get %s body: %v", key, err)
	}
	return body, lk
}

func TestConcurrentMissesShareOneFill(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 4<<10) // 64 KiB
	release := make(chan struct{})
	var fetches atomic.Int32
	f := FetcherFunc(func(ctx context.Context, req *Request) (*Object, error) {
		fetches.Add(1)
		<-release // hold the fill until every caller is waiting
		return &Object{Status: 200, Kind: KindSegment, TTL: time.Hour, Store: true, Size: int64(len(body)), Body: io.NopCloser(bytes.NewReader(body))}, nil
	})
	c := newTestCache(t, DefaultConfig(), f, Options{})

	const n = 1000
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			e, _, err := c.Get(context.Background(), &Request{Key: "/seg/1.ts"})
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(e.NewReader(context.Background()))
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got, body) {
				errs <- errors.New("body differs")
			}
		}()
	}
	started.Wait()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := fetches.Load(); got != 1 {
		t.Fatalf("origin fetches = %d, want 1", got)
	}
}

func TestWaitersReadBytesBeforeTheFillEnds(t *testing.T) {
	pr, pw := io.Pipe()
	f := FetcherFunc(func(ctx context.Context, req *Request) (*Object, error) {
		return &Object{Status: 200, Kind: KindSegment, TTL: time.Hour, Store: true, Size: -1, Body: pr}, nil
	})
	c := newTestCache(t, DefaultConfig(), f, Options{})
	e, lk, err := c.Get(context.Background(), &Request{Key: "/slow.ts"})
	if err != nil {
		t.Fatal(err)
	}
	if lk.Result != Miss {
		t.Fatalf("result = %v, want miss", lk.Result)
	}
	go func() { _, _ = pw.Write([]byte("first part|")) }()
	r := e.NewReader(context.Background())
	buf := make([]byte, 64)
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "first part|" {
		t.Fatalf("first read = %q, %v; want the first part while the origin is still sending", buf[:n], err)
	}
	// A second viewer joining now gets the same in-flight entry.
	e2, lk2, err := c.Get(context.Background(), &Request{Key: "/slow.ts"})
	if err != nil || e2 != e || !lk2.Collapsed {
		t.Fatalf("second get = %p %+v %v, want the in-flight entry, collapsed", e2, lk2, err)
	}
	go func() { _, _ = pw.Write([]byte("rest")); pw.Close() }()
	rest, err := io.ReadAll(r)
	if err != nil || string(rest) != "rest" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
	all, err := io.ReadAll(e2.NewReader(context.Background()))
	if err != nil || string(all) != "first part|rest" {
		t.Fatalf("second viewer got %q, %v", all, err)
	}
}

func TestAbortedFillIsNotStored(t *testing.T) {
	pr, pw := io.Pipe()
	o := newTestOrigin()
	var calls atomic.Int32
	f := FetcherFunc(func(ctx context.Context, req *Request) (*Object, error) {
		if calls.Add(1) == 1 {
			return &Object{Status: 200, Kind: KindSegment, TTL: time.Hour, Store: true, Size: 100, Body: pr}, nil
		}
		return o.Fetch(ctx, req)
	})
	c := newTestCache(t, DefaultConfig(), f, Options{})
	e, _, err := c.Get(context.Background(), &Request{Key: "/a.ts"})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = pw.Write([]byte("short")); pw.Close() }()
	if _, err := io.ReadAll(e.NewReader(context.Background())); !errors.Is(err, ErrFillAborted) {
		t.Fatalf("read err = %v, want ErrFillAborted for a body shorter than its Content-Length", err)
	}
	o.set("/a.ts", testObject{body: []byte("whole"), kind: KindSegment, ttl: time.Hour})
	body, lk := get(t, c, "/a.ts")
	if string(body) != "whole" || lk.Result != Miss {
		t.Fatalf("after abort: %q %v, want a fresh fill", body, lk.Result)
	}
}

func TestStaleIfErrorThenError(t *testing.T) {
	clk := newFakeClock()
	o := newTestOrigin()
	o.set("/live/low/index.m3u8", testObject{body: []byte("#EXTM3U v1"), kind: KindLivePlaylist, ttl: time.Second})
	cfg := DefaultConfig()
	cfg.StaleGrace = 30 * time.Second
	c := newTestCache(t, cfg, o, Options{Clock: clk.Now})

	if _, lk := get(t, c, "/live/low/index.m3u8"); lk.Result != Miss || !lk.Stored {
		t.Fatalf("first = %+v, want stored miss", lk)
	}
	if _, lk := get(t, c, "/live/low/index.m3u8"); lk.Result != Hit {
		t.Fatalf("second = %+v, want hit", lk)
	}
	clk.Advance(2 * time.Second)
	o.setFail(errors.New("connection refused"))
	body, lk := get(t, c, "/live/low/index.m3u8")
	if lk.Result != Stale || string(body) != "#EXTM3U v1" || lk.Err == nil {
		t.Fatalf("origin down within grace: %q %+v, want the stale copy", body, lk)
	}
	clk.Advance(30 * time.Second)
	if _, _, err := c.Get(context.Background(), &Request{Key: "/live/low/index.m3u8"}); err == nil {
		t.Fatal("origin down after grace: want an error")
	}
	o.setFail(nil)
	o.set("/live/low/index.m3u8", testObject{body: []byte("#EXTM3U v2"), kind: KindLivePlaylist, ttl: time.Second})
	if body, lk := get(t, c, "/live/low/index.m3u8"); lk.Result != Miss || string(body) != "#EXTM3U v2" {
		t.Fatalf("origin back: %q %+v", body, lk)
	}
}

func TestOrigin5xxServesStale(t *testing.T) {
	clk := newFakeClock()
	o := newTestOrigin()
	o.set("/v.ts", testObject{body: []byte("good"), kind: KindSegment, ttl: time.Second})
	c := newTestCache(t, DefaultConfig(), o, Options{Clock: clk.Now})
	get(t, c, "/v.ts")
	clk.Advance(5 * time.Second)
	o.set("/v.ts", testObject{body: []byte("oops"), status: 503, ttl: 0})
	if body, lk := get(t, c, "/v.ts"); lk.Result != Stale || string(body) != "good" {
		t.Fatalf("503 from origin: %q %+v, want stale good copy", body, lk)
	}
	c.Sweep()
	// Without a stale copy the origin's error passes through as it is.
	o.set("/other.ts", testObject{body: []byte("x"), status: 502})
	e, lk, err := c.Get(context.Background(), &Request{Key: "/other.ts"})
	if err != nil || e.Status() != 502 || lk.Stored {
		t.Fatalf("5xx without stale copy: %v %+v, want the origin's 502 passed through unstored", err, lk)
	}
	if body, _ := e.Wait(context.Background()); string(body) != "x" {
		t.Fatalf("5xx body = %q, want the origin's", body)
	}
}

func TestUncacheableIsNotStored(t *testing.T) {
	o := newTestOrigin()
	o.set("/private.ts", testObject{body: []byte("p"), kind: KindSegment, ttl: 0})
	c := newTestCache(t, DefaultConfig(), o, Options{})
	for i := range 3 {
		if _, lk := get(t, c, "/private.ts"); lk.Result != Miss || lk.Stored {
			t.Fatalf("request %d: %+v, want an unstored miss", i, lk)
		}
	}
	if n := o.count("/private.ts"); n != 3 {
		t.Fatalf("origin fetches = %d, want 3", n)
	}
}

func TestDigestPublishedOncePerFill(t *testing.T) {
	o := newTestOrigin()
	body := []byte("segment bytes")
	o.set("/d.ts", testObject{body: body, kind: KindSegment, ttl: time.Hour})
	fills := make(chan FillInfo, 10)
	c := newTestCache(t, DefaultConfig(), o, Options{OnFill: func(fi FillInfo) { fills <- fi }})
	get(t, c, "/d.ts")
	fi := <-fills
	if fi.SHA256 != sha256.Sum256(body) || fi.Size != len(body) || fi.Key != "/d.ts" {
		t.Fatalf("fill info = %+v", fi)
	}
	if _, lk := get(t, c, "/d.ts"); lk.Result != Hit {
		t.Fatalf("second get = %+v, want hit", lk)
	}
	select {
	case fi := <-fills:
		t.Fatalf("a hit published a digest again: %+v", fi)
	default:
	}
}

// TestEveryNewLiveSegmentIsAdmitted fills the cache to its limit with VOD
// objects that are requested often (so TinyLFU rates them highly), then
// plays a live stream: every new live segment must be a hit on its second
// request, although ristretto would reject cold newcomers.
func TestEveryNewLiveSegmentIsAdmitted(t *testing.T) {
	const segSize = 64 << 10
	cfg := DefaultConfig()
	cfg.Size = 4 << 20
	o := newTestOrigin()
	c := newTestCache(t, cfg, o, Options{})

	for i := range 128 { // 8 MiB of VOD: twice the cache
		key := fmt.Sprintf("/vod/%d.ts", i)
		o.set(key, testObject{body: bytes.Repeat([]byte{byte(i)}, segSize), kind: KindSegment, ttl: time.Hour})
		for range 4 {
			get(t, c, key)
		}
	}
	settle(t, c)
	if st := c.Stats(); st.LiveBytes+st.RistrettoBytes < cfg.Size*3/4 {
		t.Fatalf("cache not near its limit before the live part: %+v", st)
	}

	const window = 6
	hits, total := 0, 0
	for seq := 0; seq < 40; seq++ {
		var keys []string
		for s := max(0, seq-window+1); s <= seq; s++ {
			keys = append(keys, fmt.Sprintf("/live/%d.ts", s))
		}
		seg := keys[len(keys)-1]
		o.set(seg, testObject{body: bytes.Repeat([]byte{byte(seq)}, segSize), kind: KindSegment, ttl: time.Hour})
		o.set("/live/index.m3u8", testObject{body: []byte(fmt.Sprint("playlist ", seq)), kind: KindLivePlaylist, ttl: time.Millisecond, window: keys})
		c.Sweep()
		// The playlist is refetched every time (its TTL is tiny in wall time).
		waitExpired(t, c, "/live/index.m3u8")
		get(t, c, "/live/index.m3u8")
		get(t, c, seg) // first request: a miss
		total++
		if _, lk := get(t, c, seg); lk.Result == Hit {
			hits++
		}
		if st := c.Stats(); st.LiveBytes+st.RistrettoBytes > cfg.Size {
			t.Fatalf("stores hold %d bytes, over the %d limit", st.LiveBytes+st.RistrettoBytes, cfg.Size)
		}
	}
	if hits != total {
		t.Fatalf("live segments served from cache on second request: %d of %d, want all", hits, total)
	}
	// Segments that left the window left the live store.
	settle(t, c)
	st := c.Stats()
	if st.LiveObjects > window+1 {
		t.Fatalf("live store holds %d objects, want at most the window (%d) and its playlist", st.LiveObjects, window)
	}
}

// settle waits until every fill has been put away: a fill hands its
// complete body to viewers before it files the entry in a store.
func settle(tb testing.TB, c *Cache) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Flights > 0 {
		if time.Now().After(deadline) {
			tb.Fatal("fills never settled")
		}
		runtime.Gosched()
	}
	c.ristWait()
}

func waitExpired(tb testing.TB, c *Cache, key string) {
	tb.Helper()
	if e, ok := c.Peek(key); ok {
		// A real clock drives this test; wait out the millisecond TTL
		// without sleeping a fixed time.
		for e.fresh(time.Now()) {
			runtime.Gosched()
		}
	}
}

func TestSegmentLeavingEveryWindowIsDemoted(t *testing.T) {
	clk := newFakeClock()
	o := newTestOrigin()
	c := newTestCache(t, DefaultConfig(), o, Options{Clock: clk.Now})
	for i := range 3 {
		o.set(fmt.Sprintf("/l/%d.ts", i), testObject{body: []byte{byte(i)}, kind: KindSegment, ttl: time.Hour})
	}
	o.set("/l/a.m3u8", testObject{body: []byte("a"), kind: KindLivePlaylist, ttl: time.Second, window: []string{"/l/0.ts", "/l/1.ts"}})
	o.set("/l/b.m3u8", testObject{body: []byte("b"), kind: KindLivePlaylist, ttl: time.Second, window: []string{"/l/1.ts"}})
	get(t, c, "/l/a.m3u8")
	get(t, c, "/l/b.m3u8")
	get(t, c, "/l/0.ts")
	get(t, c, "/l/1.ts")
	settle(t, c)
	if st := c.Stats(); st.LiveObjects != 4 || st.RistrettoObjects != 0 {
		t.Fatalf("stats = %+v, want 2 playlists + 2 segments live", st)
	}
	clk.Advance(2 * time.Second)
	o.set("/l/a.m3u8", testObject{body: []byte("a2"), kind: KindLivePlaylist, ttl: time.Second, window: []string{"/l/1.ts", "/l/2.ts"}})
	get(t, c, "/l/a.m3u8")
	settle(t, c)
	st := c.Stats()
	if st.LiveObjects != 3 || st.RistrettoObjects != 1 {
		t.Fatalf("stats = %+v, want /l/0.ts demoted to ristretto, /l/1.ts still live (window b)", st)
	}
	if _, lk := get(t, c, "/l/0.ts"); lk.Result != Hit {
		t.Fatalf("demoted segment: %+v, want still a hit", lk)
	}
}

// TestMemoryIsBounded measures the heap while far more bytes than the cache
// size pass through it.
func TestMemoryIsBounded(t *testing.T) {
	const size = 32 << 20
	cfg := DefaultConfig()
	cfg.Size = size
	o := newTestOrigin()
	c := newTestCache(t, cfg, o, Options{})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	body := make([]byte, 256<<10)
	for i := range 512 { // 128 MiB through a 32 MiB cache
		key := fmt.Sprintf("/m/%d.ts", i)
		body[0] = byte(i)
		o.set(key, testObject{body: append([]byte(nil), body...), kind: KindSegment, ttl: time.Hour})
		get(t, c, key)
		o.set(key, testObject{}) // the test origin must not hold the bytes
		if st := c.Stats(); st.LiveBytes+st.RistrettoBytes > size {
			t.Fatalf("accounted bytes %d over the %d limit after %d objects", st.LiveBytes+st.RistrettoBytes, size, i)
		}
	}
	c.ristWait()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// Allow 25% for ristretto's sketch, maps and headers.
	if grown > size*5/4 {
		t.Fatalf("heap grew by %d MiB for a %d MiB cache", grown>>20, size>>20)
	}
	t.Logf("heap grew by %.1f MiB for a %d MiB cache", float64(grown)/(1<<20), size>>20)
}

func TestSwarmIndexFollowsPlaylists(t *testing.T) {
	clk := newFakeClock()
	o := newTestOrigin()
	c := newTestCache(t, DefaultConfig(), o, Options{Clock: clk.Now})
	o.set("/live/a.m3u8", testObject{body: []byte("a"), kind: KindLivePlaylist, ttl: time.Second,
		window: []string{"/s/10.ts", "/s/11.ts"}, media: []string{"/s/10.ts", "/s/11.ts"}, seq: 10})
	o.set("/vod/b.m3u8", testObject{body: []byte("b"), kind: KindVODPlaylist, ttl: time.Hour,
		media: []string{"/s/11.ts"}, seq: 0})
	get(t, c, "/live/a.m3u8")
	get(t, c, "/vod/b.m3u8")
	settle(t, c)
	got := c.SwarmsOf("/s/11.ts")
	slices.SortFunc(got, func(a, b SwarmRef) int { return strings.Compare(a.Swarm, b.Swarm) })
	if len(got) != 2 || got[0] != (SwarmRef{Swarm: "/live/a.m3u8", Seq: 11}) || got[1] != (SwarmRef{Swarm: "/vod/b.m3u8"}) {
		t.Fatalf("SwarmsOf = %+v", got)
	}
	clk.Advance(2 * time.Second)
	o.set("/live/a.m3u8", testObject{body: []byte("a2"), kind: KindLivePlaylist, ttl: time.Second,
		window: []string{"/s/11.ts", "/s/12.ts"}, media: []string{"/s/11.ts", "/s/12.ts"}, seq: 11})
	get(t, c, "/live/a.m3u8")
	settle(t, c)
	if got := c.SwarmsOf("/s/10.ts"); len(got) != 0 {
		t.Fatalf("a segment that left the playlist still maps to %+v", got)
	}
	if got := c.SwarmsOf("/s/12.ts"); len(got) != 1 || got[0].Seq != 12 {
		t.Fatalf("SwarmsOf(/s/12.ts) = %+v", got)
	}
	if keys, seq := c.MediaOf("/live/a.m3u8"); len(keys) != 2 || seq != 11 {
		t.Fatalf("MediaOf = %v %d", keys, seq)
	}
	clk.Advance(time.Hour)
	c.Sweep()
	if got := c.SwarmsOf("/s/12.ts"); len(got) != 0 {
		t.Fatalf("after the live playlist expired: %+v", got)
	}
}

// A manifest with several swarms (a DASH MPD) indexes each: its media
// segments with their numbers and its init segments, and an update drops
// the swarms and segments it no longer lists.
func TestSwarmIndexOfAManifestWithSeveralSwarms(t *testing.T) {
	clk := newFakeClock()
	o := newTestOrigin()
	c := newTestCache(t, DefaultConfig(), o, Options{Clock: clk.Now})
	o.set("/d/live.mpd", testObject{body: []byte("m1"), kind: KindLivePlaylist, ttl: time.Second,
		window: []string{"/d/v/init.mp4", "/d/v/5.m4s", "/d/a/5.m4s"},
		swarms: []SwarmMedia{
			{Swarm: "/d/live.mpd#v", Media: []string{"/d/v/5.m4s"}, MediaSequence: 5, Init: []string{"/d/v/init.mp4"}},
			{Swarm: "/d/live.mpd#a", Media: []string{"/d/a/5.m4s"}, MediaSequence: 5},
		}})
	get(t, c, "/d/live.mpd")
	settle(t, c)
	e, _, err := c.Get(context.Background(), &Request{Key: "/d/live.mpd", Path: "/d/live.mpd"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Swarms(); !slices.Equal(got, []string{"/d/live.mpd#v", "/d/live.mpd#a"}) {
		t.Fatalf("Entry.Swarms = %v", got)
	}
	if got := c.SwarmsOf("/d/v/5.m4s"); len(got) != 1 || got[0] != (SwarmRef{Swarm: "/d/live.mpd#v", Seq: 5}) {
		t.Fatalf("SwarmsOf(video segment) = %+v", got)
	}
	if got := c.SwarmsOf("/d/v/init.mp4"); len(got) != 1 || got[0] != (SwarmRef{Swarm: "/d/live.mpd#v", Init: true}) {
		t.Fatalf("SwarmsOf(init) = %+v", got)
	}
	if got := c.SwarmsOf("/d/live.mpd"); len(got) != 0 {
		t.Fatalf("the manifest itself is listed as a segment: %+v", got)
	}
	if got := c.SwarmsIn("/d/live.mpd"); len(got) != 2 {
		t.Fatalf("SwarmsIn = %v", got)
	}
	clk.Advance(2 * time.Second)
	o.set("/d/live.mpd", testObject{body: []byte("m2"), kind: KindLivePlaylist, ttl: time.Second,
		window: []string{"/d/v/init.mp4", "/d/v/6.m4s"},
		swarms: []SwarmMedia{{Swarm: "/d/live.mpd#v", Media: []string{"/d/v/6.m4s"}, MediaSequence: 6, Init: []string{"/d/v/init.mp4"}}}})
	get(t, c, "/d/live.mpd")
	settle(t, c)
	if got := c.SwarmsOf("/d/a/5.m4s"); len(got) != 0 {
		t.Fatalf("a swarm the manifest no longer lists still maps its segment: %+v", got)
	}
	if got := c.SwarmsOf("/d/v/5.m4s"); len(got) != 0 {
		t.Fatalf("a segment that left the manifest still maps to %+v", got)
	}
	if keys, seq := c.MediaOf("/d/live.mpd#v"); !slices.Equal(keys, []string{"/d/v/6.m4s"}) || seq != 6 {
		t.Fatalf("MediaOf = %v %d", keys, seq)
	}
	if got := c.InitOf("/d/live.mpd#v"); !slices.Equal(got, []string{"/d/v/init.mp4"}) {
		t.Fatalf("InitOf = %v", got)
	}
	clk.Advance(time.Hour)
	c.Sweep()
	if got := c.SwarmsOf("/d/v/6.m4s"); len(got) != 0 || len(c.SwarmsIn("/d/live.mpd")) != 0 {
		t.Fatalf("after the manifest expired: %+v %v", got, c.SwarmsIn("/d/live.mpd"))
	}
}

// A viewer a moment behind another whose answer varies finds that fill:
// while its body streams in and after its last byte, before it is stored.
// Another variant is never handed the first one's answer.
func TestViewerBehindAVaryingFillSharesIt(t *testing.T) {
	var fetches atomic.Int32
	bodies := make(chan *io.PipeReader, 1)
	f := FetcherFunc(func(ctx context.Context, req *Request) (*Object, error) {
		fetches.Add(1)
		var list string
		for _, h := range req.Header {
			if h.Name == "X-List" {
				list = h.Value
			}
		}
		obj := &Object{Status: 200, Kind: KindSegment, TTL: time.Hour, Store: true, Vary: []string{"x-list"}, Size: -1}
		select {
		case pr := <-bodies:
			obj.Body = pr
		default:
			obj.Body = io.NopCloser(strings.NewReader("list " + list))
		}
		return obj, nil
	})
	c := newTestCache(t, DefaultConfig(), f, Options{})
	getList := func(key, list string) (*Entry, Lookup) {
		t.Helper()
		e, lk, err := c.Get(context.Background(), &Request{Key: key, Path: key, Header: []Header{{"X-List", list}}})
		if err != nil {
			t.Fatalf("get %s %q: %v", key, list, err)
		}
		return e, lk
	}

	// While the first answer streams in.
	pr, pw := io.Pipe()
	bodies <- pr
	first, _ := getList("/a", "x,y")
	second, lk := getList("/a", "x , y")
	if n := fetches.Load(); n != 1 || second != first || !lk.Collapsed {
		t.Fatalf("second viewer during the fill: %d origin fetches, collapsed %v, want 1 shared fill", n, lk.Collapsed)
	}
	if _, err := io.WriteString(pw, "list x,y"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if body, err := second.Wait(context.Background()); err != nil || string(body) != "list x,y" {
		t.Fatalf("shared body %q, %v", body, err)
	}

	// Right after the last byte, before the fill is put away.
	for i := range 200 {
		key := fmt.Sprintf("/b/%d", i)
		before := fetches.Load()
		e, _ := getList(key, "x,y")
		if _, err := e.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		again, lk := getList(key, "x , y")
		if n := fetches.Load() - before; n != 1 || lk.Result != Hit || again != e {
			t.Fatalf("%s: second viewer after the last byte: %d origin fetches, %v, want a hit on the first answer", key, n, lk.Result)
		}
		other, lk := getList(key, "z")
		body, err := other.Wait(context.Background())
		if err != nil || string(body) != "list z" || lk.Result == Hit {
			t.Fatalf("%s: another variant got %q (%v, %v), want its own answer", key, body, lk.Result, err)
		}
	}
}
