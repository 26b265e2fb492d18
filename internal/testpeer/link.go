package testpeer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/internal/rtcwire"
	"github.com/edgeswarm/edgeswarm/wire"
)

// transfer is one incoming response: to a request of ours, or a push.
type transfer struct {
	req     uint32
	d       wire.SegmentDigest
	known   bool // d is set (a push may precede its digest)
	seq     uint64
	push    bool
	gotData bool
	size    uint32
	buf     []byte
	result  chan struct{}
	err     error
}

// link is the peer's connection to one other peer; this side offered.
type link struct {
	p       *Peer
	id      string
	session string
	pc      *webrtc.PeerConnection
	// ice is pc's ICE transport, taken when pc is made: asking pc for it
	// later (pc.SCTP().Transport()) takes the SCTP transport's lock, which
	// pc.GracefulClose holds while it waits for the DataChannel callbacks
	// to return, so a callback that asks deadlocks the close.
	ice     *webrtc.ICETransport
	dc      *webrtc.DataChannel
	ctx     context.Context
	cancelF context.CancelFunc
	offered chan struct{}
	low     chan struct{}
	serveQ  chan wire.Frame
	sendMu  sync.Mutex
	ids     counter

	mu        sync.Mutex
	helloSent bool // pion may deliver the other's hello before our open event
	ready     bool
	version   uint8
	flags     uint8
	theirHave wire.HaveMap
	transfers map[uint32]*transfer
	cancelled map[uint32]bool // our cancelled ids: late frames are dropped
	stopped   map[uint32]bool // their cancelled ids: stop serving
	pending   []*transfer     // pushes complete but without a digest yet
}

// newLink makes the connection to id: as the offerer it creates the
// DataChannel; as the answerer it takes the one the offer brings.
func newLink(p *Peer, id, session string, offerer bool) (*link, error) {
	pc, err := p.opt.API.NewPeerConnection(p.rtcConfig())
	if err != nil {
		return nil, err
	}
	var dc *webrtc.DataChannel
	if offerer {
		ordered := true
		if dc, err = pc.CreateDataChannel(wire.DataChannelLabel, &webrtc.DataChannelInit{Ordered: &ordered}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	l := &link{
		p: p, id: id, session: session, pc: pc, ice: pc.SCTP().Transport().ICETransport(),
		offered: make(chan struct{}), low: make(chan struct{}, 1), serveQ: make(chan wire.Frame, 16),
		transfers: map[uint32]*transfer{}, cancelled: map[uint32]bool{}, stopped: map[uint32]bool{},
	}
	l.ctx, l.cancelF = context.WithCancel(p.ctx)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		select {
		case <-l.offered:
		case <-l.ctx.Done():
			return
		}
		if err := p.send(rtcwire.CandidateRelay(id, session, c)); err != nil {
			l.close()
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			l.close()
		}
	})
	if offerer {
		l.attach(dc)
	} else {
		pc.OnDataChannel(func(dc *webrtc.DataChannel) {
			if dc.Label() != wire.DataChannelLabel {
				l.p.fail(fmt.Errorf("%s opened a DataChannel labelled %q", id, dc.Label()))
				l.close()
				return
			}
			l.attach(dc)
		})
	}
	// The link's goroutine: serves requests, then closes the connection.
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		l.serve()
		l.closePC()
		p.mu.Lock()
		if p.conns[id] == l {
			delete(p.conns, id)
		}
		p.notify()
		p.mu.Unlock()
	}()
	return l, nil
}

// attach takes dc as the link's channel.
func (l *link) attach(dc *webrtc.DataChannel) {
	l.sendMu.Lock()
	l.dc = dc
	l.sendMu.Unlock()
	dc.SetBufferedAmountLowThreshold(wire.BufferedAmountLow)
	dc.OnBufferedAmountLow(func() {
		select {
		case l.low <- struct{}{}:
		default:
		}
	})
	dc.OnOpen(l.onOpen)
	dc.OnClose(l.close)
	dc.OnMessage(l.onMessage)
}

// answer answers a relayed offer.
func (l *link) answer(sdp string) error {
	if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := l.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := l.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	if err := l.p.send(&wire.Relay{To: l.id, Session: l.session, Kind: wire.KindAnswer, SDP: ans.SDP}); err != nil {
		return err
	}
	close(l.offered)
	return nil
}

