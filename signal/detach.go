package signal

import (
	"net"
	"os"
)

// detach returns a duplicate of the socket under c, a connection hijacked
// from fasthttp, and closes the original, so that fasthttp can release
// what it holds for c while the duplicate stays open. It returns nil when
// c is not a plain socket (TLS, a wrapped connection) or the platform
// cannot duplicate it; c is then left as it was. A wrapped connection
// with a Detach method does all of that itself.
func detach(c net.Conn) net.Conn {
	u, ok := c.(interface{ UnsafeConn() net.Conn })
	if !ok {
		return nil
	}
	raw := u.UnsafeConn()
	if d, ok := raw.(interface{ Detach() net.Conn }); ok {
		// A connection that hands its socket over itself (the node's,
		// which counts its connections until they close).
		return d.Detach()
	}
	sock, ok := raw.(interface{ File() (*os.File, error) })
	if !ok {
		return nil
	}
	f, err := sock.File()
	if err != nil {
		return nil
	}
	d, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return nil
	}
	// Closing one descriptor leaves the socket open through the other.
	// fasthttp closes raw again unless it keeps hijacked connections.
	_ = raw.Close()
	return d
}
