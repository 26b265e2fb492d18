package seeder

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/edgeswarm/edgeswarm/internal/rtcwire"
	"github.com/edgeswarm/edgeswarm/wire"
)

// maxQueuedPushes bounds the pushes waiting on one connection; newer
// segments are worth more than older ones, so the oldest is dropped.
const maxQueuedPushes = 4

// backlog bounds the DataChannel's buffer when a small frame (absent,
// busy) is to be sent. Chunks stop at the send buffer (Config.SendBuffer),
// so a viewer that reads leaves at most a chunk and a few small frames
// above it; one whose buffer grows past this keeps asking without reading
// (a request flood on a half-open channel) and is dropped, so that pion
// never queues an unbounded number of answers for it.
func (p *peer) backlog() uint64 { return p.high() + 4*wire.MaxFrameSize }

// high is the send buffer's high-water mark, and a quarter of it the
// level at which a waiting sender resumes.
func (p *peer) high() uint64 { return uint64(p.sw.s.cfg.SendBuffer) }

// Why the seeder dropped a viewer, the label of
// edgeswarm_seeder_peers_dropped_total.
const (
	dropProtocol   = "protocol_error" // a frame that is malformed or not allowed
	dropNotReading = "not_reading"    // its buffer stopped draining
	dropNoHello    = "no_hello"       // no hello within hello_timeout_ms
)

// errNotReading ends a response to a viewer that stopped reading.
var errNotReading = errors.New("viewer not reading: nothing drained for idle_timeout_ms")

// job is one response the peer's sender owes: to a request, or a push.
type job struct {
	req       uint32
	push      bool
	d         wire.SegmentDigest
	offset    uint32
	cancelled atomic.Bool
}

// peer is the super-peer's connection to one viewer. The viewer offers;
// the seeder answers, then serves requests and pushes over the one
// DataChannel. One goroutine (loop) sends every response and tears the
// connection down; pion's callbacks only update state and queue work.
type peer struct {
	sw      *swarm
	id      string
	session string
	pc      *webrtc.PeerConnection
	limiter *rate.Limiter // nil: unlimited

	ctx      context.Context
	cancel   context.CancelFunc
	open     chan struct{} // closed when the DataChannel opens
	answered chan struct{} // closed once the answer is relayed
	wake     chan struct{} // work was queued
	low      chan struct{} // bufferedamountlow fired
	sendMu   sync.Mutex    // one frame at a time on dc
	buf      []byte        // the sender's frame buffer

	mu         sync.Mutex
	dc         *webrtc.DataChannel
	reason     string // why it closed
	ready      bool   // the viewer's hello arrived
	helloSent  bool
	version    uint8
	flags      uint8
	have       wire.HaveMap
	haveSeen   bool // a have frame arrived
	queue      []*job
	current    *job
	inflight   int // requests queued or being answered
	nextPush   uint32
	started    time.Time
	throughput float64 // bytes/s of recent responses, exponentially averaged
	helloTimer *time.Timer
	lastPush   time.Time // when a push was last queued; zero: never
	helloAt    time.Time // when the viewer's hello arrived
	// caughtUp: the viewer was considered for a catch-up push (once,
	// at its first have-map after its start-up grace).
	caughtUp bool
}

func newPeer(sw *swarm, id, session, sdp string) (*peer, error) {
	pc, err := sw.s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &peer{
		sw: sw, id: id, session: session, pc: pc,
		open: make(chan struct{}), answered: make(chan struct{}),
		wake: make(chan struct{}, 1), low: make(chan struct{}, 1),
		nextPush: wire.MinPushReq, started: sw.s.clock(),
	}
	p.ctx, p.cancel = context.WithCancel(sw.ctx)
	if bps := sw.s.cfg.PeerUploadBps; bps > 0 {
		p.limiter = newLimiter(int64(bps))
	}
	pc.OnICECandidate(p.onCandidate)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			p.close("connection " + st.String())
		}
	})
	pc.OnDataChannel(p.onDataChannel)
	sw.mu.Lock()
	timeout := time.Duration(sw.config.HelloTimeoutMs) * time.Millisecond
	sw.mu.Unlock()
	p.helloTimer = time.AfterFunc(timeout, func() {
		p.mu.Lock()
		ready := p.ready
		p.mu.Unlock()
		if !ready {
			p.drop(dropNoHello, "no hello within hello_timeout_ms")
		}
	})
	fail := func(err error) (*peer, error) {
		p.helloTimer.Stop()
		p.cancel()
		pc.Close()
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fail(fmt.Errorf("offer: %w", err))
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("answer: %w", err))
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("answer: %w", err))
	}
	if err := sw.send(&wire.Relay{To: id, Session: session, Kind: wire.KindAnswer, SDP: answer.SDP}); err != nil {
		return fail(fmt.Errorf("relaying the answer: %w", err))
	}
	close(p.answered)
	return p, nil
}