// start sends the offer.
func (l *link) start() error {
	offer, err := l.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := l.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	if err := l.p.send(&wire.Relay{To: l.id, Session: l.session, Kind: wire.KindOffer, SDP: offer.SDP}); err != nil {
		return err
	}
	close(l.offered)
	return nil
}

func (l *link) close() { l.cancelF() }

// closeStuck bounds how long the link waits for the WebRTC stack to close
// its connection. A close takes milliseconds; one still running after this
// is a fault of the stack, not of the peer on the other side.
const closeStuck = 10 * time.Second

// closePC closes the connection and waits for pion's goroutines to end.
// A close that does not end within closeStuck fails the peer with every
// goroutine's stack (where the close is stuck) and is left running, so
// that the test waiting for the link to go shows the fault instead of
// hanging until the test binary's timeout.
func (l *link) closePC() {
	done := make(chan error, 1)
	go func() { done <- l.pc.GracefulClose() }()
	t := time.NewTimer(closeStuck)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			l.p.fail(fmt.Errorf("closing the connection to %s: %w", l.id, err))
		}
	case <-t.C:
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		l.p.fail(fmt.Errorf("closing the connection to %s: GracefulClose has not returned after %v; goroutines:\n%s", l.id, closeStuck, buf))
	}
}

func (l *link) isReady() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ready && l.helloSent && l.ctx.Err() == nil
}

// signal applies a relayed answer or candidate.
func (l *link) signal(m *wire.Relay) {
	var err error
	switch m.Kind {
	case wire.KindAnswer:
		err = l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
	case wire.KindCandidate:
		if m.Candidate == "" {
			return // end of candidates
		}
		err = l.pc.AddICECandidate(rtcwire.CandidateInit(m))
	default:
		err = fmt.Errorf("unexpected %s", m.Kind)
	}
	if err != nil {
		l.p.fail(fmt.Errorf("signal from %s: %w", l.id, err))
	}
}

func (l *link) onOpen() {
	h := wire.Hello(l.p.opt.Upload)
	if l.p.opt.AcceptPush {
		h.Flags |= wire.FlagAcceptsPush
	}
	l.sendFrame(h)
	l.sendHave()
	l.p.mu.Lock()
	l.mu.Lock()
	l.helloSent = true
	l.mu.Unlock()
	l.p.notify()
	l.p.mu.Unlock()
}

func (l *link) sendHave() {
	l.sendFrame(wire.Frame{Type: wire.FrameHave, Have: l.p.haveMap()})
}

func (l *link) sendFrame(f wire.Frame) {
	b, err := wire.AppendFrame(nil, f)
	if err == nil {
		l.sendMu.Lock()
		err = l.dc.Send(b)
		l.sendMu.Unlock()
	}
	if err != nil && l.ctx.Err() == nil {
		l.protocolError(fmt.Errorf("sending %s: %w", f.Type, err))
	}
}

func (l *link) protocolError(err error) {
	l.p.fail(fmt.Errorf("peer %s: %w", l.id, err))
	l.close()
}

// request sends a request and registers its transfer.
func (l *link) request(f wire.Frame, d wire.SegmentDigest) (*transfer, error) {
	if !l.isReady() {
		return nil, fmt.Errorf("testpeer: connection to %s not ready", l.id)
	}
	f.Req = l.ids.next()
	t := &transfer{req: f.Req, d: d, known: true, result: make(chan struct{})}
	l.mu.Lock()
	l.transfers[f.Req] = t
	l.mu.Unlock()
	l.sendFrame(f)
	return t, nil
}

// cancel gives a transfer up.
func (l *link) cancel(t *transfer) {
	l.mu.Lock()
	delete(l.transfers, t.req)
	l.cancelled[t.req] = true
	l.mu.Unlock()
	l.sendFrame(wire.Frame{Type: wire.FrameCancel, Req: t.req})
}

