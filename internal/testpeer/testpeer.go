package testpeer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Conn is a signaling connection: the client end of the tracker's
// protocol, one wire.Message at a time.
type Conn interface {
	Send(m wire.Message) error
	Recv(ctx context.Context) (wire.Message, error)
	Close() error
}

// Options configure a Peer.
type Options struct {
	// API builds the peer connections; nil means a UDP mux of the peer's
	// own on 127.0.0.1 with large socket buffers (see MuxAPI).
	API *webrtc.API
	// Upload is the join capability, and Serves the hello flag: the peer
	// answers requests from what it holds.
	Upload bool
	// AcceptPush sets the hello flag that lets the other side push.
	AcceptPush bool
	// OnlySeeders: offer only to peers listed with the seeder mark.
	OnlySeeders bool
	// Ticket is sent in join.
	Ticket string
	// ICEServers makes every connection use the welcome's ice_servers
	// (the node's STUN and TURN, minted credentials), as a browser does.
	ICEServers bool
	// RelayOnly makes every connection use relay candidates only
	// (ICETransportPolicy relay, with the welcome's ice_servers): all its
	// bytes go through a TURN relay.
	RelayOnly bool
	// ExtraICEServers (STUN, TURN) are used by every peer connection
	// beside the welcome's (ICEServers). None by default.
	ExtraICEServers []webrtc.ICEServer
}

// Errors of Fetch.
var (
	ErrBusy   = errors.New("testpeer: peer answered busy")
	ErrAbsent = errors.New("testpeer: peer answered absent")
)

// Stats are a peer's counters, like a browser's stats message.
type Stats struct {
	SeedBytes, P2PBytes int64 // verified bytes by source
	Pushed              int   // segments received by push and verified
	Requested           int   // segments received by request and verified
	UploadBytes         int64 // segment bytes served to others
	DigestFailures      int

	// RelayBytes: verified bytes from viewers over a connection whose
	// selected candidate pair has a relay candidate (not in P2PBytes).
	RelayBytes int64
}