// start starts the sender goroutine.
func (p *peer) start() {
	sw := p.sw
	sw.wg.Add(1)
	go func() {
		defer sw.wg.Done()
		p.loop()
	}()
}

// close ends the connection; the sender goroutine tears it down.
func (p *peer) close(reason string) {
	p.mu.Lock()
	if p.reason == "" {
		p.reason = reason
	}
	p.mu.Unlock()
	p.cancel()
}

// drop closes a misbehaving viewer's connection and counts it under why,
// unless the connection was closing already.
func (p *peer) drop(why, reason string) {
	p.mu.Lock()
	first := p.reason == ""
	if first {
		p.reason = reason
	}
	p.mu.Unlock()
	if first {
		p.sw.s.m.dropped[why].Inc()
	}
	p.cancel()
}

func (p *peer) onCandidate(c *webrtc.ICECandidate) {
	select { // candidates follow the answer
	case <-p.answered:
	case <-p.ctx.Done():
		return
	}
	if err := p.sw.send(rtcwire.CandidateRelay(p.id, p.session, c)); err != nil {
		p.close("relaying a candidate: " + err.Error())
	}
}

func (p *peer) onDataChannel(dc *webrtc.DataChannel) {
	p.mu.Lock()
	if p.dc != nil || dc.Label() != wire.DataChannelLabel {
		p.mu.Unlock()
		p.close("unexpected DataChannel " + dc.Label())
		return
	}
	p.dc = dc
	p.mu.Unlock()
	dc.SetBufferedAmountLowThreshold(p.high() / 4)
	dc.OnBufferedAmountLow(func() {
		select {
		case p.low <- struct{}{}:
		default:
		}
	})
	dc.OnOpen(func() { close(p.open) })
	dc.OnClose(func() { p.close("DataChannel closed") })
	dc.OnMessage(p.onMessage)
}

// loop sends hello and have, then every queued response, until the peer
// closes; then it closes the peer connection and forgets the peer.
func (p *peer) loop() {
	defer p.teardown()
	select {
	case <-p.open:
	case <-p.ctx.Done():
		return
	}
	if err := p.sendFrame(wire.Hello(true)); err != nil {
		p.close(err.Error())
		return
	}
	p.mu.Lock()
	p.helloSent = true
	p.mu.Unlock()
	h, _ := p.sw.haveMap()
	p.sendHave(h)
	for {
		j := p.next()
		if j == nil {
			select {
			case <-p.wake:
				continue
			case <-p.ctx.Done():
				return
			}
		}
		if err := p.serve(j); err != nil {
			if p.ctx.Err() == nil {
				if errors.Is(err, errNotReading) {
					p.drop(dropNotReading, err.Error())
				}
				p.close(err.Error())
			}
			return
		}
		p.mu.Lock()
		p.current = nil
		if !j.push {
			p.inflight--
		}
		p.mu.Unlock()
	}
}

func (p *peer) teardown() {
	p.helloTimer.Stop()
	p.mu.Lock()
	reason := p.reason
	p.mu.Unlock()
	p.cancel()
	p.closePC()
	p.sw.removePeer(p)
	p.sw.s.npeers.Add(-1)
	p.sw.s.m.peers.Dec()
	p.sw.s.log.Debug("seeder: peer closed", "swarm", p.sw.name, "peer", p.id, "reason", reason)
}

