package signal

import (
	"errors"
	"net"
	"os"
	"time"
)

// idleConn is the connection under a WebSocket session. It enforces the
// session's read deadline (the join timeout, or a ping period plus the
// pong timeout after the last message or pong) exactly, while moving the
// connection's own deadline rarely.
//
// Moving a socket's deadline re-arms a runtime timer under a lock; done
// after every message, it was about a tenth of what a telemetry report
// cost the node. So the session's deadline (want) is only recorded after
// a message, and the socket's (armed) is moved when want runs ahead of it
// by half the idle timeout or more, or when want moves earlier (a leave
// brings the join timeout back). armed is never later than want. When
// armed passes and want is still ahead, Read moves armed to want and
// reads on: the WebSocket library above never sees that timeout. A client
// that answers pings moves want by a ping period per pong, so with the
// default periods (pings every 20 s, pong timeout 10 s) each pong moves
// armed and the early timeout does not happen; reports between pongs move
// nothing.
//
// want and armed are used by the session's reader goroutine only: Read,
// the pong handler and readLoop all run on it.
type idleConn struct {
	net.Conn
	done  <-chan struct{} // the session's; nil: no session, nothing to extend
	slack int64           // how far want may run ahead of armed, ns
	want  int64           // the session's read deadline, Unix ns; 0: none to extend to
	armed int64           // the deadline set on Conn, Unix ns; 0: none
}

// serve starts enforcing the deadlines of the session whose done channel
// is done, idle being its idle timeout.
func (c *idleConn) serve(done <-chan struct{}, idle time.Duration) {
	c.done, c.slack = done, int64(idle/2)
}

// extend makes t the session's read deadline.
func (c *idleConn) extend(t time.Time) error {
	w := t.UnixNano()
	c.want = w
	if c.armed != 0 && w >= c.armed && w-c.armed < c.slack {
		return nil
	}
	c.armed = w
	return c.Conn.SetReadDeadline(t)
}

// SetReadDeadline sets a deadline that is not the session's (the close
// grace after a fatal error): exactly t, never extended.
func (c *idleConn) SetReadDeadline(t time.Time) error {
	c.want = 0
	c.armed = 0
	if !t.IsZero() {
		c.armed = t.UnixNano()
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline is SetReadDeadline and the write deadline.
func (c *idleConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *idleConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if err == nil || n > 0 || c.want <= c.armed || !isTimeout(err) || c.ended() {
			return n, err
		}
		// The socket's deadline passed before the session's.
		if c.want <= time.Now().UnixNano() {
			return n, err
		}
		c.armed = c.want
		if c.Conn.SetReadDeadline(time.Unix(0, c.want)) != nil {
			return n, err
		}
	}
}

func (c *idleConn) ended() bool {
	if c.done == nil {
		return true
	}
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