func (l *link) onMessage(msg webrtc.DataChannelMessage) {
	if msg.IsString {
		l.protocolError(errors.New("text message"))
		return
	}
	f, err := wire.DecodeFrame(msg.Data)
	if err != nil {
		l.protocolError(err)
		return
	}
	l.mu.Lock()
	ready := l.ready
	l.mu.Unlock()
	if !ready {
		if f.Type != wire.FrameHello {
			l.protocolError(fmt.Errorf("first frame %s", f.Type))
			return
		}
		v, ok := wire.NegotiateVersion(f)
		if !ok {
			l.protocolError(fmt.Errorf("versions %d..%d", f.MinVersion, f.MaxVersion))
			return
		}
		l.p.mu.Lock()
		l.mu.Lock()
		l.ready, l.version, l.flags = true, v, f.Flags
		l.mu.Unlock()
		l.p.notify()
		l.p.mu.Unlock()
		l.cameUp()
		return
	}
	switch f.Type {
	case wire.FrameHave:
		h := f.Have
		h.Bits = slices.Clone(h.Bits)
		l.mu.Lock()
		l.theirHave = h
		l.mu.Unlock()
	case wire.FrameRequest:
		if !l.p.opt.Upload {
			l.sendFrame(wire.Frame{Type: wire.FrameAbsent, Req: f.Req})
			return
		}
		if f.Key != "" {
			f.Key = string([]byte(f.Key)) // detach from msg.Data
		}
		select {
		case l.serveQ <- f:
		default:
			l.sendFrame(wire.Frame{Type: wire.FrameBusy, Req: f.Req})
		}
	case wire.FrameCancel:
		l.mu.Lock()
		l.stopped[f.Req] = true
		l.mu.Unlock()
	case wire.FramePush:
		l.onPush(f)
	case wire.FrameData, wire.FrameChunk, wire.FrameDone, wire.FrameAbsent, wire.FrameBusy:
		l.onResponse(f)
	default:
		l.protocolError(fmt.Errorf("unexpected %s", f.Type))
	}
}

func (l *link) onPush(f wire.Frame) {
	l.mu.Lock()
	v := l.version
	l.mu.Unlock()
	if v < 2 || !l.p.opt.AcceptPush {
		l.protocolError(errors.New("push not accepted"))
		return
	}
	if l.p.Holds(f.Seq) {
		l.mu.Lock()
		l.cancelled[f.Req] = true
		l.mu.Unlock()
		l.sendFrame(wire.Frame{Type: wire.FrameCancel, Req: f.Req})
		return
	}
	t := &transfer{req: f.Req, seq: f.Seq, push: true, result: make(chan struct{})}
	l.p.mu.Lock()
	t.d, t.known = l.p.bySeq[f.Seq]
	l.p.mu.Unlock()
	l.mu.Lock()
	l.transfers[f.Req] = t
	l.mu.Unlock()
}

func (l *link) onResponse(f wire.Frame) {
	l.mu.Lock()
	t := l.transfers[f.Req]
	dropped := l.cancelled[f.Req]
	l.mu.Unlock()
	if t == nil {
		if !dropped {
			l.protocolError(fmt.Errorf("%s for unknown id %d", f.Type, f.Req))
		}
		return
	}
	switch f.Type {
	case wire.FrameAbsent, wire.FrameBusy:
		if t.gotData || t.push {
			l.protocolError(fmt.Errorf("%s after data", f.Type))
			return
		}
		t.err = ErrAbsent
		if f.Type == wire.FrameBusy {
			t.err = ErrBusy
		}
		l.finish(t)
	case wire.FrameData:
		if t.gotData || f.Offset != 0 {
			l.protocolError(fmt.Errorf("data for %d: offset %d", f.Req, f.Offset))
			return
		}
		if t.known && uint64(f.Size) != t.d.Size {
			t.err = fmt.Errorf("testpeer: size %d, digest says %d", f.Size, t.d.Size)
			l.p.mu.Lock()
			l.p.stats.DigestFailures++
			l.p.mu.Unlock()
			l.cancel(t)
			l.finish(t)
			return
		}
		t.gotData, t.size, t.buf = true, f.Size, make([]byte, 0, f.Size)
	case wire.FrameChunk:
		if !t.gotData || len(t.buf)+len(f.Payload) > int(t.size) {
			l.protocolError(fmt.Errorf("chunk for %d out of place", f.Req))
			return
		}
		t.buf = append(t.buf, f.Payload...)
	case wire.FrameDone:
		if !t.gotData || len(t.buf) != int(t.size) {
			l.protocolError(fmt.Errorf("done for %d after %d of %d bytes", f.Req, len(t.buf), t.size))
			return
		}
		l.complete(t)
	}
}