// LoopbackAPI returns a pion API for tests: loopback candidates only (the
// interface lo), no mDNS, no STUN, the given network types (udp4 when
// none).
func LoopbackAPI(types ...webrtc.NetworkType) *webrtc.API {
	if len(types) == 0 {
		types = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes(types)
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// MuxAPI returns a pion API whose connections share one UDP socket on
// 127.0.0.1 (ICE UDP mux) with 4 MiB socket buffers, so that many test
// peers in one process do not drop packets under load; close the
// returned closer after the last connection closed.
func MuxAPI() (*webrtc.API, io.Closer, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, nil, err
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled // teardown races log "closed pipe"
	mux := webrtc.NewICEUDPMux(quiet.NewLogger("ice"), c)
	se.SetICEUDPMux(mux)
	return webrtc.NewAPI(webrtc.WithSettingEngine(se)), mux, nil
}

// segment is a held, verified segment.
type segment struct {
	d    wire.SegmentDigest
	data []byte
}

// Peer is one viewer in one swarm.
type Peer struct {
	mux    io.Closer // the default API's UDP mux, closed last
	conn   Conn
	opt    Options
	swarm  string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sendMu sync.Mutex

	mu       sync.Mutex
	id       string
	config   wire.ClientConfig
	bySeq    map[uint64]wire.SegmentDigest
	byKey    map[string]wire.SegmentDigest
	held     map[string]*segment // by key
	seeders  map[string]bool
	conns    map[string]*link
	infos    map[string]*LinkInfo // every connection's record, by peer (Links)
	changed  chan struct{}        // closed and replaced on every state change
	stats    Stats
	err      error // first protocol error seen
	sessions int
	// kept holds bytes handed to Keep before their digest arrived.
	kept map[uint64][]byte
}

// Join sends join on conn and waits for welcome. The peer then runs until
// Close: it offers to listed peers, relays candidates and keeps digests.
func Join(ctx context.Context, conn Conn, swarmName string, opt Options) (*Peer, error) {
	var mux io.Closer
	if opt.API == nil {
		var err error
		if opt.API, mux, err = MuxAPI(); err != nil {
			return nil, err
		}
	}
	p := &Peer{mux: mux,
		conn: conn, opt: opt, swarm: swarmName,
		bySeq: map[uint64]wire.SegmentDigest{}, byKey: map[string]wire.SegmentDigest{},
		held: map[string]*segment{}, seeders: map[string]bool{}, conns: map[string]*link{}, infos: map[string]*LinkInfo{},
		changed: make(chan struct{}), kept: map[uint64][]byte{},
	}
	closeMux := func() {
		if mux != nil {
			mux.Close()
		}
	}
	if err := conn.Send(&wire.Join{Swarm: swarmName, Ticket: opt.Ticket, Caps: wire.Caps{Upload: opt.Upload}, Client: "edgeswarm-testpeer/1"}); err != nil {
		closeMux()
		return nil, err
	}
	for {
		m, err := conn.Recv(ctx)
		if err != nil {
			closeMux()
			return nil, fmt.Errorf("testpeer: waiting for welcome: %w", err)
		}
		if e, ok := m.(*wire.Error); ok {
			closeMux()
			return nil, fmt.Errorf("testpeer: join: %w", e)
		}
		if w, ok := m.(*wire.Welcome); ok {
			p.id, p.config = w.PeerID, w.Config
			break
		}
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.signalLoop()
	}()
	return p, nil
}

// ID returns the peer id the tracker assigned.
func (p *Peer) ID() string { return p.id }

// Config returns the client configuration of the welcome.
func (p *Peer) Config() wire.ClientConfig {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.config
}

// Stats returns the counters.
func (p *Peer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Err returns the first protocol error the peer saw, if any.
func (p *Peer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close leaves the swarm and closes every connection.
func (p *Peer) Close() error {
	p.cancel()
	err := p.conn.Close()
	p.mu.Lock()
	links := make([]*link, 0, len(p.conns))
	for _, l := range p.conns {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
	p.wg.Wait()
	if p.mux != nil {
		p.mux.Close()
	}
	return err
}

// notify wakes every waiter; the caller holds p.mu.
func (p *Peer) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitFor calls cond under p.mu until it returns true, ctx ends or the
// peer closes.
func (p *Peer) waitFor(ctx context.Context, cond func() bool) error {
	for {
		p.mu.Lock()
		ok, ch := cond(), p.changed
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-p.ctx.Done():
			return errors.New("testpeer: closed")
		}
	}
}

func (p *Peer) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.notify()
	p.mu.Unlock()
}

func (p *Peer) send(m wire.Message) error {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	return p.conn.Send(m)
}

func (p *Peer) signalLoop() {
	for {
		m, err := p.conn.Recv(p.ctx)
		if err != nil {
			return
		}
		switch m := m.(type) {
		case *wire.Digest:
			p.mu.Lock()
			for _, d := range m.Segments {
				p.byKey[d.Key] = d
				if d.Seq != nil {
					p.bySeq[*d.Seq] = d
				}
			}
			kept := p.keptNowKnown()
			p.notify()
			p.mu.Unlock()
			p.verifyPending()
			if kept {
				p.broadcastHave()
			}
		case *wire.Peers:
			for _, info := range m.Peers {
				p.mu.Lock()
				if info.Seeder {
					p.seeders[info.ID] = true
				}
				_, known := p.conns[info.ID]
				p.mu.Unlock()
				if !known && (!p.opt.OnlySeeders || info.Seeder) {
					p.offer(info.ID)
				}
			}
		case *wire.Relay:
			p.mu.Lock()
			l := p.conns[m.From]
			p.mu.Unlock()
			switch {
			case l != nil && l.session == m.Session:
				l.signal(m)
			case l == nil && m.Kind == wire.KindOffer && p.opt.Upload:
				p.answer(m.From, m.Session, m.SDP)
			}
		case *wire.PeerLeft:
			p.mu.Lock()
			l := p.conns[m.ID]
			p.mu.Unlock()
			if l != nil {
				l.close()
			}
		}
	}
}

// offer opens a connection to id.
func (p *Peer) offer(id string) {
	p.mu.Lock()
	p.sessions++
	session := "t" + strconv.Itoa(p.sessions)
	p.mu.Unlock()
	l, err := newLink(p, id, session, true)
	if err != nil {
		p.fail(fmt.Errorf("offer to %s: %w", id, err))
		return
	}
	p.attempted(id, true)
	p.mu.Lock()
	p.conns[id] = l
	p.mu.Unlock()
	if err := l.start(); err != nil {
		p.fail(fmt.Errorf("offer to %s: %w", id, err))
		l.close()
	}
}

// answer accepts a connection that id offers.
func (p *Peer) answer(id, session, sdp string) {
	l, err := newLink(p, id, session, false)
	if err != nil {
		p.fail(fmt.Errorf("answer to %s: %w", id, err))
		return
	}
	p.attempted(id, false)
	p.mu.Lock()
	p.conns[id] = l
	p.mu.Unlock()
	if err := l.answer(sdp); err != nil {
		p.fail(fmt.Errorf("answer to %s: %w", id, err))
		l.close()
	}
}

// WaitReady waits until the connection to a peer (a seeder when id is "")
// has exchanged hellos, and returns that peer's id.
func (p *Peer) WaitReady(ctx context.Context, id string) (string, error) {
	var got string
	err := p.waitFor(ctx, func() bool {
		for pid, l := range p.conns {
			if (pid == id || (id == "" && p.seeders[pid])) && l.isReady() {
				got = pid
				return true
			}
		}
		return false
	})
	return got, err
}

// WaitClosed waits until the peer has no connection to id.
func (p *Peer) WaitClosed(ctx context.Context, id string) error {
	return p.waitFor(ctx, func() bool {
		_, ok := p.conns[id]
		return !ok
	})
}

// Digest waits for the digest of seq.
func (p *Peer) Digest(ctx context.Context, seq uint64) (wire.SegmentDigest, error) {
	var d wire.SegmentDigest
	err := p.waitFor(ctx, func() bool {
		var ok bool
		d, ok = p.bySeq[seq]
		return ok
	})
	return d, err
}

// Segment waits until the peer holds segment seq, verified (by push or
// any fetch), and returns its bytes.
func (p *Peer) Segment(ctx context.Context, seq uint64) ([]byte, error) {
	var b []byte
	err := p.waitFor(ctx, func() bool {
		d, ok := p.bySeq[seq]
		if !ok {
			return false
		}
		s := p.held[d.Key]
		if s != nil {
			b = s.data
		}
		return s != nil
	})
	return b, err
}

// Holders lists the peers over ready connections whose last have-map
// holds segment seq, for Fetch.
func (p *Peer) Holders(seq uint64) []string {
	p.mu.Lock()
	links := make([]*link, 0, len(p.conns))
	for _, l := range p.conns {
		links = append(links, l)
	}
	p.mu.Unlock()
	var ids []string
	for _, l := range links {
		l.mu.Lock()
		if l.ready && l.theirHave.Has(seq) {
			ids = append(ids, l.id)
		}
		l.mu.Unlock()
	}
	return ids
}

// IsSeeder reports whether the tracker listed peer id as a seeder (the
// node's super-peer), which the reference client never requests from.
func (p *Peer) IsSeeder(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seeders[id]
}

// KnowsDigest reports whether the tracker published the digest of seq.
func (p *Peer) KnowsDigest(seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.bySeq[seq]
	return ok
}

// Holds reports whether the peer holds segment seq.
func (p *Peer) Holds(seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.bySeq[seq]
	return ok && p.held[d.Key] != nil
}

// Fetch requests segment seq from peer id over their connection and
// returns its verified bytes. Busy and absent answers are ErrBusy and
// ErrAbsent.
func (p *Peer) Fetch(ctx context.Context, id string, seq uint64) ([]byte, error) {
	d, err := p.Digest(ctx, seq)
	if err != nil {
		return nil, err
	}
	return p.fetch(ctx, id, d, wire.Frame{Type: wire.FrameRequest, Seq: seq})
}

// FetchKey requests a segment by content key (its digest must be known).
func (p *Peer) FetchKey(ctx context.Context, id, key string) ([]byte, error) {
	var d wire.SegmentDigest
	if err := p.waitFor(ctx, func() bool {
		var ok bool
		d, ok = p.byKey[key]
		return ok
	}); err != nil {
		return nil, err
	}
	return p.fetch(ctx, id, d, wire.Frame{Type: wire.FrameRequest, Key: key})
}

func (p *Peer) fetch(ctx context.Context, id string, d wire.SegmentDigest, req wire.Frame) ([]byte, error) {
	p.mu.Lock()
	l := p.conns[id]
	p.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("testpeer: no connection to %s", id)
	}
	t, err := l.request(req, d)
	if err != nil {
		return nil, err
	}
	select {
	case <-t.result:
	case <-ctx.Done():
		l.cancel(t)
		p.requested(id, ctx.Err())
		return nil, ctx.Err()
	case <-l.ctx.Done():
		err := fmt.Errorf("testpeer: connection to %s closed", id)
		p.requested(id, err)
		return nil, err
	}
	p.requested(id, t.err)
	if t.err != nil {
		return nil, t.err
	}
	return t.buf, nil
}

// verify checks bytes received from peer from against their digest and
// keeps them. It reports whether they matched.
func (p *Peer) verify(from string, d wire.SegmentDigest, b []byte, pushed bool) bool {
	sum := sha256.Sum256(b)
	ok := uint64(len(b)) == d.Size && hex.EncodeToString(sum[:]) == d.SHA256
	p.mu.Lock()
	l := p.conns[from]
	p.mu.Unlock()
	relayed := l != nil && l.relayed()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ok {
		p.stats.DigestFailures++
		return false
	}
	if p.held[d.Key] == nil {
		p.held[d.Key] = &segment{d: d, data: b}
		p.infoLocked(from).Bytes += int64(len(b))
		switch {
		case p.seeders[from]:
			p.stats.SeedBytes += int64(len(b))
		case relayed:
			p.stats.RelayBytes += int64(len(b))
		default:
			p.stats.P2PBytes += int64(len(b))
		}
		if pushed {
			p.stats.Pushed++
		} else {
			p.stats.Requested++
		}
	}
	p.notify()
	return true
}

// verifyPending verifies pushed segments that arrived before their digest.
func (p *Peer) verifyPending() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.conns))
	for _, l := range p.conns {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.verifyPending()
	}
}