// closeStuck bounds how long a teardown waits for the WebRTC stack to close
// a connection (milliseconds, normally).
const closeStuck = 10 * time.Second

// closePC closes the peer connection and waits for pion's goroutines. A
// close still running after closeStuck is logged as an error and left to
// finish on its own: the swarm goes on (and Close returns) without it.
func (p *peer) closePC() {
	done := make(chan error, 1)
	go func() { done <- p.pc.GracefulClose() }()
	t := time.NewTimer(closeStuck)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			p.sw.s.log.Debug("seeder: closing peer connection", "peer", p.id, "err", err)
		}
	case <-t.C:
		p.sw.s.log.Error("seeder: closing a peer connection is stuck; going on without it", "swarm", p.sw.name, "peer", p.id, "after", closeStuck)
	}
}

// next pops the next job, or returns nil when there is none.
func (p *peer) next() *job {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) > 0 {
		j := p.queue[0]
		p.queue = p.queue[1:]
		if j.cancelled.Load() {
			if !j.push {
				p.inflight--
			}
			continue
		}
		p.current = j
		return j
	}
	return nil
}

func (p *peer) sendFrame(f wire.Frame) error {
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		return err
	}
	return p.send(b)
}

func (p *peer) send(b []byte) error {
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	return dc.Send(b)
}

// sendHave sends h once hello is out; errors close the peer.
func (p *peer) sendHave(h wire.HaveMap) {
	p.mu.Lock()
	ok := p.helloSent && p.ctx.Err() == nil
	p.mu.Unlock()
	if !ok {
		return
	}
	if err := p.sendFrame(wire.Frame{Type: wire.FrameHave, Have: h}); err != nil {
		p.close(err.Error())
	}
}

// has reports whether the viewer's latest have-map has seq.
func (p *peer) has(seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.have.Has(seq)
}

// servesSeq reports whether the viewer serves others and holds seq.
func (p *peer) servesSeq(seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flags&wire.FlagServes != 0 && p.have.Has(seq)
}

func (p *peer) protocolError(format string, args ...any) {
	p.drop(dropProtocol, "protocol error: "+fmt.Sprintf(format, args...))
}

