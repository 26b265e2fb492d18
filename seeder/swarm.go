package seeder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeswarm/edgeswarm/internal/rtcwire"
	"github.com/edgeswarm/edgeswarm/wire"
)

// clientName is the client software the super-peer announces in join.
const clientName = "edgeswarm-seeder/1"

// maxDigests bounds the digests a swarm remembers (the live window is
// much smaller; VOD swarms forget the oldest).
const maxDigests = 4096

// haveInterval is how often a changed have-map is sent to the viewers
// (the protocol allows at most 4 per second).
const haveInterval = 250 * time.Millisecond

// Reconnection backoff of the signaling connection.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// swarm is the seeder's membership in one swarm: one signaling connection
// (renewed if it drops) and a peer connection per viewer that offered.
type swarm struct {
	s    *Seeder
	name string
	ctx  context.Context
	stop context.CancelFunc
	sent prometheus.Counter
	wg   sync.WaitGroup // peers' goroutines
	push *pushPolicy
	// viewers is the swarm's size as the tracker counts it (SetViewers).
	viewers atomic.Int64

	sendMu sync.Mutex // serializes Send on conn
	conn   Conn

	mu       sync.Mutex
	self     string // our peer id
	config   wire.ClientConfig
	bySeq    map[uint64]wire.SegmentDigest
	byKey    map[string]wire.SegmentDigest
	order    []string        // keys of byKey, oldest first
	verified map[string]bool // keys whose cached bytes match the digest
	peers    map[string]*peer
	haveGen  uint64 // bumped when the set of digests with seq changes
	// viewersHave is closed and replaced whenever a viewer's have-map
	// changes or a viewer goes (lets tests wait for the seeder's view of
	// the swarm).
	viewersHave chan struct{}
}

func newSwarm(s *Seeder, name string) *swarm {
	sw := &swarm{
		s: s, name: name,
		sent:     s.m.sent.WithLabelValues(name),
		push:     newPushPolicy(s.cfg.PushK, s.clock),
		config:   wire.DefaultClientConfig(),
		bySeq:    map[uint64]wire.SegmentDigest{},
		byKey:    map[string]wire.SegmentDigest{},
		verified: map[string]bool{},
		peers:    map[string]*peer{},

		viewersHave: make(chan struct{}),
	}
	sw.push.paused = s.m.pushPaused.Inc
	sw.ctx, sw.stop = context.WithCancel(s.ctx)
	return sw
}

