package node

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// guardListener is the outermost public listener. It keeps the node
// serving when file descriptors run short, and keeps one client address
// from holding more than its share of them:
//
//   - An accept that fails for a temporary reason (EMFILE, ENFILE,
//     ENOBUFS, ECONNABORTED, ENOMEM) sheds idle connections and is retried
//     after a back-off (5 ms doubling to 1 s), with a rate-limited log,
//     instead of being returned: fasthttp's Serve returns on any accept
//     error it does not know, which would end the node.
//   - A connection from an address (an IPv6 /64) that already holds
//     maxPerIP is closed at once (edgeswarm_connections_refused_total{reason="per_ip"}).
//   - With fdCap public connections open (the file descriptor limit less a
//     reserve for the admin port, origin fetches and the super-peer), a
//     new connection first sheds the idle keep-alive connections that have
//     waited longest; with none idle it is closed (reason "fd_limit").
type guardListener struct {
	net.Listener
	maxPerIP int
	fdCap    int // 0: no cap
	m        *metrics
	logf     func(msg string, args ...any) // rate-limited
	done     chan struct{}
	stop     sync.Once

	// epoch counts accepted connections. A connection going idle takes
	// the current epoch as its stamp: the smaller, the longer it has
	// waited. Requests only read it, so it is no shared counter that
	// every request on every core would write.
	epoch atomic.Int64

	mu    sync.Mutex
	byIP  map[netip.Addr]int
	conns map[*guardConn]struct{}
}

// fdReserve is how many file descriptors the public listener leaves to
// everything else, out of a limit of max.
func fdReserve(limit int) int { return min(max(32, limit/8), limit/2) }

func newGuardListener(ln net.Listener, maxPerIP, fdLimit int, m *metrics, logf func(string, ...any)) *guardListener {
	g := &guardListener{Listener: ln, maxPerIP: maxPerIP, m: m, logf: logf, done: make(chan struct{}),
		byIP: map[netip.Addr]int{}, conns: map[*guardConn]struct{}{}}
	if fdLimit > 0 {
		g.fdCap = fdLimit - fdReserve(fdLimit)
	}
	return g
}

// temporaryAccept reports whether an accept error passes once descriptors
// or buffers free up, or concerns only the one connection.
func temporaryAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ECONNABORTED, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (g *guardListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			if !temporaryAccept(err) {
				return nil, err
			}
			g.m.acceptRetries.Inc()
			g.shed()
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			g.logf("public accept failed; retrying", "err", err, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-g.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		delay = 0
		if gc := g.admit(c); gc != nil {
			return gc, nil
		}
	}
}

func (g *guardListener) Close() error {
	g.stop.Do(func() { close(g.done) })
	return g.Listener.Close()
}

// admit wraps c, or closes it and returns nil when it may not stay.
func (g *guardListener) admit(c net.Conn) net.Conn {
	ip := clientKey(c.RemoteAddr())
	g.mu.Lock()
	if g.maxPerIP > 0 && g.byIP[ip] >= g.maxPerIP {
		g.mu.Unlock()
		_ = c.Close()
		g.m.refusedPerIP.Inc()
		g.logf("public connection refused: max_conns_per_ip reached", "ip", ip.String(), "max_conns_per_ip", g.maxPerIP)
		return nil
	}
	full := g.fdCap > 0 && len(g.conns) >= g.fdCap
	g.mu.Unlock()
	if full && g.shed() == 0 {
		_ = c.Close()
		g.m.refusedFDs.Inc()
		g.logf("public connection refused: near the file descriptor limit and no idle connection to shed", "open", g.fdCap)
		return nil
	}
	gc := &guardConn{Conn: c, g: g, ip: ip}
	gc.idle.Store(g.epoch.Add(1)) // silent until its first request
	g.mu.Lock()
	g.byIP[ip]++
	g.conns[gc] = struct{}{}
	g.mu.Unlock()
	if tc, ok := c.(*tls.Conn); ok {
		return &guardTLSConn{guardConn: gc, tls: tc}
	}
	return gc
}

// clientKey is what max_conns_per_ip counts by: the IPv4 address, or the
// /64 of an IPv6 one (one subscriber's network gets a whole /64 to pick
// addresses from).
func clientKey(a net.Addr) netip.Addr {
	var ip netip.Addr
	if ta, ok := a.(*net.TCPAddr); ok {
		ip = ta.AddrPort().Addr().Unmap()
	} else if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		ip = ap.Addr().Unmap()
	}
	if ip.Is6() {
		ip = netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	return ip
}

// shed closes the idle connections that have waited longest, a sixteenth
// of those open (at least one), and returns how many it closed.
func (g *guardListener) shed() int {
	type cand struct {
		c     *guardConn
		stamp int64
	}
	g.mu.Lock()
	idle := make([]cand, 0, len(g.conns))
	for c := range g.conns {
		if s := c.idle.Load(); s > 0 {
			idle = append(idle, cand{c, s})
		}
	}
	want := max(1, len(g.conns)/16)
	g.mu.Unlock()
	slices.SortFunc(idle, func(a, b cand) int { return cmp.Compare(a.stamp, b.stamp) })
	closed := 0
	for _, x := range idle[:min(want, len(idle))] {
		// Only a connection still idle is closed: one whose request
		// arrived since the scan has stopped waiting.
		if x.c.idle.CompareAndSwap(x.stamp, 0) {
			_ = x.c.SetDeadline(time.Now())
			_ = x.c.Close()
			closed++
		}
	}
	g.m.shed.Add(float64(closed))
	return closed
}