func (p *peer) onMessage(msg webrtc.DataChannelMessage) {
	if msg.IsString {
		p.protocolError("text message")
		return
	}
	f, err := wire.DecodeFrame(msg.Data)
	if err != nil {
		p.protocolError("%v", err)
		return
	}
	p.mu.Lock()
	if !p.ready {
		p.mu.Unlock()
		if f.Type != wire.FrameHello {
			p.protocolError("first frame %s, want hello", f.Type)
			return
		}
		v, ok := wire.NegotiateVersion(f)
		if !ok {
			p.close(fmt.Sprintf("peer versions %d..%d do not meet ours", f.MinVersion, f.MaxVersion))
			return
		}
		p.mu.Lock()
		p.ready, p.version, p.flags = true, v, f.Flags
		p.helloAt = p.sw.s.clock()
		p.helloTimer.Stop()
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	switch f.Type {
	case wire.FrameHave:
		h := f.Have
		h.Bits = slices.Clone(h.Bits) // f aliases msg.Data
		now := p.sw.s.clock()
		p.mu.Lock()
		old, serves := p.have, p.flags&wire.FlagServes != 0
		p.have, p.haveSeen = h, true
		catchUp := !p.caughtUp && !p.startingLocked(now)
		p.caughtUp = p.caughtUp || catchUp
		age := now.Sub(p.helloAt)
		p.mu.Unlock()
		p.sw.heldNow(p, old, h, serves, age)
		if catchUp {
			p.sw.firstHave(p)
		}
		p.sw.haveChanged()
	case wire.FrameRequest:
		p.request(f)
	case wire.FrameCancel:
		p.cancelJob(f.Req)
	default:
		// The super-peer sends no requests, accepts no pushes and
		// has said hello already.
		p.protocolError("unexpected %s", f.Type)
	}
}

// request answers absent or busy at once, or queues the response.
func (p *peer) request(f wire.Frame) {
	sw, m := p.sw, p.sw.s.m
	d, ok := sw.lookup(f.Seq, f.Key)
	if !ok || uint64(f.Offset) > d.Size {
		m.absent.Inc()
		p.reply(wire.Frame{Type: wire.FrameAbsent, Req: f.Req})
		return
	}
	sw.mu.Lock()
	maxInflight := sw.config.MaxInflight
	sw.mu.Unlock()
	p.mu.Lock()
	full := p.inflight >= maxInflight
	p.mu.Unlock()
	if full {
		m.busy.Inc()
		p.reply(wire.Frame{Type: wire.FrameBusy, Req: f.Req})
		return
	}
	// Steer the request to viewers when enough of them hold the segment;
	// a segment nobody else has is always served.
	if n := sw.s.cfg.BusyHolders; n > 0 && d.Seq != nil && sw.holders(*d.Seq, p) >= n {
		m.busyHeld.Inc()
		p.reply(wire.Frame{Type: wire.FrameBusy, Req: f.Req})
		return
	}
	p.mu.Lock()
	p.queue = append(p.queue, &job{req: f.Req, d: d, offset: f.Offset})
	p.inflight++
	p.mu.Unlock()
	p.kick()
}

func (p *peer) reply(f wire.Frame) {
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	if dc.BufferedAmount() > p.backlog() {
		p.drop(dropNotReading, "viewer not reading: more than send_buffer bytes buffered")
		return
	}
	if err := p.sendFrame(f); err != nil {
		p.close(err.Error())
	}
}

func (p *peer) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// cancelJob drops a queued response or stops the one in progress.
func (p *peer) cancelJob(req uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil && p.current.req == req {
		p.current.cancelled.Store(true)
		return
	}
	for _, j := range p.queue {
		if j.req == req {
			j.cancelled.Store(true)
		}
	}
}

// pushable reports whether the viewer takes pushes: it negotiated
// version 2, accepts pushes and uploads to others.
func (p *peer) pushable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready && p.ctx.Err() == nil && p.version >= 2 &&
		p.flags&wire.FlagAcceptsPush != 0 && p.flags&wire.FlagServes != 0
}

// starting reports whether the viewer is in its start-up grace at now
// (Config.PushStartGraceMs after its hello): it gets no pushes.
func (p *peer) starting(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.startingLocked(now)
}

func (p *peer) startingLocked(now time.Time) bool {
	g := time.Duration(p.sw.s.cfg.PushStartGraceMs) * time.Millisecond
	return g > 0 && (!p.ready || now.Sub(p.helloAt) < g)
}

// enqueuePush queues a push of d (which has a seq).
func (p *peer) enqueuePush(d wire.SegmentDigest) {
	p.mu.Lock()
	pushes := 0
	for _, j := range p.queue {
		if j.push && !j.cancelled.Load() {
			if *j.d.Seq == *d.Seq {
				p.mu.Unlock()
				return
			}
			pushes++
			if pushes >= maxQueuedPushes {
				j.cancelled.Store(true) // never started: nothing was sent for it
			}
		}
	}
	j := &job{req: p.nextPush, push: true, d: d}
	p.lastPush = p.sw.s.clock()
	p.nextPush++
	if p.nextPush == 0 { // 2^31 pushes later: start the range again
		p.nextPush = wire.MinPushReq
	}
	p.queue = append(p.queue, j)
	p.mu.Unlock()
	p.kick()
}

