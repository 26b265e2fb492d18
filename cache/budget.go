package cache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// The byte budget (Config.Size) covers what the stores hold and what fills
// in flight hold: a fill allocates the body as it arrives, whether or not
// it will be stored, and those bytes are as real as stored ones. Stored
// objects in ristretto can be evicted to make room for a fill; live-store
// objects and other fills cannot. A fill whose declared size does not fit
// beside them is not kept, like an answer the origin did not let the node
// store, and goes the same way (Get): it is for the viewer that started it
// only, and requests that had joined it before its size was known make
// their own. Unlike an unstorable answer that fits, it is not buffered
// either: it streams through, its one viewer reading straight from the
// origin body, hashed on the way so that its digest is still published. A
// fill of unknown size is charged as it grows and is not stored when it
// ends over the budget.

// budget is the accounting of bytes held by fills in flight. Its fields
// are guarded by Cache.mu.
type budget struct {
	// fills is the bytes reserved by fills in flight.
	fills int64
	// filling holds the entries of fills in flight that buffer their body,
	// from the fill's start until its reservation is released.
	filling map[*Entry]struct{}
	// uncached counts fills that streamed through because they did not fit.
	uncached uint64
}

// reserveFillLocked reserves n bytes for a fill, evicting ristretto
// objects to make room, or reports false when n does not fit beside the
// live store and the other fills in flight.
func (c *Cache) reserveFillLocked(n int64) bool {
	if c.liveBytes+c.budget.fills+n > c.cfg.Size {
		return false
	}
	c.makeRoomLocked(n)
	c.budget.fills += n
	return true
}

// chargeFill grows the reservation of a fill to what its body holds now
// (fills of unknown size grow as they go). It reports whether the fill is
// still within the budget.
func (c *Cache) chargeFill(e *Entry, reserved *int64) bool {
	held := e.held()
	if held <= *reserved {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d := held - *reserved
	*reserved = held
	fits := c.liveBytes+c.budget.fills+d <= c.cfg.Size
	if fits {
		c.makeRoomLocked(d)
	}
	c.budget.fills += d
	return fits
}

// releaseFillLocked returns a fill's reservation, before its object is
// placed in a store (which charges it there) or dropped.
func (c *Cache) releaseFillLocked(e *Entry, n int64) {
	delete(c.budget.filling, e)
	c.budget.fills -= n
	budget := c.cfg.Size - c.liveBytes - c.budget.fills
	c.ristMaxCost(max(budget-budget/8, 1))
}

// fillBytesLocked is what the bodies of fills in flight hold now, measured
// on the entries themselves (not the reservations).
func (c *Cache) fillBytesLocked() int64 {
	var n int64
	for e := range c.budget.filling {
		n += e.held()
	}
	return n
}

// passBody is the body of a fill that streams through: the origin's, read
// once by the one caller the fill is for.
type passBody struct {
	src  io.Reader
	size int64 // declared

	mu     sync.Mutex
	taken  passTaker
	n      int64
	hasher hash.Hash
	err    error
	done   chan struct{} // closed when reading has ended
	sum    [sha256.Size]byte
}

// passTaker says who reads a streamed-through body.
type passTaker uint8

const (
	passFree   passTaker = iota
	passStream           // a reader from NewReader
	passWhole            // Wait, which then keeps it in the entry
)

func newPassBody(src io.Reader, size int64) *passBody {
	return &passBody{src: src, size: size, hasher: sha256.New(), done: make(chan struct{})}
}

var errPassTaken = errors.New("cache: streamed-through body already read")

// take hands the body to its one reader; it reports who had it when it
// was taken already.
func (p *passBody) take(by passTaker) (passTaker, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken != passFree {
		return p.taken, false
	}
	p.taken = by
	return by, true
}

func (p *passBody) Read(b []byte) (int, error) {
	select {
	case <-p.done: // read again after the end (or timed out): nothing changes
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.err != nil {
			return 0, ErrFillAborted
		}
		return 0, io.EOF
	default:
	}
	n, err := p.src.Read(b)
	p.hasher.Write(b[:n])
	p.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		if p.size >= 0 && p.n != p.size {
			p.end(fmt.Errorf("origin sent %d of %d bytes", p.n, p.size))
			return n, ErrFillAborted
		}
		p.end(nil)
		return n, io.EOF
	case err != nil:
		p.end(err)
		return n, ErrFillAborted
	}
	return n, nil
}

func (p *passBody) end(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return
	default:
	}
	p.err = err
	if err == nil {
		p.hasher.Sum(p.sum[:0])
	}
	close(p.done)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// passThrough waits for a fill that streams through to be read by its
// caller (or to time out) and reports whether the body came whole. A
// caller that never reads (HEAD, gone) keeps the origin connection, but no
// bytes, until the fill timeout.
func passThrough(ctx context.Context, p *passBody) bool {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.end(ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err == nil
}
