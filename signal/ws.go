package signal

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/wire"
)

// readBufferSize is the per-connection read buffer. Messages larger than
// it are read straight into a pooled message buffer.
const readBufferSize = 512

// closeGrace is how long the server waits for the client's close frame
// after sending its own, so that the client reads the final error before
// the TCP connection goes.
const closeGrace = time.Second

// msgBufs hold one message while it is decoded: MaxMessageSize+1 bytes,
// so that one byte more than the limit shows an oversized message.
var msgBufs = sync.Pool{New: func() any { b := make([]byte, wire.MaxMessageSize+1); return &b }}

// upgraders returns the handshake checker that answers bad requests over
// fasthttp, and the upgrader that completes good ones on the connection
// taken over from fasthttp (see ServeWS).
func upgraders(writeTimeout time.Duration) (websocket.FastHTTPUpgrader, websocket.Upgrader) {
	check := websocket.FastHTTPUpgrader{
		// Viewers connect from the player's page, another origin: joins
		// are authorized by tickets, not by the Origin header, and the
		// tracker uses no cookies.
		CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
	}
	up := websocket.Upgrader{
		HandshakeTimeout: writeTimeout,
		// Buffers are per connection for its whole life: keep the read
		// buffer small and share write buffers through a pool, so that
		// an idle peer holds no big buffer.
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: wire.MaxMessageSize + 64,
		WriteBufferPool: &sync.Pool{},
		// Checked by check, on the real request.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return check, up
}

// ServeWS is the handler of the signaling WebSocket (wire.SignalPath).
// The node routes the path to it; the hub opens no listener.
//
// A hijacked fasthttp connection keeps, until its hijack handler
// returns, the server's read buffer (ReadBufferSize), its request
// context and a deep goroutine stack: several KiB per idle peer. So the
// handler answers no response itself; where the connection is a plain
// socket it hands a duplicate of it to a goroutine of the hub, which
// completes the handshake and serves the connection, and returns at
// once, releasing all of that. Elsewhere (TLS, wrapped connections) the
// connection is served within the hijack handler.
func (h *Hub) ServeWS(ctx *fasthttp.RequestCtx) {
	h.mu.Lock()
	closing := h.closing
	h.mu.Unlock()
	if closing {
		ctx.Error("signaling is shutting down", fasthttp.StatusServiceUnavailable)
		return
	}
	// On failure Upgrade has written the error response; on success it
	// has prepared a response that is not sent: the handshake is
	// completed by serveHijacked.
	if h.check.Upgrade(ctx, nil) != nil {
		return
	}
	key := string(ctx.Request.Header.Peek("Sec-WebSocket-Key"))
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		ctx.Hijack(nil)
		ctx.Response.Reset()
		ctx.Error("websocket: Sec-WebSocket-Key must be the base64 encoding of 16 bytes", fasthttp.StatusBadRequest)
		return
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) { h.serveHijacked(c, key) })
}

// serveHijacked completes the handshake on c and serves it, on a
// goroutine of its own if c can be detached from fasthttp.
func (h *Hub) serveHijacked(c net.Conn, key string) {
	// A client sends nothing before the handshake response. Anything
	// fasthttp read after the request would be lost by detaching; such a
	// client is dropped instead, whether detached or not.
	_ = c.SetReadDeadline(time.Unix(1, 0))
	var b [1]byte
	if n, _ := c.Read(b[:]); n > 0 {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if !h.enter() {
		// Closing: complete the handshake to say going away.
		if ws := h.upgrade(c, key); ws != nil {
			goingAway(ws)
		}
		return
	}
	if d := detach(c); d != nil {
		go h.serveConn(d, key, true)
		return
	}
	h.serveConn(c, key, false)
}

// upgrade completes a handshake that ServeWS checked, answering it on c,
// or closes c.
//
//go:noinline
func (h *Hub) upgrade(c net.Conn, key string) *websocket.Conn {
	r := &http.Request{Method: http.MethodGet, Header: http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {key},
	}}
	ws, err := h.up.Upgrade(&handshake{c: c}, r, nil)
	if err != nil {
		h.log.Debug("signal: handshake not completed", "err", err)
		_ = c.Close()
		return nil
	}
	return ws
}