// haveMap is the peer's have-map over the sequences it knows digests of.
func (p *Peer) haveMap() wire.HaveMap {
	p.mu.Lock()
	defer p.mu.Unlock()
	var seqs []uint64
	for _, s := range p.held {
		if s.d.Seq != nil {
			seqs = append(seqs, *s.d.Seq)
		}
	}
	if len(seqs) == 0 {
		return wire.HaveMap{}
	}
	slices.Sort(seqs)
	top := seqs[len(seqs)-1]
	base := seqs[0]
	if top-base >= wire.MaxHaveBits {
		base = top - wire.MaxHaveBits + 1
	}
	h := wire.NewHaveMap(base, int(top-base+1))
	for _, s := range seqs {
		h.Set(s)
	}
	return h
}

// lookup finds a held segment for a request.
func (p *Peer) lookup(f wire.Frame) *segment {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := f.Key
	if key == "" {
		d, ok := p.bySeq[f.Seq]
		if !ok {
			return nil
		}
		key = d.Key
	}
	return p.held[key]
}

func (p *Peer) addUpload(n int) {
	p.mu.Lock()
	p.stats.UploadBytes += int64(n)
	p.mu.Unlock()
}

// counter hands out request ids.
type counter struct{ n atomic.Uint32 }

func (c *counter) next() uint32 { return c.n.Add(1) }

