package signal

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/edgeswarm/edgeswarm/wire"
)

// pollReadSize is what one read of a polled connection asks for: every
// client message fits, so that a message costs one read(2).
const pollReadSize = wire.MaxMessageSize + maxFrameHeader

// pollBatch is how many ready connections one epoll_wait returns at most.
const pollBatch = 128

// epollET is EPOLLET as the uint32 of an epoll event.
const epollET = 1 << 31

// pollers read the WebSocket connections of a hub on a few goroutines
// instead of one per connection (Config.Pollers). Each poller has an
// epoll set of its own with the sockets it reads, edge-triggered; the set
// itself waits in Go's netpoller, so that a poller parks like any
// goroutine reading a socket and no thread blocks in epoll_wait. When a
// message arrives the poller wakes, asks its set which sockets are ready
// (without waiting), reads each once (pollReadSize: a read that comes
// back short emptied the socket), and handles what it read in place. A
// report thus costs one read, where a goroutine of its own reads it and
// then finds the socket empty before it parks again; an idle viewer
// costs no goroutine, no stack and no buffer. Each socket stays in Go's
// netpoller too (its writes go through it), so every message still wakes
// the netpoller: the thread wake-up per report, the larger part of its
// cost on a quiet host, remains (see the README's telemetry figures).
type pollers struct {
	h    *Hub
	ps   []*poller
	next atomic.Uint32
}

// poller is one goroutine reading an epoll set.
type poller struct {
	h       *Hub
	epfd    int
	f       *os.File // epfd, registered in Go's netpoller
	rc      syscall.RawConn
	done    chan struct{} // closed when run returned
	started bool

	mu    sync.Mutex
	slots []*pconn // by token; nil where free
	gens  []int32  // the generation of each slot, against stale events
	free  []int32

	// The poller goroutine's own.
	events []syscall.EpollEvent
	buf    []byte
}

// pconn is a connection a poller reads.
type pconn struct {
	p    *poller
	s    *session
	rc   syscall.RawConn
	it   *idleTimer
	slot int32

	// mu is held while the connection is read or taken off the poller.
	mu   sync.Mutex
	gone bool // off the poller; finish runs or ran
	fr   frameReader
	// timedOut: the idle timer cut the connection.
	timedOut atomic.Bool
	// pong holds the payload of the last ping not answered yet.
	pongMu  sync.Mutex
	pong    []byte
	ponging bool
}

func newPollers(h *Hub, n int) (*pollers, error) {
	ps := &pollers{h: h}
	for range n {
		p, err := newPoller(h)
		if err != nil {
			ps.close()
			return nil, err
		}
		ps.ps = append(ps.ps, p)
	}
	for _, p := range ps.ps {
		p.started = true
		go p.run()
	}
	return ps, nil
}

func newPoller(h *Hub) (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	// A non-blocking descriptor is added to Go's netpoller.
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &poller{h: h, epfd: fd, f: f, rc: rc, done: make(chan struct{}),
		events: make([]syscall.EpollEvent, pollBatch), buf: make([]byte, pollReadSize)}, nil
}

// close stops the pollers; their connections must be gone.
func (ps *pollers) close() {
	for _, p := range ps.ps {
		_ = p.f.Close()
	}
	for _, p := range ps.ps {
		if p.started {
			<-p.done
		}
	}
}

// rawConn returns the socket under c, looking through wrappers that say
// what they wrap.
func rawConn(c net.Conn) syscall.RawConn {
	for {
		if sc, ok := c.(syscall.Conn); ok {
			rc, err := sc.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		}
		w, ok := c.(interface{ Unwrap() net.Conn })
		if !ok {
			return nil
		}
		c = w.Unwrap()
	}
}

// prepare returns the pconn through which a poller is to read s's
// connection, or nil when the connection is no socket the pollers can
// read. It is read from register on.
func (ps *pollers) prepare(s *session, it *idleTimer) *pconn {
	rc := rawConn(s.ws.NetConn())
	if rc == nil {
		return nil
	}
	return &pconn{p: ps.ps[int(ps.next.Add(1))%len(ps.ps)], s: s, rc: rc, it: it}
}