// handshake is the http.ResponseWriter through which the upgrader takes
// the connection: it only hijacks.
type handshake struct {
	c      net.Conn
	header http.Header
}

func (w *handshake) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

// Write and WriteHeader receive error responses, which cannot happen to
// a handshake ServeWS checked: they are dropped with the connection.
func (w *handshake) Write(b []byte) (int, error) { return len(b), nil }
func (w *handshake) WriteHeader(int)             {}

func (w *handshake) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.c, bufio.NewReadWriter(bufio.NewReaderSize(w.c, 16), bufio.NewWriterSize(w.c, 16)), nil
}

// goingAway closes a connection the hub does not serve.
func goingAway(c *websocket.Conn) {
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, string(wire.CodeGoingAway)), time.Now().Add(time.Second))
	_ = c.NetConn().Close()
}

// serveConn completes the handshake on c and runs the WebSocket
// connection on this goroutine, which reads it; a writer goroutine runs
// while there is something to send. It returns when both are done,
// leaving the hub's wait group, which the caller entered.
//
// The frames of serveConn, readLoop and what they call to read are on
// the stack of every connected peer while it waits for a message: they
// are kept small, the work being done in functions called from them, so
// that the stack of an idle peer fits in 4 KiB (the runtime halves a
// stack whose use, plus a reserve, is under a quarter of it).
func (h *Hub) serveConn(nc net.Conn, key string, detached bool) {
	if c := h.upgrade(nc, key); c != nil {
		if s, it := h.open(c, detached); s != nil {
			if h.poll(s) {
				return // the poller leaves the wait group
			}
			h.readLoop(s, c, it)
			it.stop()
			h.linger(s, c)
		}
	}
	h.wg.Done()
}

// open registers a session for c and starts its pings and its read
// deadline; it returns nil, closing c, if the hub is closing. With
// poll, the session is prepared for a poller to read c (see poll).
//
//go:noinline
func (h *Hub) open(c *websocket.Conn, poll bool) (*session, *idleTimer) {
	s := h.newSession(false, h.cfg.SendQueue, c)
	if ta, ok := c.NetConn().RemoteAddr().(*net.TCPAddr); ok {
		s.addr = ta.AddrPort().Addr().Unmap()
	}
	it := &idleTimer{}
	// Only a detached connection may be left to a poller: the hijack
	// handler's connection is closed by fasthttp when serveConn returns.
	if ps := h.pollers(); poll && ps != nil {
		s.pc = ps.prepare(s, it)
	}
	if !h.register(s) {
		goingAway(c)
		return nil, nil
	}
	s.box.startPings(h.cfg.PingInterval, func() { go h.writeLoop(s) })
	nc := c.NetConn()
	cut := func() { _ = nc.SetReadDeadline(time.Unix(1, 0)) }
	if pc := s.pc; pc != nil {
		cut = pc.idleCut
	}
	it.start(h.deadline(s), h.cfg.PingInterval+h.cfg.PongTimeout, cut)
	c.SetPongHandler(func(string) error {
		if !s.isEnded() {
			it.set(h.deadline(s))
		}
		return nil
	})
	return s, it
}

// poll hands s's connection to its poller, if prepared for one (see
// open), and reports whether it did. A connection that cannot be added to
// the poller's set is cut.
//
//go:noinline
func (h *Hub) poll(s *session) bool {
	switch {
	case s.pc == nil:
		return false
	case s.pc.register():
		return true
	}
	h.end(s, reasonError, nil)
	return false
}

// deadline is when the connection times out if nothing arrives: the
// join timeout while CONNECTED, else a ping period plus the pong timeout.
func (h *Hub) deadline(s *session) time.Time {
	d := time.Now().Add(h.cfg.PingInterval + h.cfg.PongTimeout)
	if !s.joinBy.IsZero() && s.joinBy.Before(d) {
		return s.joinBy
	}
	return d
}