// Forget drops the held segments below sequence seq, as a player's buffer
// lets go of what it has played, so that a long-running viewer stays
// bounded (digests, a few bytes each, are kept). It stops offering them.
func (p *Peer) Forget(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s, d := range p.bySeq {
		if s < seq {
			delete(p.held, d.Key)
		}
	}
	for s := range p.kept {
		if s < seq {
			delete(p.kept, s)
		}
	}
}

// maxKept bounds the segments Keep holds while their digest is unknown.
const maxKept = 8

// Keep holds segment seq, got elsewhere (over HTTP, as a player's loader
// does), so that the peer serves it to others once it matches the
// segment's digest: at once when the digest is known, else when it
// arrives. Its bytes are counted in no source. It reports whether the
// segment is held now.
func (p *Peer) Keep(seq uint64, b []byte) bool {
	p.mu.Lock()
	d, ok := p.bySeq[seq]
	if !ok {
		if len(p.kept) < maxKept {
			p.kept[seq] = b
		}
		p.mu.Unlock()
		return false
	}
	held := p.keepLocked(d, b)
	p.mu.Unlock()
	if held {
		p.broadcastHave()
	}
	return held
}

// keepLocked holds b as d if it matches and is not held yet; the caller
// holds p.mu.
func (p *Peer) keepLocked(d wire.SegmentDigest, b []byte) bool {
	if p.held[d.Key] != nil {
		return false
	}
	sum := sha256.Sum256(b)
	if uint64(len(b)) != d.Size || hex.EncodeToString(sum[:]) != d.SHA256 {
		p.stats.DigestFailures++
		return false
	}
	p.held[d.Key] = &segment{d: d, data: b}
	p.notify()
	return true
}

// keptNowKnown holds the kept segments whose digest arrived; the caller
// holds p.mu. It reports whether one was held.
func (p *Peer) keptNowKnown() bool {
	any := false
	for seq, b := range p.kept {
		if d, ok := p.bySeq[seq]; ok {
			delete(p.kept, seq)
			any = p.keepLocked(d, b) || any
		}
	}
	return any
}
