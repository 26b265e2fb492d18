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
// in flight hold: a fill that keeps its object allocates the body as it
// arrives, and those bytes are as real as stored ones. Stored objects in
// ristretto can be evicted to make room for a fill; live-store objects and
// other fills cannot. A fill whose declared size does not fit beside them
// streams through instead: its one viewer reads straight from the origin
// body and nothing is kept (no shared flight, no stored object, nothing
// buffered beyond the viewer's own read). Requests that had joined it
// before its size was known start fills of their own, so each viewer still
// gets the whole response. A fill of unknown size is charged as it grows
// and is not stored when it ends over the budget.

// budget is the accounting of bytes reserved by fills in flight. Its
// fields are guarded by Cache.mu.
type budget struct {
	// fills is the bytes reserved by storing fills in flight.
	fills int64
	// uncached counts fills that streamed through without being kept.
	uncached uint64
}

// reserveFillLocked reserves n bytes for a storing fill, evicting ristretto
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
func (c *Cache) releaseFillLocked(n int64) {
	c.budget.fills -= n
	budget := c.cfg.Size - c.liveBytes - c.budget.fills
	c.ristMaxCost(max(budget-budget/8, 1))
}

// fillBytesLocked is what the bodies of fills in flight hold now, measured
// on the entries themselves (not the reservations).
func (c *Cache) fillBytesLocked() int64 {
	var n int64
	for _, f := range c.flights {
		if f.e != nil && f.e.filling() {
			n += f.e.held()
		}
	}
	return n
}

// passBody is the body of a fill that streams through: the origin's, read
// once by the one viewer the fill is for.
type passBody struct {
	src  io.Reader
	size int64 // declared

	mu     sync.Mutex
	taken  bool
	n      int64
	hasher hash.Hash
	err    error
	done   chan struct{} // closed when reading has ended
	sum    [sha256.Size]byte
}

var errPassTaken = errors.New("cache: streamed-through body already read")

// reader hands out the body once: a second reader fails at once.
func (p *passBody) reader() io.Reader {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken {
		return errReader{errPassTaken}
	}
	p.taken = true
	return p
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

// passThrough runs a fill that is not kept: it holds the origin body open
// until its viewer has read it (or the fill times out), then reports the
// fill to observers like any other, so the segment is still hashed and
// shared in its swarm. A viewer that never reads (HEAD, gone) keeps the
// origin connection, but no bytes, until the fill timeout.
func (c *Cache) passThrough(ctx context.Context, e *Entry, req *Request) {
	p := e.pass
	select {
	case <-p.done:
	case <-ctx.Done():
		p.end(ctx.Err())
		return
	}
	if p.err == nil && c.onFil != nil && e.status == 200 {
		c.onFil(FillInfo{Key: e.key, Kind: e.kind, Status: e.status, Size: int(p.n), SHA256: p.sum, Header: req.Header})
	}
}
