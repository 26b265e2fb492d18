package cache

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// gatedOrigin serves each object's first half at once and the rest only
// after open is closed, so that many fills are in flight together.
type gatedOrigin struct {
	bodies map[string][]byte
	open   chan struct{}

	mu      sync.Mutex
	fetches int
}

func (o *gatedOrigin) Fetch(ctx context.Context, req *Request) (*Object, error) {
	o.mu.Lock()
	o.fetches++
	o.mu.Unlock()
	b := o.bodies[req.Key]
	half := len(b) / 2
	r := io.MultiReader(bytes.NewReader(b[:half]), &gate{open: o.open, r: bytes.NewReader(b[half:])})
	return &Object{Status: 200, Kind: KindSegment, TTL: time.Hour, Store: true, Size: int64(len(b)), Body: io.NopCloser(r)}, nil
}

type gate struct {
	open <-chan struct{}
	r    io.Reader
}

func (g *gate) Read(p []byte) (int, error) {
	<-g.open
	return g.r.Read(p)
}

// TestFillsInFlightStayWithinTheBudget runs ten concurrent 40 MiB fills
// through a 64 MiB cache. What the cache holds (stores and fills in
// flight, measured on the entries) stays within the budget, every viewer
// still gets its whole, correct object, and the fills that did not fit are
// counted.
func TestFillsInFlightStayWithinTheBudget(t *testing.T) {
	const size, obj, n = 64 << 20, 40 << 20, 10
	o := &gatedOrigin{bodies: map[string][]byte{}, open: make(chan struct{})}
	sums := map[string][sha256.Size]byte{}
	for i := range n {
		key := fmt.Sprintf("/big/%d.ts", i)
		b := bytes.Repeat([]byte{byte(i)}, obj)
		o.bodies[key], sums[key] = b, sha256.Sum256(b)
	}
	cfg := DefaultConfig()
	cfg.Size = size
	fills := make(chan FillInfo, n)
	c := newTestCache(t, cfg, o, Options{OnFill: func(fi FillInfo) { fills <- fi }})

	type result struct {
		key string
		sum [sha256.Size]byte
		n   int
		lk  Lookup
		err error
	}
	results := make(chan result, n)
	started := make(chan struct{}, n)
	for key := range o.bodies {
		go func() {
			e, lk, err := c.Get(context.Background(), &Request{Key: key, Path: key})
			if err != nil {
				results <- result{key: key, err: err}
				return
			}
			r := e.NewReader(context.Background())
			h := sha256.New()
			buf := make([]byte, 1<<20)
			k, err := io.ReadFull(r, buf[:1])
			h.Write(buf[:k])
			started <- struct{}{} // this viewer is receiving
			m, err2 := io.CopyBuffer(h, r, buf)
			if err == nil {
				err = err2
			}
			var s [sha256.Size]byte
			h.Sum(s[:0])
			results <- result{key: key, sum: s, n: k + int(m), lk: lk, err: err}
		}()
	}
	for range n {
		<-started
	}
	// Every fill is in flight and has sent half its bytes.
	st := c.Stats()
	held := st.LiveBytes + st.RistrettoBytes + st.FillBytes
	t.Logf("with %d fills in flight: fills hold %d MiB, stores %d MiB, %d uncached", n, st.FillBytes>>20, (st.LiveBytes+st.RistrettoBytes)>>20, st.Uncached)
	if held > size {
		t.Errorf("the cache holds %d MiB with %d fills in flight, over its %d MiB budget", held>>20, n, size>>20)
	}
	if st.Uncached == 0 {
		t.Errorf("no fill was counted as uncached")
	}
	close(o.open)

	var stored int
	for range n {
		r := <-results
		if r.err != nil || r.n != obj || r.sum != sums[r.key] {
			t.Fatalf("%s: got %d bytes (err %v), digest match %v; want the whole object", r.key, r.n, r.err, r.sum == sums[r.key])
		}
		if r.lk.Stored {
			stored++
		}
		if r.lk.Stored == r.lk.Uncached {
			t.Errorf("%s: lookup %+v is neither stored nor uncached", r.key, r.lk)
		}
	}
	if want := n - int(c.Stats().Uncached); stored != want {
		t.Errorf("%d fills stored, want %d (the ones that were not uncached)", stored, want)
	}
	// Streamed-through segments are still hashed for their swarms (OnFill
	// runs on the fill goroutine, after the viewer's last byte).
	for range n {
		fi := <-fills
		if fi.SHA256 != sums[fi.Key] || fi.Size != obj {
			t.Errorf("%s: published %d bytes, digest match %v", fi.Key, fi.Size, fi.SHA256 == sums[fi.Key])
		}
	}
	c.ristWait()
	if st := c.Stats(); st.LiveBytes+st.RistrettoBytes+st.FillBytes > size || st.FillBytes != 0 {
		t.Errorf("after the fills: %+v, want within %d and no fill bytes", st, size)
	}
}