// serve sends one response. Only a failure of the connection is an error.
func (p *peer) serve(j *job) error {
	sw, m := p.sw, p.sw.s.m
	data, err := sw.segment(p.ctx, j.d)
	if err != nil {
		if p.ctx.Err() != nil {
			return p.ctx.Err()
		}
		sw.s.log.Warn("seeder: segment unavailable", "swarm", sw.name, "key", j.d.Key, "err", err)
		if j.push {
			return nil
		}
		m.absent.Inc()
		return p.sendFrame(wire.Frame{Type: wire.FrameAbsent, Req: j.req})
	}
	if j.cancelled.Load() {
		return nil
	}
	if j.push {
		if p.has(*j.d.Seq) {
			return nil // it got the segment meanwhile
		}
		if err := p.sendFrame(wire.Frame{Type: wire.FramePush, Req: j.req, Seq: *j.d.Seq}); err != nil {
			return err
		}
		m.pushes.Inc()
	} else {
		m.served.Inc()
	}
	size := uint32(len(data))
	if err := p.sendFrame(wire.Frame{Type: wire.FrameData, Req: j.req, Size: size, Offset: j.offset}); err != nil {
		return err
	}
	chunk := uint32(sw.s.cfg.ChunkSize)
	if chunk == 0 {
		sw.mu.Lock()
		chunk = uint32(sw.config.ChunkSize)
		sw.mu.Unlock()
	}
	begin := time.Now()
	for off := j.offset; off < size; {
		if j.cancelled.Load() {
			return nil // no done after a cancel
		}
		if err := p.waitBuffer(); err != nil {
			return err
		}
		n := min(chunk, size-off)
		if err := p.waitBudget(int(n) + wire.ChunkHeaderSize); err != nil {
			return err
		}
		p.buf = append(wire.AppendChunkHeader(p.buf[:0], j.req), data[off:off+n]...)
		if err := p.send(p.buf); err != nil {
			return err
		}
		off += n
		sw.sent.Add(float64(n))
		if j.push {
			m.pushBytes.Add(float64(n))
		}
	}
	if err := p.sendFrame(wire.Frame{Type: wire.FrameDone, Req: j.req}); err != nil {
		return err
	}
	if el := time.Since(begin).Seconds(); el > 0 && size > j.offset {
		bps := float64(size-j.offset) / el
		p.mu.Lock()
		if p.throughput == 0 {
			p.throughput = bps
		} else {
			p.throughput = 0.7*p.throughput + 0.3*bps
		}
		p.mu.Unlock()
	}
	return nil
}

// waitBuffer waits until the DataChannel's buffer is at most the high
// water mark. A viewer that drains nothing of it for idle_timeout_ms (the
// longest gap a receiver tolerates between two frames) is not reading: it
// would hold the sender and its buffer forever, so errNotReading ends it.
// A slow reader that drains anything in that time is waited for.
func (p *peer) waitBuffer() error {
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	if dc.BufferedAmount() <= p.high() {
		return nil
	}
	p.sw.mu.Lock()
	idle := time.Duration(p.sw.config.IdleTimeoutMs) * time.Millisecond
	p.sw.mu.Unlock()
	t := time.NewTimer(idle)
	defer t.Stop()
	last := dc.BufferedAmount()
	for dc.BufferedAmount() > p.high() {
		select {
		case <-p.low:
		case <-t.C:
			now := dc.BufferedAmount()
			if now >= last {
				return errNotReading
			}
			last = now
			t.Reset(idle)
		case <-p.ctx.Done():
			return p.ctx.Err()
		}
	}
	return nil
}

// waitBudget takes n bytes from the peer's and the node's upload budgets.
func (p *peer) waitBudget(n int) error {
	m := p.sw.s.m
	for _, b := range []struct {
		lim  *rate.Limiter
		wait interface{ Add(float64) }
	}{{p.limiter, m.budgetPeer}, {p.sw.s.node, m.budgetNode}} {
		if b.lim == nil {
			continue
		}
		t := time.Now()
		if err := b.lim.WaitN(p.ctx, n); err != nil {
			if p.ctx.Err() != nil {
				return p.ctx.Err()
			}
			return errors.Join(errors.New("upload budget"), err)
		}
		if d := time.Since(t); d > time.Millisecond {
			b.wait.Add(d.Seconds())
		}
	}
	return nil
}

// pushScore is a snapshot of what makes a viewer a good push target.
type pushScore struct {
	p          *peer
	queued     int
	throughput float64
	started    time.Time
	// turn is when the peer last got a push, or connected if never.
	turn time.Time
}

func (p *peer) score() pushScore {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := len(p.queue)
	if p.current != nil {
		q++
	}
	turn := p.lastPush
	if turn.IsZero() {
		turn = p.started
	}
	return pushScore{p: p, queued: q, throughput: p.throughput, started: p.started, turn: turn}
}
