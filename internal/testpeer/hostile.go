package testpeer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/datachannel"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/internal/rtcwire"
	"github.com/edgeswarm/edgeswarm/wire"
)

// HostileOptions configure a Hostile.
type HostileOptions struct {
	// Ticket is sent in join.
	Ticket string
	// NoRead never reads the DataChannel: what the other side sends piles
	// up in its own buffer (a half-open channel).
	NoRead bool
	// Upload is the join capability (whether the tracker offers the
	// hostile peer to others).
	Upload bool
}

// Hostile is a peer for robustness tests: it joins a swarm, connects to
// one peer as a viewer does (it offers), and then sends whatever a test
// gives it over the DataChannel, byte for byte: malformed frames, frames
// out of turn, floods. It checks nothing it receives; it only hands the
// received messages to the test (unless NoRead) and tells when the other
// side closed the connection.
type Hostile struct {
	conn   Conn
	opt    HostileOptions
	id     string
	to     string
	pc     *webrtc.PeerConnection
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sendMu sync.Mutex

	open     chan struct{} // the DataChannel is open and detached
	offered  chan struct{}
	closed   chan struct{} // the other side closed
	closeOne sync.Once
	raw      datachannel.ReadWriteCloser
	dc       *webrtc.DataChannel
	low      chan struct{}
	received chan []byte
}

// hostileAPI is LoopbackAPI with detached DataChannels, so that reading
// is up to the Hostile.
func hostileAPI() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.DetachDataChannels()
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// DialHostile joins swarmName on conn and connects to peer to, or to the
// first peer listed as seeder when to is "". It returns once the
// DataChannel is open; no frame has been sent yet (not even hello).
func DialHostile(ctx context.Context, conn Conn, swarmName, to string, opt HostileOptions) (*Hostile, error) {
	h := &Hostile{conn: conn, opt: opt, to: to,
		open: make(chan struct{}), offered: make(chan struct{}), closed: make(chan struct{}),
		received: make(chan []byte, 4096), low: make(chan struct{}, 1)}
	if err := conn.Send(&wire.Join{Swarm: swarmName, Ticket: opt.Ticket, Caps: wire.Caps{Upload: opt.Upload}, Client: "edgeswarm-hostile/1"}); err != nil {
		return nil, err
	}
	for h.id == "" || h.to == "" {
		m, err := conn.Recv(ctx)
		if err != nil {
			return nil, fmt.Errorf("testpeer: hostile join: %w", err)
		}
		switch m := m.(type) {
		case *wire.Error:
			return nil, fmt.Errorf("testpeer: hostile join: %w", m)
		case *wire.Welcome:
			h.id = m.PeerID
		case *wire.Peers:
			for _, p := range m.Peers {
				if h.to == "" && p.Seeder {
					h.to = p.ID
				}
			}
		}
	}
	pc, err := hostileAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	h.pc = pc
	h.ctx, h.cancel = context.WithCancel(context.Background())
	ordered := true
	dc, err := pc.CreateDataChannel(wire.DataChannelLabel, &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		h.Close()
		return nil, err
	}
	h.dc = dc
	dc.SetBufferedAmountLowThreshold(wire.BufferedAmountLow)
	dc.OnBufferedAmountLow(func() {
		select {
		case h.low <- struct{}{}:
		default:
		}
	})
	dc.OnOpen(func() {
		raw, err := dc.Detach()
		if err != nil {
			h.gone()
			return
		}
		h.raw = raw
		close(h.open)
		if !opt.NoRead {
			h.wg.Add(1)
			go h.readLoop()
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected:
			h.gone()
		}
	})
	// The association's end is seen whether or not the channel is read.
	pc.SCTP().OnClose(func(error) { h.gone() })
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		select {
		case <-h.offered:
		case <-h.ctx.Done():
			return
		}
		h.sendMu.Lock()
		defer h.sendMu.Unlock()
		_ = conn.Send(rtcwire.CandidateRelay(h.to, "h1", c))
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err == nil {
		h.sendMu.Lock()
		err = conn.Send(&wire.Relay{To: h.to, Session: "h1", Kind: wire.KindOffer, SDP: offer.SDP})
		h.sendMu.Unlock()
	}
	if err != nil {
		h.Close()
		return nil, err
	}
	close(h.offered)
	h.wg.Add(1)
	go h.signalLoop()
	select {
	case <-h.open:
		return h, nil
	case <-h.closed:
		h.Close()
		return nil, errors.New("testpeer: hostile connection closed before it opened")
	case <-ctx.Done():
		h.Close()
		return nil, ctx.Err()
	}
}