// register adds pc to its poller's set. From then on the poller reads
// the connection and finishes it (Hub.finishPolled); false: it does not,
// the connection was closed.
func (pc *pconn) register() bool {
	p := pc.p
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		pc.slot, p.free = p.free[n-1], p.free[:n-1]
		p.slots[pc.slot] = pc
	} else {
		pc.slot = int32(len(p.slots))
		p.slots = append(p.slots, pc)
		p.gens = append(p.gens, 0)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET, Fd: pc.slot, Pad: p.gens[pc.slot]}
	p.mu.Unlock()
	var err error
	cerr := pc.rc.Control(func(fd uintptr) { err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev) })
	if cerr != nil || err != nil {
		p.release(pc)
		return false
	}
	return true
}

// release frees pc's slot; events still queued for it find nothing.
func (p *poller) release(pc *pconn) {
	p.mu.Lock()
	p.slots[pc.slot] = nil
	p.gens[pc.slot]++
	p.free = append(p.free, pc.slot)
	p.mu.Unlock()
}

// take takes pc off its poller (the caller holds pc.mu and saw it not
// gone).
func (pc *pconn) take() {
	pc.gone = true
	_ = pc.rc.Control(func(fd uintptr) { _ = syscall.EpollCtl(pc.p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil) })
	pc.p.release(pc)
}

// shutdown shuts the socket down; unlike a close, it leaves the
// descriptor, which the poller's set holds, to the one who finishes.
func (pc *pconn) shutdown(how int) {
	_ = pc.rc.Control(func(fd uintptr) { _ = syscall.Shutdown(int(fd), how) })
}

func (p *poller) run() {
	defer close(p.done)
	// Read calls poll whenever the epoll set is readable and returns once
	// f is closed.
	_ = p.rc.Read(func(uintptr) bool { return p.poll() })
}

// poll handles every ready connection; false means wait for more.
func (p *poller) poll() bool {
	for {
		n, err := syscall.EpollWait(p.epfd, p.events, 0)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			p.h.log.Error("signal: epoll_wait failed; the poller stops", "err", err)
			return true
		}
		for _, ev := range p.events[:n] {
			p.mu.Lock()
			var pc *pconn
			if int(ev.Fd) < len(p.slots) && p.gens[ev.Fd] == ev.Pad {
				pc = p.slots[ev.Fd]
			}
			p.mu.Unlock()
			if pc != nil {
				p.serve(pc)
			}
		}
		if n < len(p.events) {
			return false
		}
	}
}

// serve reads what pc's socket holds and handles it.
func (p *poller) serve(pc *pconn) {
	pc.mu.Lock()
	if pc.gone {
		pc.mu.Unlock()
		return
	}
	err := p.read(pc)
	if err == nil && !pc.s.isEnded() && !pc.timedOut.Load() {
		pc.mu.Unlock()
		return
	}
	pc.take()
	pc.mu.Unlock()
	go p.h.finishPolled(pc, err)
}

// read reads pc's socket until it is empty or the session ended; an
// error ends the connection (io.EOF when the client closed it).
func (p *poller) read(pc *pconn) error {
	for {
		var n int
		var rerr error
		if cerr := pc.rc.Control(func(fd uintptr) { n, rerr = syscall.Read(int(fd), p.buf) }); cerr != nil {
			return cerr
		}
		switch {
		case errors.Is(rerr, syscall.EAGAIN):
			return nil
		case errors.Is(rerr, syscall.EINTR):
			continue
		case rerr != nil:
			return rerr
		case n == 0:
			return io.EOF
		}
		if err := p.h.frames(pc, p.buf[:n]); err != nil || pc.s.isEnded() {
			return err
		}
		if n < len(p.buf) {
			return nil
		}
	}
}

// cut ends the connection at once: shut down, so that a read in
// progress (linger) ends, then taken off the poller and finished.
func (pc *pconn) cut() {
	pc.shutdown(syscall.SHUT_RDWR)
	go pc.takeAndFinish()
}

// idleCut ends the connection because its read deadline passed. It is
// called by the idle timer, holding its lock, which finishing takes.
func (pc *pconn) idleCut() {
	pc.timedOut.Store(true)
	go pc.takeAndFinish()
}

// takeAndFinish takes pc off its poller and finishes it, unless the
// poller did (the poller may be reading it: it finishes it then, having
// seen the session end or the time out).
func (pc *pconn) takeAndFinish() {
	pc.mu.Lock()
	if pc.gone {
		pc.mu.Unlock()
		return
	}
	pc.take()
	pc.mu.Unlock()
	pc.p.h.finishPolled(pc, nil)
}