// readLoop reads messages until the session ends. Each message and pong
// gives the session a new read deadline, which it enforces (see
// idleTimer).
func (h *Hub) readLoop(s *session, c *websocket.Conn, it *idleTimer) {
	for !s.isEnded() {
		h.setReadDeadline(s, it)
		mt, r, err := c.NextReader()
		if err != nil {
			h.readFailed(s, err)
			return
		}
		h.readMessage(s, mt, r)
	}
}

//go:noinline
func (h *Hub) setReadDeadline(s *session, it *idleTimer) {
	it.set(h.deadline(s))
}

//go:noinline
func (h *Hub) readFailed(s *session, err error) {
	h.end(s, h.readErrReason(s, err), nil)
}

// readMessage reads the message r and handles it.
func (h *Hub) readMessage(s *session, mt int, r io.Reader) {
	bp := msgBufs.Get().(*[]byte)
	defer msgBufs.Put(bp)
	n, err := io.ReadFull(r, *bp)
	switch {
	case err == nil:
		s.input(nil, wire.Errorf(wire.CodeTooLarge, "message exceeds %d bytes", wire.MaxMessageSize))
		return
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The whole message, n bytes.
	default:
		h.end(s, h.readErrReason(s, err), nil)
		return
	}
	if mt != websocket.TextMessage {
		s.input(nil, wire.Errorf(wire.CodeBadRequest, "signaling messages are WebSocket text messages"))
		return
	}
	if s.last == nil {
		s.last = new(wire.Stats)
	}
	m, err := wire.DecodeFromClientInto((*bp)[:n], s.last)
	s.input(m, err)
}

// linger runs once the session ended, and closes the connection when
// the writer is done. After a fatal error the writer sends it and a
// close frame; linger waits a little for the client's close frame,
// discarding anything else, so that the client can read the error
// before the TCP connection is closed.
func (h *Hub) linger(s *session, c *websocket.Conn) {
	s.box.wait()
	if s.final != nil {
		_ = c.SetReadDeadline(time.Now().Add(closeGrace))
		for {
			if _, _, err := c.NextReader(); err != nil {
				break
			}
		}
	}
	_ = c.NetConn().Close()
}

func (h *Hub) readErrReason(s *session, err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return h.timeoutReason(s)
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return reasonClosed
	}
	return reasonError
}

// timeoutReason is why a connection whose read deadline passed ends.
func (h *Hub) timeoutReason(s *session) string {
	if !s.joinBy.IsZero() && !time.Now().Before(s.joinBy) {
		return reasonJoinTimeout
	}
	return reasonPingTimeout
}

// writeLoop sends what the outbox holds, then returns; the outbox starts
// it again when something arrives. At most one runs per connection.
func (h *Hub) writeLoop(s *session) {
	c, b := s.ws, s.box
	for {
		m, ping, final := b.next()
		var err error
		switch {
		case ping:
			err = c.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteTimeout))
		case m != nil:
			err = h.write(c, m)
		case final:
			if h.write(c, s.final) == nil {
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeCode(s.final.Code), string(s.final.Code)), time.Now().Add(h.cfg.WriteTimeout))
			}
			b.exit()
			return
		default:
			return // next found nothing and marked the writer gone
		}
		if err != nil {
			h.end(s, reasonError, nil)
			b.exit()
			return
		}
	}
}

// closeCode is the WebSocket close code that goes with a fatal error.
func closeCode(c wire.Code) int {
	switch c {
	case wire.CodeTooLarge:
		return websocket.CloseMessageTooBig
	case wire.CodeGoingAway:
		return websocket.CloseGoingAway
	}
	return websocket.ClosePolicyViolation
}

