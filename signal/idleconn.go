package signal

import (
	"sync"
	"sync/atomic"
	"time"
)

// idleTimer enforces a WebSocket session's read deadline (the join
// timeout, or a ping period plus the pong timeout after the last message
// or pong) exactly, without moving the socket's deadline per message.
//
// Moving a socket's deadline re-arms a runtime timer under a lock; done
// after every message it was a tenth of what a telemetry report cost the
// node, and a wrapper under the WebSocket library that moved it lazily
// would add a frame to the stack of every idle peer (see serveConn). So
// after a message or pong the reader only records the session's deadline
// (want, an atomic store). A timer of the session's own fires at armed,
// never later than want: if want is still ahead it re-arms for want, else
// it cuts the connection by moving its read deadline to the past, and the
// read fails with a timeout as it did when the socket's deadline was the
// session's. A deadline that moves earlier (a leave brings the join
// timeout back) re-arms the timer at once, and so does one that runs half
// the idle timeout or more ahead of armed: a client that answers pings
// moves it by a ping period per pong (20 s of 30 by default), so its timer
// is re-armed once per pong, as the socket's deadline was, and never fires,
// while the reports between pongs move nothing.
type idleTimer struct {
	want  atomic.Int64 // the session's read deadline, Unix ns
	armed atomic.Int64 // when t fires, Unix ns; written under mu
	slack int64        // how far want may run ahead of armed, ns

	mu      sync.Mutex
	t       *time.Timer
	cut     func() // makes the blocked read fail with a timeout
	stopped bool
}

// start arms the timer for at; cut is called when the session's deadline
// passed; idle is the session's idle timeout.
func (d *idleTimer) start(at time.Time, idle time.Duration, cut func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.want.Store(at.UnixNano())
	d.armed.Store(at.UnixNano())
	d.slack, d.cut = int64(idle/2), cut
	d.t = time.AfterFunc(time.Until(at), d.fire)
}

// set makes t the session's read deadline.
func (d *idleTimer) set(t time.Time) {
	w := t.UnixNano()
	if old := d.want.Swap(w); w >= old && w-d.armed.Load() < d.slack {
		return // the timer moves on if it fires first
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a := d.armed.Load(); !d.stopped && d.t != nil && (w < a || w-a >= d.slack) {
		d.armed.Store(w)
		d.t.Reset(time.Until(t))
	}
}

func (d *idleTimer) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	now := time.Now().UnixNano()
	if w := d.want.Load(); w > now {
		d.armed.Store(w)
		d.t.Reset(time.Duration(w - now))
		return
	}
	d.stopped = true
	d.cut()
}

// stop ends the timer: the session is over.
func (d *idleTimer) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.t != nil {
		d.t.Stop()
	}
}