// connState is the public server's ConnState hook: it marks connections
// idle (new and silent, or kept alive between requests) or busy.
func (g *guardListener) connState(c net.Conn, st fasthttp.ConnState) {
	var gc *guardConn
	switch c := c.(type) {
	case *guardConn:
		gc = c
	case *guardTLSConn:
		gc = c.guardConn
	default:
		return
	}
	switch st {
	case fasthttp.StateIdle:
		gc.idle.Store(g.epoch.Load())
	case fasthttp.StateActive:
		gc.idle.Store(0)
	case fasthttp.StateHijacked:
		gc.idle.Store(0)
		gc.hijacked.Store(true) // WebSocket frames may hold any byte
	}
}

// stopLineChecks ends the bare-LF checks of a public connection that is
// about to carry something other than HTTP/1.1.
func stopLineChecks(c net.Conn) {
	switch c := c.(type) {
	case *guardConn:
		c.hijacked.Store(true)
	case *guardTLSConn:
		c.hijacked.Store(true)
	}
}

// guardConn is a public connection the guard counts until it is closed.
type guardConn struct {
	net.Conn
	g      *guardListener
	ip     netip.Addr
	idle   atomic.Int64 // >0: idle since this epoch; 0: busy
	closed sync.Once

	hijacked atomic.Bool // no longer HTTP: stop looking for bare LFs
	prevCR   bool        // the last byte read was CR (read goroutine only)
}

// bareLFBody is the answer to a connection whose request ends a line with
// LF alone. fasthttp would wait for a CRLF CRLF that never comes, for the
// whole read timeout, or with CRLF at the end accept a request other
// parsers on the path read differently (request smuggling). RFC 9112
// section 2.2 lets a server reject it.
const bareLFBody = "malformed request: lines must end CRLF\n"

// Read passes the bytes read on, unless a line of the HTTP request ends
// with a bare LF: then it answers 400 itself and reports the end of the
// connection, which fasthttp closes. A request body is scanned too (the
// node takes none beyond a few bytes).
func (c *guardConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	if k > 0 && !c.hijacked.Load() {
		bad, cr := hasBareLF(p[:k], c.prevCR)
		c.prevCR = cr
		if bad {
			c.hijacked.Store(true)
			_, _ = io.WriteString(c.Conn, "HTTP/1.1 400 Bad Request\r\nServer: edgeswarm\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "+
				strconv.Itoa(len(bareLFBody))+"\r\n\r\n"+bareLFBody)
			c.g.m.observe(protoH1, 400, 0)
			return 0, io.EOF
		}
	}
	return k, err
}

// hasBareLF reports whether b holds an LF not preceded by CR (prevCR: the
// byte before b was CR), and whether b ends with CR.
func hasBareLF(b []byte, prevCR bool) (bad, endsCR bool) {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		if (i == 0 && !prevCR) || (i > 0 && b[i-1] != '\r') {
			return true, false
		}
		i++
	}
	if len(b) == 0 {
		return false, prevCR
	}
	return false, b[len(b)-1] == '\r'
}

// Unwrap returns the connection c wraps (for the signaling hub's detach).
func (c *guardConn) Unwrap() net.Conn { return c.Conn }

// Handoff gives c's place in the guard to d, a duplicate of c's socket
// that the signaling hub serves a WebSocket on from then on (so that
// fasthttp can release what it holds for c): d counts against the
// address's max_conns_per_ip and the descriptor cap until it is closed,
// never idle, and closing c then only closes c's descriptor. A c already
// closed hands over nothing.
func (c *guardConn) Handoff(d net.Conn) net.Conn {
	n := &guardConn{Conn: d, g: c.g, ip: c.ip}
	n.hijacked.Store(true)
	handed := false
	c.closed.Do(func() {
		handed = true
		g := c.g
		g.mu.Lock()
		delete(g.conns, c)
		g.conns[n] = struct{}{}
		g.mu.Unlock()
	})
	if !handed {
		return d
	}
	return &handedConn{Conn: d, gc: n}
}

// handedConn is a connection handed over by Handoff. Only Close goes
// through the guard: reads and writes are the socket's own, without a
// frame of the guard's on the stack of every idle viewer's reader (which
// decides whether that stack fits in 4 KiB).
type handedConn struct {
	net.Conn
	gc *guardConn
}

func (c *handedConn) Close() error { return c.gc.Close() }

// Unwrap returns the socket (for the signaling hub's pollers, which read
// it directly).
func (c *handedConn) Unwrap() net.Conn { return c.Conn }

func (c *guardConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() {
		c.idle.Store(0)
		g := c.g
		g.mu.Lock()
		if g.byIP[c.ip]--; g.byIP[c.ip] <= 0 {
			delete(g.byIP, c.ip)
		}
		delete(g.conns, c)
		g.mu.Unlock()
	})
	return err
}

// guardTLSConn keeps what fasthttp asks of a TLS connection.
type guardTLSConn struct {
	*guardConn
	tls *tls.Conn
}

func (c *guardTLSConn) Handshake() error                     { return c.tls.Handshake() }
func (c *guardTLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }
