package signal

import (
	"net"
	"os"
)

// detach returns a duplicate of the socket under c, a connection hijacked
// from fasthttp, and closes the original, so that fasthttp can release
// what it holds for c while the duplicate stays open. It returns nil when
// c is not a plain socket (TLS, a wrapped connection) or the platform
// cannot duplicate it; c is then left as it was.
//
// Wrappers the node puts around its public connections are looked
// through when they say what they wrap (Unwrap, as errors do). The
// outermost may account for the connection while it is open (the node's
// per-address and descriptor guard): with Handoff it takes the duplicate
// and returns the connection to serve from then on, which carries that
// accounting until it is closed; closing the wrapper then closes only its
// own descriptor.
func detach(c net.Conn) net.Conn {
	u, ok := c.(interface{ UnsafeConn() net.Conn })
	if !ok {
		return nil
	}
	raw := u.UnsafeConn()
	under := raw
	var sock interface{ File() (*os.File, error) }
	for sock == nil {
		if s, ok := under.(interface{ File() (*os.File, error) }); ok {
			sock = s
			break
		}
		w, ok := under.(interface{ Unwrap() net.Conn })
		if !ok {
			return nil
		}
		under = w.Unwrap()
	}
	h, accounts := raw.(interface{ Handoff(net.Conn) net.Conn })
	if !accounts && under != raw {
		// A wrapper that does not hand over: closing it would end
		// whatever it keeps, leave it in place.
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
	if accounts {
		d = h.Handoff(d)
	}
	// Closing one descriptor leaves the socket open through the other.
	// fasthttp closes raw again unless it keeps hijacked connections.
	_ = raw.Close()
	return d
}