// run keeps the swarm joined until it is stopped, then closes its peers.
func (sw *swarm) run() {
	defer func() {
		sw.closePeers()
		sw.wg.Wait()
		sw.s.m.sent.DeleteLabelValues(sw.name)
	}()
	sw.wg.Add(1)
	go func() {
		defer sw.wg.Done()
		sw.haveLoop()
	}()
	backoff := minBackoff
	for sw.ctx.Err() == nil {
		joined, err := sw.session()
		if sw.ctx.Err() != nil {
			return
		}
		sw.s.log.Warn("seeder: signaling connection ended", "swarm", sw.name, "err", err)
		sw.closePeers() // their relays went with the connection
		if joined {
			backoff = minBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-sw.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session runs one signaling connection: join, then serve messages until
// it fails. joined reports whether the join succeeded.
func (sw *swarm) session() (joined bool, err error) {
	conn, err := sw.s.sig.Connect(sw.ctx)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(sw.ctx, func() { conn.Close() })
	defer stop()
	sw.sendMu.Lock()
	sw.conn = conn
	sw.sendMu.Unlock()
	defer func() {
		sw.sendMu.Lock()
		sw.conn = nil
		sw.sendMu.Unlock()
	}()
	if err := conn.Send(&wire.Join{Swarm: sw.name, Caps: wire.Caps{Upload: true}, Client: clientName}); err != nil {
		return false, fmt.Errorf("join: %w", err)
	}
	for {
		m, err := conn.Recv(sw.ctx)
		if err != nil {
			return joined, err
		}
		switch m := m.(type) {
		case *wire.Welcome:
			sw.mu.Lock()
			sw.self, sw.config = m.PeerID, m.Config
			sw.mu.Unlock()
			joined = true
		case *wire.Digest:
			for _, d := range m.Segments {
				sw.addDigest(d)
			}
		case *wire.Relay:
			sw.relay(m)
		case *wire.PeerLeft:
			sw.mu.Lock()
			p := sw.peers[m.ID]
			sw.mu.Unlock()
			if p != nil {
				p.close("peer left")
			}
		case *wire.Error:
			sw.s.log.Warn("seeder: tracker error", "swarm", sw.name, "code", m.Code, "message", m.Message)
		case *wire.Peers:
			// The super-peer never offers: viewers offer to it.
		}
	}
}

// send sends m on the current signaling connection.
func (sw *swarm) send(m wire.Message) error {
	sw.sendMu.Lock()
	defer sw.sendMu.Unlock()
	if sw.conn == nil {
		return errors.New("not connected")
	}
	return sw.conn.Send(m)
}

// addDigest records d; it reports whether d is new.
func (sw *swarm) addDigest(d wire.SegmentDigest) bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if _, ok := sw.byKey[d.Key]; ok {
		return false // a digest never changes
	}
	sw.byKey[d.Key] = d
	sw.order = append(sw.order, d.Key)
	if d.Seq != nil {
		sw.bySeq[*d.Seq] = d
		sw.haveGen++
	}
	if len(sw.order) > maxDigests {
		old := sw.byKey[sw.order[0]]
		delete(sw.byKey, old.Key)
		delete(sw.verified, old.Key)
		if old.Seq != nil && sw.bySeq[*old.Seq].Key == old.Key {
			delete(sw.bySeq, *old.Seq)
		}
		sw.order = sw.order[1:]
	}
	return true
}

// lookup finds the digest of a requested segment.
func (sw *swarm) lookup(seq uint64, key string) (wire.SegmentDigest, bool) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if key != "" {
		d, ok := sw.byKey[key]
		return d, ok
	}
	d, ok := sw.bySeq[seq]
	return d, ok
}

// segment returns the bytes of d from the source, checked against the
// digest once per key: the seeder never sends what viewers would reject.
func (sw *swarm) segment(ctx context.Context, d wire.SegmentDigest) ([]byte, error) {
	b, err := sw.s.src.Segment(ctx, d.Key)
	if err != nil {
		return nil, err
	}
	sw.mu.Lock()
	ok := sw.verified[d.Key]
	sw.mu.Unlock()
	if ok && uint64(len(b)) == d.Size {
		return b, nil
	}
	sum := sha256.Sum256(b)
	if uint64(len(b)) != d.Size || hex.EncodeToString(sum[:]) != d.SHA256 {
		return nil, fmt.Errorf("segment %s: cached bytes (%d) do not match its digest", d.Key, len(b))
	}
	sw.mu.Lock()
	if _, known := sw.byKey[d.Key]; known {
		sw.verified[d.Key] = true
	}
	sw.mu.Unlock()
	return b, nil
}

// haveMap returns the seeder's have-map: every sequence with a digest in
// the newest MaxHaveBits, and a generation to detect changes.
func (sw *swarm) haveMap() (wire.HaveMap, uint64) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	var top uint64
	n := 0
	for seq := range sw.bySeq {
		top = max(top, seq)
		n++
	}
	if n == 0 {
		return wire.HaveMap{}, sw.haveGen
	}
	base := uint64(0)
	if top >= wire.MaxHaveBits {
		base = top - wire.MaxHaveBits + 1
	}
	h := wire.NewHaveMap(base, int(top-base+1))
	for seq := range sw.bySeq {
		h.Set(seq)
	}
	return h, sw.haveGen
}

// haveLoop sends the have-map to the viewers when it changes, at most
// every haveInterval.
func (sw *swarm) haveLoop() {
	t := time.NewTicker(haveInterval)
	defer t.Stop()
	var sent uint64
	for {
		select {
		case <-sw.ctx.Done():
			return
		case <-t.C:
		}
		sw.mu.Lock()
		gen := sw.haveGen
		sw.mu.Unlock()
		if gen == sent {
			continue
		}
		sent = gen
		h, _ := sw.haveMap()
		for _, p := range sw.peerList() {
			p.sendHave(h)
		}
	}
}

func (sw *swarm) peerList() []*peer {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	ps := make([]*peer, 0, len(sw.peers))
	for _, p := range sw.peers {
		ps = append(ps, p)
	}
	return ps
}

// holders counts the connected viewers other than except that serve
// others and whose latest have-map has seq.
func (sw *swarm) holders(seq uint64, except *peer) int {
	n := 0
	for _, p := range sw.peerList() {
		if p != except && p.servesSeq(seq) {
			n++
		}
	}
	return n
}

// haveChanged wakes the waiters of viewersHave.
func (sw *swarm) haveChanged() {
	sw.mu.Lock()
	close(sw.viewersHave)
	sw.viewersHave = make(chan struct{})
	sw.mu.Unlock()
}

// relay handles an offer or a candidate from a viewer.
func (sw *swarm) relay(m *wire.Relay) {
	sw.mu.Lock()
	p := sw.peers[m.From]
	sw.mu.Unlock()
	switch m.Kind {
	case wire.KindOffer:
		if p != nil {
			p.close("new offer") // a new offer replaces the old connection
		}
		sw.offer(m)
	case wire.KindCandidate:
		if p == nil || p.session != m.Session {
			return // a stale session
		}
		if err := p.pc.AddICECandidate(rtcwire.CandidateInit(m)); err != nil {
			sw.s.log.Debug("seeder: bad candidate", "swarm", sw.name, "peer", m.From, "err", err)
		}
	case wire.KindAnswer:
		// The super-peer never offers, so it expects no answer.
	}
}