// queuePong answers a ping. The answer is written by a goroutine of its
// own, since a write may wait and the poller must not; while one is
// being written only the last ping waiting gets an answer (RFC 6455
// section 5.5.3 allows it).
func (pc *pconn) queuePong(payload []byte) {
	pc.pongMu.Lock()
	defer pc.pongMu.Unlock()
	pc.pong = append(pc.pong[:0], payload...)
	if pc.ponging {
		return
	}
	pc.ponging = true
	go pc.sendPongs()
}

func (pc *pconn) sendPongs() {
	var b []byte
	for {
		pc.pongMu.Lock()
		if pc.pong == nil {
			pc.ponging = false
			pc.pongMu.Unlock()
			return
		}
		b, pc.pong = append(b[:0], pc.pong...), nil
		pc.pongMu.Unlock()
		_ = pc.s.ws.WriteControl(websocket.PongMessage, b, time.Now().Add(pc.s.h.cfg.WriteTimeout))
	}
}

// closeReceived is the client's close frame, which ends its connection.
type closeReceived struct{ code int }

func (e *closeReceived) Error() string { return "websocket: close received" }

// frames handles what a read of pc's socket returned.
func (h *Hub) frames(pc *pconn, data []byte) error {
	s := pc.s
	var end error
	err := pc.fr.feed(data, func(op int, p []byte) bool {
		switch op {
		case opPing:
			pc.queuePong(p)
		case opPong:
			if !s.isEnded() {
				pc.it.set(h.deadline(s))
			}
		case opClose:
			code, err := closeStatus(p)
			if err == nil {
				err = &closeReceived{code: code}
			}
			end = err
			return false
		default:
			h.polledMessage(s, op, p)
			if s.isEnded() {
				return false
			}
			pc.it.set(h.deadline(s))
		}
		return true
	})
	if err != nil {
		return err
	}
	return end
}

// polledMessage handles one message of a polled connection, as
// readMessage does one a goroutine read.
func (h *Hub) polledMessage(s *session, op int, p []byte) {
	switch op {
	case opTooLarge:
		s.input(nil, wire.Errorf(wire.CodeTooLarge, "message exceeds %d bytes", wire.MaxMessageSize))
	case opBinary:
		s.input(nil, wire.Errorf(wire.CodeBadRequest, "signaling messages are WebSocket text messages"))
	default:
		if s.last == nil {
			s.last = new(wire.Stats)
		}
		m, err := wire.DecodeFromClientInto(p, s.last)
		s.input(m, err)
	}
}

// finishPolled ends a connection its poller took off (err is why; nil
// when the session ended while it was read), as serveConn's tail does
// for a connection read by a goroutine of its own, and leaves the hub's
// wait group.
func (h *Hub) finishPolled(pc *pconn, err error) {
	s := pc.s
	c := s.ws
	var ce *closeReceived
	var pe *protocolError
	switch {
	case pc.timedOut.Load():
		h.end(s, h.timeoutReason(s), nil)
	case errors.As(err, &ce):
		if !s.isEnded() {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(ce.code, ""), time.Now().Add(closeGrace))
		}
		h.end(s, reasonClosed, nil)
	case errors.As(err, &pe):
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, pe.msg), time.Now().Add(closeGrace))
		h.end(s, reasonError, nil)
	case err != nil:
		h.end(s, reasonError, nil)
	}
	pc.it.stop()
	s.box.wait()
	if s.final != nil && ce == nil {
		h.lingerPolled(pc)
	}
	_ = c.NetConn().Close()
	h.wg.Done()
}

// lingerPolled is linger for a polled connection: it waits a little for
// the client's close frame, discarding anything else, parsing on from
// where the poller stopped.
func (h *Hub) lingerPolled(pc *pconn) {
	nc := pc.s.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	closed := false
	on := func(op int, _ []byte) bool {
		closed = op == opClose
		return !closed
	}
	if pc.fr.feed(nil, on) != nil || closed {
		return
	}
	b := make([]byte, 4096)
	for {
		n, err := nc.Read(b)
		if n > 0 && (pc.fr.feed(b[:n], on) != nil || closed) {
			return
		}
		if err != nil {
			return
		}
	}
}

// pollers returns the hub's pollers, started on first use; nil when
// Config.Pollers is 0 or they cannot be started.
func (h *Hub) pollers() *pollers {
	h.pollOnce.Do(func() {
		if h.cfg.Pollers == 0 {
			return
		}
		ps, err := newPollers(h, h.cfg.Pollers)
		if err != nil {
			h.log.Warn("signal: pollers not started; a goroutine reads each connection", "err", err)
			return
		}
		h.polls = ps
	})
	return h.polls
}