// write sends one message, encoded once for all recipients if shared.
func (h *Hub) write(c *websocket.Conn, m wire.Message) error {
	var b []byte
	if sh, ok := m.(*shared); ok {
		b = sh.json
	} else {
		var err error
		if b, err = wire.Encode(m); err != nil {
			// Every message the hub builds is valid; this is a bug.
			h.log.Error("signal: message not sent", "type", m.Type(), "err", err)
			return nil
		}
	}
	_ = c.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	return c.WriteMessage(websocket.TextMessage, b)
}

// outbox is a WebSocket session's bounded send queue. No goroutine waits
// on it while it is empty: put reports when a writer must be started (the
// queue went from empty to non-empty with no writer running), and the
// writer returns once it drained the queue. The decision to start and to
// return are both taken under mu, so that a message is never left behind
// by a writer that is returning, and two writers never run at once.
type outbox struct {
	limit int // messages pending at most

	mu      sync.Mutex
	q       []wire.Message // pending: q[head:]; nil while empty
	head    int
	writing bool          // a writer runs
	ping    bool          // a ping is due
	closing bool          // send the final error after the queue
	stopped bool          // the session ended: queue nothing more
	pinger  *time.Timer   // nil until startPings
	idle    chan struct{} // closed when the writer returns, if awaited
}

// put queues m. It reports false when the queue is full, and whether the
// caller must start a writer.
func (b *outbox) put(m wire.Message) (ok, start bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return true, false
	}
	if len(b.q)-b.head >= b.limit {
		return false, false
	}
	if b.head > 0 && len(b.q) == cap(b.q) {
		n := copy(b.q, b.q[b.head:])
		clear(b.q[n:])
		b.q, b.head = b.q[:n], 0
	}
	b.q = append(b.q, m)
	return true, b.wake()
}

// wake marks a writer running; it reports whether one must be started.
// The caller holds mu.
func (b *outbox) wake() bool {
	if b.writing {
		return false
	}
	b.writing = true
	return true
}

// startPings has a ping sent every interval; start launches a writer
// when one must be started.
func (b *outbox) startPings(interval time.Duration, start func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	b.pinger = time.AfterFunc(interval, func() {
		b.mu.Lock()
		if b.stopped {
			b.mu.Unlock()
			return
		}
		b.ping = true
		b.pinger.Reset(interval)
		run := b.wake()
		b.mu.Unlock()
		if run {
			start()
		}
	})
}

// next returns the writer's next task: a ping, a message, or the final
// error once the queue is empty. With none of them the writer is marked
// gone and must return.
func (b *outbox) next() (m wire.Message, ping, final bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.ping && !b.stopped:
		b.ping = false
		return nil, true, false
	case b.head < len(b.q) && (!b.stopped || b.closing):
		m = b.q[b.head]
		b.q[b.head] = nil
		b.head++
		return m, false, false
	}
	// Drained (or dropped: the session was cut). Hold no memory while
	// idle.
	b.q, b.head = nil, 0
	if b.closing {
		b.closing = false
		return nil, false, true
	}
	b.exitLocked()
	return nil, false, false
}

// exit marks the writer gone after it stopped for good (an error, or the
// final error sent).
func (b *outbox) exit() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q, b.head = nil, 0
	b.exitLocked()
}

func (b *outbox) exitLocked() {
	b.writing = false
	if b.idle != nil {
		close(b.idle)
		b.idle = nil
	}
}

// stop ends the outbox: nothing more is queued and no more pings are
// sent. With final, what is queued is still sent, then the final error;
// stop reports whether the caller must start a writer for that.
func (b *outbox) stop(final bool) (start bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	if b.pinger != nil {
		b.pinger.Stop()
	}
	if !final {
		return false
	}
	b.closing = true
	return b.wake()
}

// wait returns once no writer runs. The session must have ended, so that
// none starts again except for the final error, which stop starts before
// the session's done channel is closed.
func (b *outbox) wait() {
	b.mu.Lock()
	if !b.writing {
		b.mu.Unlock()
		return
	}
	if b.idle == nil {
		b.idle = make(chan struct{})
	}
	ch := b.idle
	b.mu.Unlock()
	<-ch
}