// offer answers a viewer's offer with a new peer connection.
func (sw *swarm) offer(m *wire.Relay) {
	s := sw.s
	if s.npeers.Add(1) > int64(s.cfg.MaxPeers) {
		s.npeers.Add(-1)
		s.m.refused.Inc()
		return
	}
	p, err := newPeer(sw, m.From, m.Session, m.SDP)
	if err != nil {
		s.npeers.Add(-1)
		s.log.Debug("seeder: cannot answer offer", "swarm", sw.name, "peer", m.From, "err", err)
		return
	}
	s.m.peers.Inc()
	sw.mu.Lock()
	sw.peers[m.From] = p
	sw.mu.Unlock()
	p.start()
}

// removePeer forgets p once it is closed.
func (sw *swarm) removePeer(p *peer) {
	sw.mu.Lock()
	if sw.peers[p.id] == p {
		delete(sw.peers, p.id)
	}
	// The holders of every segment may have changed.
	close(sw.viewersHave)
	sw.viewersHave = make(chan struct{})
	sw.mu.Unlock()
}

func (sw *swarm) closePeers() {
	for _, p := range sw.peerList() {
		p.close("leaving")
	}
}

// viewersPerPush scales pushing with the swarm: one pushed copy per this
// many connected viewers, at least one, at most push_k. Every pushed copy
// is a seed byte a viewer did not give another viewer: in a swarm of
// three, pushing to two leaves one viewer to serve, and offload drops.
// Viewers spread a segment among themselves fast enough that one pushed
// copy serves a swarm of 20 (the swarm benchmark: two copies cost 4 points
// of offload there and saved no stall).
const viewersPerPush = 32

// pushCount is how many viewers get a new segment pushed.
func pushCount(k, viewers int) int {
	if k == 0 || viewers == 0 {
		return 0
	}
	return min(k, max(1, viewers/viewersPerPush))
}

// policyPushCount is how many of viewers get a push under a policy's
// push fraction: the share rounded up, at least one above 0.
func policyPushCount(frac float64, viewers int) int {
	if !(frac > 0) || viewers == 0 {
		return 0
	}
	return min(viewers, max(1, int(math.Ceil(frac*float64(viewers)))))
}

// newSegment records a new live segment's digest and pushes it.
func (sw *swarm) newSegment(d wire.SegmentDigest) {
	sw.addDigest(d)
	frac, byPolicy := 0.0, false
	if f := sw.s.pushFraction; f != nil {
		frac, byPolicy = f(sw.name)
	}
	if d.Seq == nil || (sw.s.cfg.PushK == 0 && !byPolicy) {
		return
	}
	peers := sw.peerList()
	uploaders := 0
	for _, p := range peers {
		if p.pushable() {
			uploaders++
		}
	}
	// The tracker's count holds the viewers that never connect here;
	// those that do and do not upload are in peers.
	viewers := max(len(peers), int(sw.viewers.Load()))
	n := sw.push.newSegment(d, viewers, uploaders)
	if byPolicy {
		n = policyPushCount(frac, len(peers))
	}
	targets := pickPushTargets(peers, *d.Seq, n, sw.s.clock())
	sw.push.pushed(*d.Seq, targets) // before a copy can land
	for _, p := range targets {
		p.enqueuePush(d)
	}
}

// firstHave is called when a viewer's first have-map after its start-up
// grace arrived (with no grace, its first): a viewer that became ready
// just after a fill gets the live edge pushed when the swarm cannot pass
// it on yet (pushPolicy.catchUp).
func (sw *swarm) firstHave(p *peer) {
	if !p.pushable() {
		return
	}
	peers := sw.peerList()
	holders, uploaders := 0, 0
	seq, ok := sw.push.edgeSeq()
	if !ok || p.has(seq) {
		return
	}
	for _, q := range peers {
		if q == p || !q.pushable() {
			continue
		}
		uploaders++
		if q.has(seq) {
			holders++
		}
	}
	d, ok := sw.push.catchUp(holders, uploaders+1)
	if !ok {
		return
	}
	sw.s.m.catchUps.Inc()
	sw.push.caughtUp(*d.Seq, p)
	p.enqueuePush(d)
}

// heldNow tells the push policy that uploader p (connected for age) has a
// new have-map that holds the
// segment whose spread it follows, when the old one did not.
func (sw *swarm) heldNow(p *peer, old, now wire.HaveMap, serves bool, age time.Duration) {
	if !serves {
		return
	}
	if seq, ok := sw.push.tracked(); ok && !old.Has(seq) && now.Has(seq) {
		sw.push.held(seq)
		sw.push.announced(seq, p, age)
	}
}