// TestJoinersOfAnUncachedFillGetTheirOwn: requests that joined a fill
// before its size was known, which then streamed through, each start their
// own fill and read the whole object.
func TestJoinersOfAnUncachedFillGetTheirOwn(t *testing.T) {
	const size, obj = 4 << 20, 8 << 20
	body := bytes.Repeat([]byte("x"), obj)
	release := make(chan struct{})
	var mu sync.Mutex
	fetches := 0
	f := FetcherFunc(func(ctx context.Context, req *Request) (*Object, error) {
		mu.Lock()
		fetches++
		first := fetches == 1
		mu.Unlock()
		if first {
			<-release // headers come once the others have joined
		}
		return &Object{Status: 200, Kind: KindSegment, TTL: time.Hour, Store: true, Size: obj, Body: io.NopCloser(bytes.NewReader(body))}, nil
	})
	cfg := DefaultConfig()
	cfg.Size = size
	c := newTestCache(t, cfg, f, Options{})
	const viewers = 4
	var wg sync.WaitGroup
	errs := make(chan error, viewers)
	for range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, lk, err := c.Get(context.Background(), &Request{Key: "/k.ts", Path: "/k.ts"})
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(e.NewReader(context.Background()))
			if err != nil || len(b) != obj || !lk.Uncached {
				errs <- fmt.Errorf("got %d bytes, err %v, lookup %+v", len(b), err, lk)
			}
		}()
	}
	for c.Stats().Waiting < viewers {
		time.Sleep(time.Millisecond) // waiting on the cache's own count, not on time
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if fetches != viewers {
		t.Errorf("%d origin fetches, want one per viewer (%d)", fetches, viewers)
	}
}

// TestWaitKeepsAStreamedThroughBody: a caller that needs a streamed-through
// body whole (a playlist to gzip, a Range, the super-peer) reads it with
// Wait, and the entry then answers like a completed one for that caller,
// while nothing is stored and the digest is still published, unstored.
func TestWaitKeepsAStreamedThroughBody(t *testing.T) {
	const size = 1 << 20
	body := bytes.Repeat([]byte("#EXTINF:4,\nseg.ts\n"), (2<<20)/18)
	f := FetcherFunc(func(ctx context.Context, req *Request) (*Object, error) {
		return &Object{Status: 200, Kind: KindVODPlaylist, TTL: time.Hour, Store: true, Size: int64(len(body)), Body: io.NopCloser(bytes.NewReader(body))}, nil
	})
	cfg := DefaultConfig()
	cfg.Size = size
	fills := make(chan FillInfo, 1)
	c := newTestCache(t, cfg, f, Options{OnFill: func(fi FillInfo) { fills <- fi }})
	e, lk, err := c.Get(context.Background(), &Request{Key: "/big.m3u8", Path: "/big.m3u8"})
	if err != nil || !lk.Uncached || lk.Stored {
		t.Fatalf("Get: lookup %+v, err %v; want an uncached miss", lk, err)
	}
	got, err := e.Wait(context.Background())
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("Wait: %d bytes, err %v; want the whole %d", len(got), err, len(body))
	}
	if again, err := e.Wait(context.Background()); err != nil || !bytes.Equal(again, body) {
		t.Fatalf("second Wait: %d bytes, err %v", len(again), err)
	}
	if all, err := io.ReadAll(e.NewReader(context.Background())); err != nil || !bytes.Equal(all, body) {
		t.Fatalf("reader after Wait: %d bytes, err %v", len(all), err)
	}
	if b, ok := e.Complete(); !ok || !bytes.Equal(b, body) {
		t.Fatalf("Complete after Wait: ok %v, %d bytes", ok, len(b))
	}
	if e.ETag() == "" {
		t.Error("no ETag after Wait")
	}
	zr, err := gzip.NewReader(bytes.NewReader(e.Gzip()))
	if err != nil {
		t.Fatalf("Gzip after Wait: %v", err)
	}
	if unz, err := io.ReadAll(zr); err != nil || !bytes.Equal(unz, body) {
		t.Fatalf("Gzip after Wait decodes to %d bytes, err %v", len(unz), err)
	}
	fi := <-fills
	if fi.SHA256 != sha256.Sum256(body) || fi.Size != len(body) || fi.Stored {
		t.Errorf("published %d bytes, digest match %v, stored %v; want the whole body, unstored", fi.Size, fi.SHA256 == sha256.Sum256(body), fi.Stored)
	}
	if _, ok := c.Peek("/big.m3u8"); ok {
		t.Error("a streamed-through object was stored")
	}
}

// TestUnstorableFillsCountAgainstTheBudget: an answer the origin does not
// let the node store is still buffered for its viewer while it fills, and
// those bytes count against the budget like a storing fill's.
func TestUnstorableFillsCountAgainstTheBudget(t *testing.T) {
	const size, obj = 4 << 20, 2 << 20
	o := &gatedOrigin{bodies: map[string][]byte{"/p.ts": bytes.Repeat([]byte("p"), obj)}, open: make(chan struct{})}
	f := FetcherFunc(func(ctx context.Context, req *Request) (*Object, error) {
		ob, err := o.Fetch(ctx, req)
		if err == nil {
			ob.Store = false
		}
		return ob, err
	})
	cfg := DefaultConfig()
	cfg.Size = size
	c := newTestCache(t, cfg, f, Options{})
	e, lk, err := c.Get(context.Background(), &Request{Key: "/p.ts", Path: "/p.ts"})
	if err != nil || lk.Stored || lk.Uncached {
		t.Fatalf("Get: lookup %+v, err %v; want an unstored, buffered miss", lk, err)
	}
	r := e.NewReader(context.Background())
	if _, err := io.ReadFull(r, make([]byte, obj/2)); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.FillBytes < obj/2 {
		t.Errorf("an unstorable fill holding %d KiB counts %d KiB of fill bytes", obj/2>>10, st.FillBytes>>10)
	}
	close(o.open)
	if n, err := io.Copy(io.Discard, r); err != nil || n != obj/2 {
		t.Fatalf("rest of the body: %d bytes, err %v", n, err)
	}
	settle(t, c)
	if st := c.Stats(); st.FillBytes != 0 || st.LiveBytes+st.RistrettoBytes != 0 {
		t.Errorf("after the fill: %+v; want nothing held", st)
	}
}
