package node

import (
	"net"
	"sync/atomic"
	"time"
)

// deadlineSlack is how much later than asked a public connection's
// deadline may fire.
//
// fasthttp moves a connection's read deadline twice and its write deadline
// once per request. Each move re-arms a runtime timer, which on a
// keep-alive connection asking for a playlist every millisecond is a
// measurable share of the node's CPU. A deadline that fires up to a second
// late changes nothing a viewer or an operator can see (the timeouts are
// tens of seconds), so the connection sets its deadlines a little later
// than asked and skips the moves that stay inside that margin. It never
// fires early, and one that is already due (the idiom that interrupts a
// blocked read) fires at once or within that margin.
const deadlineSlack = time.Second

// lazyDeadlineListener hands out connections whose deadlines move lazily.
type lazyDeadlineListener struct{ net.Listener }

func (l lazyDeadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lazyDeadlineConn{Conn: directIO(c)}, nil
}

// lazyDeadlineConn keeps the deadlines in force (Unix nanoseconds, 0 for
// none) and moves the real ones only when it must. Read and write
// deadlines are separate words: a hijacked connection's reader and writer
// set them from different goroutines.
type lazyDeadlineConn struct {
	net.Conn
	rd, wd atomic.Int64
}

// Unwrap returns the connection c wraps (for the signaling hub's detach).
func (c *lazyDeadlineConn) Unwrap() net.Conn { return c.Conn }

func (c *lazyDeadlineConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *lazyDeadlineConn) SetReadDeadline(t time.Time) error {
	return setLazy(&c.rd, t, c.Conn.SetReadDeadline)
}

func (c *lazyDeadlineConn) SetWriteDeadline(t time.Time) error {
	return setLazy(&c.wd, t, c.Conn.SetWriteDeadline)
}

func setLazy(cur *atomic.Int64, t time.Time, apply func(time.Time) error) error {
	if t.IsZero() {
		if cur.Swap(0) == 0 {
			return nil
		}
		return apply(t)
	}
	// Skip the move when the deadline in force fires at most deadlineSlack
	// after t. That holds for a t already due too: the one in force then
	// fires within deadlineSlack of now.
	want := t.UnixNano()
	if have := cur.Load(); have != 0 && want <= have && have-want <= int64(deadlineSlack) {
		return nil
	}
	if !t.After(time.Now()) {
		cur.Store(want) // due already: exactly as asked
		return apply(t)
	}
	t = t.Add(deadlineSlack)
	cur.Store(t.UnixNano())
	return apply(t)
}
