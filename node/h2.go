package node

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTP/2 on the TLS port. The TLS listener offers ALPN "h2" and
// "http/1.1"; alpnListener finishes each handshake and passes a connection
// that chose h2 to net/http's HTTP/2 server, the rest to fasthttp. Both end
// in the same edge.
//
// The connections stay the guard's (counted per client address, shed at
// the file descriptor limit), so what net/http gets is the guard's
// connection over TLS, not a *tls.Conn: its server speaks HTTP/2 on it as
// on a connection without TLS (http.Protocols UnencryptedHTTP2), which at
// that layer it is, the TLS having been done below. It is given
// connections only after ALPN chose h2, so HTTP/1.1 never reaches it.

// tlsHandshakeTimeout bounds a handshake on the public port.
const tlsHandshakeTimeout = 10 * time.Second

// alpnProtos are the protocols the TLS port offers, preferred first.
var alpnProtos = []string{"h2", "http/1.1"}

// setupNetHTTPFronts gives the HTTP/3 server the edge's net/http front
// and, with TLS, puts HTTP/2 on the public port (served by Run).
func (n *Node) setupNetHTTPFronts(cfg Config) {
	if n.h3 != nil {
		n.h3.Handler = n.netHTTPFront(protoH3)
	}
	if cfg.TLSCert == "" {
		return
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true) // over the TLS below; see above
	n.h2 = &http.Server{
		Handler:   n.netHTTPFront(protoH2),
		Protocols: &protos,
		// As for HTTP/1.1: a minute to send each request, a minute idle.
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       time.Minute,
		// Per-connection errors (a bad frame, a reset) at debug level.
		ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
	alpn := newALPNListener(n.pubLn)
	n.pubLn, n.h2Ln = alpn, alpn.h2View()
}

// alpnListener passes fasthttp (Accept) the TLS connections that did not
// choose h2, and the HTTP/2 server (h2View) the others.
type alpnListener struct {
	net.Listener

	start sync.Once
	h1    chan net.Conn
	h2    chan net.Conn
	done  chan struct{}
	err   error // why the inner listener stopped; read after done

	h2Closed chan struct{}
	h2Once   sync.Once
}

func newALPNListener(ln net.Listener) *alpnListener {
	return &alpnListener{Listener: ln, h1: make(chan net.Conn), h2: make(chan net.Conn),
		done: make(chan struct{}), h2Closed: make(chan struct{})}
}

func (l *alpnListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.h1:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

func (l *alpnListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			l.err = err
			close(l.done)
			return
		}
		go l.route(c)
	}
}

// route finishes c's handshake (a slow one holds up no other) and passes
// it to its protocol's server.
func (l *alpnListener) route(c net.Conn) {
	to := l.h1
	if tc, ok := c.(interface {
		Handshake() error
		ConnectionState() tls.ConnectionState
	}); ok {
		_ = c.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
		if err := tc.Handshake(); err != nil {
			_ = c.Close()
			return
		}
		_ = c.SetDeadline(time.Time{})
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			h2Conn(c)
			// Only net.Conn's methods: net/http takes a connection with
			// ConnectionState for TLS and would not speak HTTP/2 on it.
			c, to = struct{ net.Conn }{c}, l.h2
		}
	}
	select {
	case to <- c:
	case <-l.done:
		_ = c.Close()
	case <-l.h2Closed:
		_ = c.Close()
	}
}

// h2View is the listener the HTTP/2 server serves. Closing it (the
// server's Shutdown does) leaves the public port to fasthttp.
func (l *alpnListener) h2View() net.Listener { return (*h2Listener)(l) }

type h2Listener alpnListener

func (l *h2Listener) Accept() (net.Conn, error) {
	a := (*alpnListener)(l)
	a.start.Do(func() { go a.acceptLoop() })
	select {
	case c := <-l.h2:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.h2Closed:
		return nil, net.ErrClosed
	}
}

func (l *h2Listener) Close() error {
	l.h2Once.Do(func() { close(l.h2Closed) })
	return nil
}

func (l *h2Listener) Addr() net.Addr { return l.Listener.Addr() }

// h2Conn tells the guard that c carries HTTP/2: binary frames, where its
// HTTP/1.1 line checks do not apply, and streams it cannot see, so it
// never sheds c as idle.
func h2Conn(c net.Conn) {
	stopLineChecks(c)
	if gc, ok := c.(*guardTLSConn); ok {
		gc.idle.Store(0)
	}
}