func (h *Hostile) signalLoop() {
	defer h.wg.Done()
	for {
		m, err := h.conn.Recv(h.ctx)
		if err != nil {
			return
		}
		r, ok := m.(*wire.Relay)
		if !ok || r.From != h.to || r.Session != "h1" {
			continue
		}
		switch r.Kind {
		case wire.KindAnswer:
			_ = h.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.SDP})
		case wire.KindCandidate:
			if r.Candidate != "" {
				_ = h.pc.AddICECandidate(rtcwire.CandidateInit(r))
			}
		}
	}
}

func (h *Hostile) readLoop() {
	defer h.wg.Done()
	buf := make([]byte, wire.MaxFrameSize+1)
	for {
		n, _, err := h.raw.ReadDataChannel(buf)
		if err != nil {
			h.gone()
			return
		}
		select {
		case h.received <- append([]byte(nil), buf[:n]...):
		default: // the test does not keep up; it asked for a flood
		}
	}
}

func (h *Hostile) gone() { h.closeOne.Do(func() { close(h.closed) }) }

// ID returns the hostile peer's id in the swarm.
func (h *Hostile) ID() string { return h.id }

// Closed is closed when the other side closed the connection.
func (h *Hostile) Closed() <-chan struct{} { return h.closed }

// Send sends b as one binary DataChannel message.
func (h *Hostile) Send(b []byte) error {
	_, err := h.raw.WriteDataChannel(b, false)
	return err
}

// SendText sends s as one text DataChannel message.
func (h *Hostile) SendText(s string) error {
	_, err := h.raw.WriteDataChannel([]byte(s), true)
	return err
}

// SendFrame encodes and sends f; it may break the rules DecodeFrame
// checks only through Send.
func (h *Hostile) SendFrame(f wire.Frame) error {
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		return err
	}
	return h.Send(b)
}

// Flood sends msg(0), msg(1), … msg(n-1) as fast as its own channel
// takes them (keeping its buffer under BufferedAmountHigh, so that the
// flood costs the other side, not this process), until n are sent, the
// other side closes or ctx is done. It returns how many it sent.
func (h *Hostile) Flood(ctx context.Context, n int, msg func(i int) []byte) int {
	for i := range n {
		for h.dc.BufferedAmount() > wire.BufferedAmountHigh {
			select {
			case <-h.low:
			case <-h.closed:
				return i
			case <-ctx.Done():
				return i
			}
		}
		select {
		case <-h.closed:
			return i
		default:
		}
		if h.Send(msg(i)) != nil {
			return i
		}
	}
	return n
}

// Next returns the next message received, waiting until ctx is done or
// the other side closed.
func (h *Hostile) Next(ctx context.Context) ([]byte, error) {
	select {
	case b := <-h.received:
		return b, nil
	case <-h.closed:
		select {
		case b := <-h.received:
			return b, nil
		default:
		}
		return nil, errors.New("testpeer: closed by the other side")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close closes the connection and leaves the swarm.
func (h *Hostile) Close() error {
	if h.cancel != nil {
		h.cancel()
	}
	err := h.conn.Close()
	if h.pc != nil {
		_ = h.pc.GracefulClose()
	}
	h.wg.Wait()
	return err
}