// complete verifies a finished transfer.
func (l *link) complete(t *transfer) {
	if !t.known {
		l.p.mu.Lock()
		t.d, t.known = l.p.bySeq[t.seq]
		l.p.mu.Unlock()
	}
	if !t.known { // a push ahead of its digest
		l.mu.Lock()
		delete(l.transfers, t.req)
		l.pending = append(l.pending, t)
		l.mu.Unlock()
		return
	}
	if !l.p.verify(l.id, t.d, t.buf, t.push) {
		t.err = fmt.Errorf("testpeer: segment %s does not match its digest", t.d.Key)
		t.buf = nil
	} else {
		l.broadcastHave()
	}
	l.finish(t)
}

func (l *link) verifyPending() {
	l.mu.Lock()
	ps := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, t := range ps {
		l.complete(t)
	}
}

func (l *link) finish(t *transfer) {
	l.mu.Lock()
	delete(l.transfers, t.req)
	l.mu.Unlock()
	close(t.result)
}

// broadcastHave sends the new have-map on every ready connection.
func (l *link) broadcastHave() { l.p.broadcastHave() }

// broadcastHave sends the peer's have-map on every ready connection.
func (p *Peer) broadcastHave() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.conns))
	for _, o := range p.conns {
		links = append(links, o)
	}
	p.mu.Unlock()
	for _, o := range links {
		if o.isReady() {
			o.sendHave()
		}
	}
}

// serve answers queued requests one at a time until the link closes.
func (l *link) serve() {
	for {
		select {
		case <-l.ctx.Done():
			return
		case f := <-l.serveQ:
			l.serveOne(f)
		}
	}
}

func (l *link) serveOne(f wire.Frame) {
	s := l.p.lookup(f)
	if s == nil || uint64(f.Offset) > s.d.Size {
		l.sendFrame(wire.Frame{Type: wire.FrameAbsent, Req: f.Req})
		return
	}
	size := uint32(len(s.data))
	l.sendFrame(wire.Frame{Type: wire.FrameData, Req: f.Req, Size: size, Offset: f.Offset})
	chunk := uint32(l.p.config.ChunkSize)
	buf := make([]byte, 0, wire.ChunkHeaderSize+int(chunk))
	for off := f.Offset; off < size; {
		l.mu.Lock()
		stop := l.stopped[f.Req]
		l.mu.Unlock()
		if stop {
			return
		}
		for l.dc.BufferedAmount() > wire.BufferedAmountHigh {
			select {
			case <-l.low:
			case <-l.ctx.Done():
				return
			}
		}
		n := min(chunk, size-off)
		buf = append(wire.AppendChunkHeader(buf[:0], f.Req), s.data[off:off+n]...)
		l.sendMu.Lock()
		err := l.dc.Send(buf)
		l.sendMu.Unlock()
		if err != nil {
			l.close()
			return
		}
		off += n
		l.p.addUpload(int(n))
	}
	l.sendFrame(wire.Frame{Type: wire.FrameDone, Req: f.Req})
}

// rtcConfig is the configuration of every connection: the welcome's ICE
// servers with Options.ICEServers or RelayOnly, relay candidates only with
// RelayOnly.
func (p *Peer) rtcConfig() webrtc.Configuration {
	c := webrtc.Configuration{ICEServers: slices.Clone(p.opt.ExtraICEServers)}
	if !p.opt.ICEServers && !p.opt.RelayOnly {
		return c
	}
	for _, s := range p.config.ICEServers {
		c.ICEServers = append(c.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	if p.opt.RelayOnly {
		c.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	return c
}

// relayed reports whether the connection's selected candidate pair has a
// relay candidate on either side: its bytes left a TURN relay.
func (l *link) relayed() bool {
	pair, err := l.ice.GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return false
	}
	return pair.Local.Typ == webrtc.ICECandidateTypeRelay || pair.Remote.Typ == webrtc.ICECandidateTypeRelay
}
