package node

import (
	"net"
)

// Detach hands a hijacked public connection's socket over to its new
// owner, the signaling hub, which serves a WebSocket on it from then on
// (signal's detach). It returns a connection on a duplicate of the socket,
// counted by the guard in place of c (max_conns_per_ip, the descriptor
// cap), and closes c's descriptor without counting it closed; nil, with c
// left as it was, when c is not a plain TCP socket (TLS, for one).
//
// Served within fasthttp's hijack handler instead, each WebSocket kept
// the server's read buffer and request context, and a goroutine with a
// deep stack, for its whole life, and read every message through a second
// buffer: 10000 idle viewers held 159 MB of heap, against 49 MB detached
// (BenchmarkTelemetry).
func (c *guardConn) Detach() net.Conn {
	ld, ok := c.Conn.(*lazyDeadlineConn)
	if !ok {
		return nil
	}
	var tc *net.TCPConn
	switch x := ld.Conn.(type) {
	case *directConn:
		tc, _ = x.Conn.(*net.TCPConn)
	case *net.TCPConn:
		tc = x
	}
	if tc == nil {
		return nil
	}
	f, err := tc.File()
	if err != nil {
		return nil
	}
	dup, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return nil
	}
	d := &guardConn{Conn: &lazyDeadlineConn{Conn: directIO(dup)}, g: c.g, ip: c.ip}
	d.hijacked.Store(true)
	g := c.g
	g.mu.Lock()
	delete(g.conns, c)
	g.conns[d] = struct{}{}
	g.mu.Unlock()
	c.closed.Do(func() {}) // d counts the connection now
	_ = c.Conn.Close()
	return d
}

// Detach of a TLS connection: the TLS state is not in the socket, so it
// stays where it is.
func (c *guardTLSConn) Detach() net.Conn { return nil }
