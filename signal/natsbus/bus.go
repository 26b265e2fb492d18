package natsbus

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/wire"
)

// Options are the optional parts of a Bus.
type Options struct {
	// Name labels this node for operators (its host name, a pod name).
	Name string
	// Region is this node's region label: viewers are offered peers of
	// nodes in the same region before others.
	Region string
	// SignalURL is where viewers reach this node's signaling (ws:// or
	// wss://host/swarm): the other nodes list it in their welcomes.
	SignalURL string
	// Log receives the bus's logs; nil discards them.
	Log *slog.Logger
	// Clock tells the time of heartbeats; nil is time.Now. The periods
	// themselves run on the real clock.
	Clock func() time.Time
	// Registerer receives the bus's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// OnNodes, when set, is called with the number of nodes this one
	// sees (itself included) whenever it changes, in order, from the
	// bus's goroutines; it must not block or call the bus.
	OnNodes func(nodes int)
	// DigestStep is how long a node waits per rank before it shares a
	// digest that a node ranked before it may share (digest.go); 0 is
	// 100ms.
	DigestStep time.Duration
}

// Remote is what the bus tells the hub of the other nodes; *signal.Hub
// implements it.
type Remote interface {
	RemoteJoined(node string, near bool, e signal.PeerEvent)
	RemoteLeft(swarm, id string)
	RemoteDigest(swarm string, d wire.SegmentDigest)
}

var (
	_ signal.Cluster = (*Bus)(nil)
	_ Remote         = (*signal.Hub)(nil)
)

// maxQueued bounds the membership events waiting to be published; beyond
// it they are dropped, and the other nodes resynchronize from a snapshot.
const maxQueued = 1 << 16

// Bus is a signal.Cluster over NATS. Create it with New, hand it to
// signal.New as Options.Bus, then Start it with the hub.
type Bus struct {
	cfg  Config
	opt  Options
	log  *slog.Logger
	now  func() time.Time
	id   string
	met  *metrics
	logs rate.Sometimes
	dig  *digests

	boxMu sync.RWMutex
	boxes map[string]signal.Mailbox
	dir   map[string]string // remote peer id -> node id

	// pubMu orders the publication of events and hellos: a hello
	// counts only events already sent.
	pubMu     sync.Mutex
	signalURL string // guarded by pubMu
	// mu guards this node's membership and its queue.
	mu        sync.Mutex
	seq       uint64 // of the latest event
	published uint64 // of the latest event handed to NATS (or dropped)
	mine      map[string]signal.PeerEvent
	swarms    map[string]int
	outq      []signal.PeerEvent
	wake      chan struct{}

	nc     *nats.Conn
	remote Remote
	quit   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool

	// loopMu serializes what other nodes said (their messages, sync
	// answers, expiry), so that membership changes reach the hub in order.
	loopMu sync.Mutex
	nodes  map[string]*nodeState

	urlsMu sync.Mutex
	urls   []string
}

// nodeState is another node as this one knows it. Guarded by loopMu.
type nodeState struct {
	name, region, url string
	swarms, viewers   int // as of its latest hello
	lastSeen          time.Time
	seq               uint64 // of the latest event applied
	peers             map[string]signal.PeerEvent
	syncing           bool
	needSync          bool
	pending           []*peersMsg
}

// New returns a bus that is not connected yet.
func New(cfg Config, opt Options) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("cluster.nats: set url or listen")
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.DigestStep <= 0 {
		opt.DigestStep = digestStep
	}
	reg := opt.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	b := &Bus{
		cfg: cfg, opt: opt, log: opt.Log, now: opt.Clock,
		id:     newNodeID(),
		boxes:  make(map[string]signal.Mailbox),
		dir:    make(map[string]string),
		mine:   make(map[string]signal.PeerEvent),
		swarms: make(map[string]int),
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		nodes:  make(map[string]*nodeState),
		logs:   rate.Sometimes{Interval: time.Second},
		dig:    newDigests(),
	}
	met, err := newMetrics(reg, b)
	if err != nil {
		return nil, fmt.Errorf("cluster: metrics: %w", err)
	}
	b.met = met
	b.signalURL = opt.SignalURL
	b.setURLs()
	return b, nil
}

// ID is this node's id on the bus, new for every process.
func (b *Bus) ID() string { return b.id }

func newNodeID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var r [16]byte
	_, _ = rand.Read(r[:])
	for i := range r {
		r[i] = alphabet[int(r[i])%len(alphabet)]
	}
	return string(r[:])
}

func (b *Bus) subject(parts ...string) string {
	return b.cfg.Subject + "." + strings.Join(parts, ".")
}

// Start connects to the NATS server at url (an external cluster's URLs,
// or the embedded server's ClientURL), subscribes, and starts announcing
// this node. remote is the hub.
func (b *Bus) Start(url string, remote Remote) error {
	b.remote = remote
	opts := []nats.Option{
		nats.Name("edgeswarm " + b.opt.Name),
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		// A relay held through an outage is stale when it arrives; a
		// publish fails at once instead, and membership resynchronizes.
		nats.ReconnectBufSize(-1),
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.met.connected.Set(0)
			b.log.Warn("cluster: bus disconnected; this node goes on alone until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			b.met.connected.Set(1)
			b.log.Info("cluster: bus reconnected", "server", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.logLimited("cluster: bus error", "err", err)
		}),
	}
	switch {
	case b.cfg.Token != "":
		opts = append(opts, nats.Token(b.cfg.Token))
	case b.cfg.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(b.cfg.NKeySeedFile)
		if err != nil {
			return fmt.Errorf("cluster.nats.nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	}
	if b.cfg.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(b.cfg.TLS.CA))
	}
	if b.cfg.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(b.cfg.TLS.Cert, b.cfg.TLS.Key))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("cluster.nats: cannot connect to %s: %w", redact(url), err)
	}
	b.nc = nc
	b.met.connected.Set(1)
	// Broadcasts and deliveries share one channel and one dispatcher, so
	// they are handled in the order they arrived: a relay from a viewer
	// that just joined another node never overtakes that node's
	// announcement of the join (which Deliver publishes first).
	ordered := make(chan *nats.Msg, orderedQueue)
	for _, subj := range []string{b.subject("bc", "*"), b.subject("to", b.id)} {
		if _, err := nc.ChanSubscribe(subj, ordered); err != nil {
			nc.Close()
			return fmt.Errorf("cluster.nats: subscribe %s: %w", subj, err)
		}
	}
	sync, err := nc.Subscribe(b.subject("sync", b.id), b.onSync)
	if err == nil {
		err = sync.SetPendingLimits(1<<16, 64<<20)
	}
	if err != nil {
		nc.Close()
		return fmt.Errorf("cluster.nats: subscribe %s: %w", b.subject("sync", b.id), err)
	}
	if err := nc.Flush(); err != nil {
		nc.Close()
		return fmt.Errorf("cluster.nats: %w", err)
	}
	b.wg.Add(4)
	go b.digestLoop()
	go b.dispatchLoop(ordered)
	go b.publishLoop()
	go b.heartbeatLoop()
	b.hello(false)
	return nil
}

func redact(url string) string {
	var out []string
	for _, u := range splitURLs(url) {
		if scheme, rest, ok := strings.Cut(u, "://"); ok {
			if _, host, ok := strings.Cut(rest, "@"); ok {
				u = scheme + "://***@" + host
			}
		}
		out = append(out, u)
	}
	return strings.Join(out, ",")
}

// Close tells the other nodes this one leaves, then disconnects. The
// other nodes drop its viewers at once instead of after NodeTimeout.
func (b *Bus) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	close(b.quit)
	b.wg.Wait()
	if b.nc == nil {
		return nil
	}
	if !b.nc.IsConnected() {
		// The bus is down: nobody to say goodbye to, nothing to drain.
		b.nc.Close()
		return nil
	}
	b.hello(true)
	err := b.nc.Drain()
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) {
		err = nil
	}
	// Drain returns at once; Close waits for nothing more.
	b.nc.Close()
	return err
}

// Attach implements signal.Bus.
func (b *Bus) Attach(id string, mb signal.Mailbox) func() {
	b.boxMu.Lock()
	b.boxes[id] = mb
	b.boxMu.Unlock()
	return func() {
		b.boxMu.Lock()
		if b.boxes[id] == mb {
			delete(b.boxes, id)
		}
		b.boxMu.Unlock()
	}
}

// Deliver implements signal.Bus: a peer of this node gets m in its
// mailbox, a peer of another node over the bus.
func (b *Bus) Deliver(id string, m wire.Message) bool {
	b.boxMu.RLock()
	mb := b.boxes[id]
	node := b.dir[id]
	b.boxMu.RUnlock()
	if mb != nil {
		mb.Put(m)
		return true
	}
	if node == "" || b.nc == nil {
		return false
	}
	data, err := signal.Encoded(m)
	if err != nil {
		b.logLimited("cluster: message not relayed", "type", m.Type(), "err", err)
		return false
	}
	// The sender's join may still wait in the event queue: published
	// first, it reaches the other node before this relay (one connection
	// keeps the order, and the receiver handles both in order).
	b.flushEvents()
	b.send(b.subject("to", node), kindRelay, encodeDelivery(id, data))
	return true
}

// Announce implements signal.Cluster.
func (b *Bus) Announce(e signal.PeerEvent) {
	b.mu.Lock()
	b.seq++
	if e.Left {
		if _, ok := b.mine[e.ID]; ok {
			delete(b.mine, e.ID)
			if b.swarms[e.Swarm]--; b.swarms[e.Swarm] <= 0 {
				delete(b.swarms, e.Swarm)
			}
		}
	} else {
		b.mine[e.ID] = e
		b.swarms[e.Swarm]++
	}
	if len(b.outq) >= maxQueued {
		// The others will see the gap and ask for a snapshot.
		b.outq = b.outq[:0]
		b.published = b.seq - 1
	}
	b.outq = append(b.outq, e)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// SetSignalURL sets this node's signaling URL (Options.SignalURL) once
// its address is known; the next heartbeat tells the others.
func (b *Bus) SetSignalURL(url string) {
	b.loopMu.Lock()
	b.opt.SignalURL = url
	b.setURLsLocked()
	b.loopMu.Unlock()
	b.pubMu.Lock()
	b.signalURL = url
	b.pubMu.Unlock()
}

// SignalURLs lists the signaling URLs of the nodes this one sees, its
// own first: for signal.Options.SignalURLs.
func (b *Bus) SignalURLs() []string {
	b.urlsMu.Lock()
	defer b.urlsMu.Unlock()
	return b.urls
}

// Nodes returns how many nodes this one sees, itself included.
func (b *Bus) Nodes() int { return int(b.met.nodesN.Load()) + 1 }

func (b *Bus) send(subj, kind string, data []byte) {
	if err := b.nc.Publish(subj, data); err != nil {
		b.met.sendErrors.Inc()
		b.logLimited("cluster: publish failed", "subject", subj, "err", err)
		return
	}
	b.met.sent[kind].Inc()
	b.met.sentBytes.Add(float64(len(data)))
}

func (b *Bus) logLimited(msg string, args ...any) {
	b.logs.Do(func() { b.log.Warn(msg, args...) })
}

// orderedQueue bounds the broadcasts and deliveries received and not yet
// handled; beyond it nats drops them as from a slow consumer.
const orderedQueue = 1 << 16

// dispatchLoop handles broadcasts and deliveries in the order received.
func (b *Bus) dispatchLoop(ch <-chan *nats.Msg) {
	defer b.wg.Done()
	deliveries := b.subject("to", b.id)
	for {
		select {
		case m := <-ch:
			if m.Subject == deliveries {
				b.onDelivery(m)
			} else {
				b.onBroadcast(m)
			}
		case <-b.quit:
			return
		}
	}
}

// publishLoop sends queued membership events in order, batched.
func (b *Bus) publishLoop() {
	defer b.wg.Done()
	for {
		select {
		case <-b.wake:
		case <-b.quit:
			b.flushEvents()
			return
		}
		b.flushEvents()
	}
}

func (b *Bus) flushEvents() {
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	b.mu.Lock()
	q := b.outq
	first := b.published + 1
	b.outq = nil
	b.published = b.seq
	b.mu.Unlock()
	for len(q) > 0 {
		n := min(len(q), maxEvents)
		data, err := json.Marshal(&peersMsg{Node: b.id, First: first, Events: q[:n]})
		if err == nil {
			b.send(b.subject("bc", "peers"), kindPeers, data)
		}
		first += uint64(n)
		q = q[n:]
	}
}

func (b *Bus) heartbeatLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flushEvents()
			b.hello(false)
			b.expire()
		case <-b.quit:
			return
		}
	}
}

// hello publishes this node's presence. The events it counts were
// published before it, on the same connection, so they arrive first.
func (b *Bus) hello(bye bool) {
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	b.mu.Lock()
	h := hello{Node: b.id, Name: b.opt.Name, Region: b.opt.Region, URL: b.signalURL,
		Seq: b.published, Swarms: len(b.swarms), Peers: len(b.mine), Bye: bye}
	b.mu.Unlock()
	data, err := json.Marshal(&h)
	if err != nil {
		return
	}
	b.send(b.subject("bc", "hb"), kindHello, data)
	if bye {
		_ = b.nc.FlushTimeout(time.Second)
	}
}

// onSync answers another node's request for this node's membership as
// of the latest published event: the queued events, which follow, are
// undone (peer ids are unique: a queued join was not there before, a
// queued departure was).
func (b *Bus) onSync(m *nats.Msg) {
	b.met.received[kindSync].Inc()
	b.mu.Lock()
	state := make(map[string]signal.PeerEvent, len(b.mine))
	for id, e := range b.mine {
		state[id] = e
	}
	for _, e := range b.outq {
		if e.Left {
			e.Left = false
			state[e.ID] = e
		} else {
			delete(state, e.ID)
		}
	}
	s := snapshot{Seq: b.published, Peers: make([]signal.PeerEvent, 0, len(state))}
	b.mu.Unlock()
	for _, e := range state {
		s.Peers = append(s.Peers, e)
	}
	data, err := json.Marshal(&s)
	if err != nil {
		return
	}
	if err := m.Respond(data); err == nil {
		b.met.sent[kindSync].Inc()
		b.met.sentBytes.Add(float64(len(data)))
	}
}

func (b *Bus) onDelivery(m *nats.Msg) {
	b.met.received[kindRelay].Inc()
	b.met.receivedBytes.Add(float64(len(m.Data)))
	id, msg, err := decodeDelivery(m.Data)
	if err != nil {
		b.met.invalid.Inc()
		b.logLimited("cluster: bad message from the bus", "err", err)
		return
	}
	b.boxMu.RLock()
	mb := b.boxes[id]
	b.boxMu.RUnlock()
	if mb != nil {
		mb.Put(msg)
	}
}

func (b *Bus) onBroadcast(m *nats.Msg) {
	b.met.receivedBytes.Add(float64(len(m.Data)))
	kind := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	var err error
	switch kind {
	case "hb":
		b.met.received[kindHello].Inc()
		var h *hello
		if h, err = decodeHello(m.Data); err == nil {
			b.onHello(h)
		}
	case "peers":
		b.met.received[kindPeers].Inc()
		var p *peersMsg
		if p, err = decodePeers(m.Data); err == nil {
			b.onPeers(p)
		}
	case "digest":
		b.met.received[kindDigest].Inc()
		var d *digestMsg
		if d, err = decodeDigest(m.Data); err == nil && d.Node != b.id {
			b.heardDigest(d.Swarm, d.Digest.Key)
			b.remote.RemoteDigest(d.Swarm, d.Digest)
		}
	default:
		err = fmt.Errorf("natsbus: unknown subject %q", m.Subject)
	}
	if err != nil {
		b.met.invalid.Inc()
		b.logLimited("cluster: bad message from the bus", "err", err)
	}
}

func (b *Bus) onHello(h *hello) {
	if h.Node == b.id {
		return
	}
	b.loopMu.Lock()
	defer b.loopMu.Unlock()
	st := b.nodes[h.Node]
	if h.Bye {
		if st != nil {
			b.log.Info("cluster: node left", "node", h.Node, "name", h.Name)
			b.removeNodeLocked(h.Node, st)
		}
		return
	}
	if st == nil {
		st = &nodeState{peers: make(map[string]signal.PeerEvent), needSync: true}
		b.nodes[h.Node] = st
		b.nodesChangedLocked()
		b.log.Info("cluster: node joined", "node", h.Node, "name", h.Name, "region", h.Region)
	}
	changed := st.url != h.URL || st.name != h.Name
	st.name, st.region, st.url = h.Name, h.Region, h.URL
	st.swarms, st.viewers = h.Swarms, h.Peers
	st.lastSeen = b.now()
	if changed {
		b.setURLsLocked()
	}
	if !st.syncing && (st.needSync || h.Seq != st.seq) {
		b.startSyncLocked(h.Node, st)
	}
}

func (b *Bus) onPeers(p *peersMsg) {
	if p.Node == b.id {
		return
	}
	b.loopMu.Lock()
	defer b.loopMu.Unlock()
	st := b.nodes[p.Node]
	if st == nil {
		return // its next hello makes it known, with a snapshot
	}
	if st.syncing {
		st.pending = append(st.pending, p)
		return
	}
	b.applyPeersLocked(p.Node, st, p)
}

func (b *Bus) applyPeersLocked(node string, st *nodeState, p *peersMsg) {
	for i, e := range p.Events {
		s := p.First + uint64(i)
		if s <= st.seq {
			continue
		}
		if s != st.seq+1 {
			b.startSyncLocked(node, st)
			return
		}
		st.seq = s
		b.applyLocked(node, st, e)
	}
}

func (b *Bus) applyLocked(node string, st *nodeState, e signal.PeerEvent) {
	if e.Left {
		old, ok := st.peers[e.ID]
		if !ok {
			return
		}
		delete(st.peers, e.ID)
		b.boxMu.Lock()
		delete(b.dir, e.ID)
		b.boxMu.Unlock()
		b.met.remotePeers.Dec()
		b.remote.RemoteLeft(old.Swarm, e.ID)
		return
	}
	if old, ok := st.peers[e.ID]; ok {
		if old == e {
			return
		}
		b.applyLocked(node, st, signal.PeerEvent{Swarm: old.Swarm, ID: e.ID, Left: true})
	}
	st.peers[e.ID] = e
	b.boxMu.Lock()
	b.dir[e.ID] = node
	b.boxMu.Unlock()
	b.met.remotePeers.Inc()
	b.remote.RemoteJoined(node, st.region == b.opt.Region, e)
}

func (b *Bus) startSyncLocked(node string, st *nodeState) {
	st.syncing, st.needSync, st.pending = true, false, nil
	b.met.resyncs.Inc()
	b.met.sent[kindSync].Inc()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		msg, err := b.nc.Request(b.subject("sync", node), nil, 2*time.Second)
		var snap *snapshot
		if err == nil {
			b.met.received[kindSync].Inc()
			b.met.receivedBytes.Add(float64(len(msg.Data)))
			snap, err = decodeSnapshot(msg.Data)
		}
		b.loopMu.Lock()
		defer b.loopMu.Unlock()
		if b.nodes[node] != st {
			return // gone meanwhile
		}
		st.syncing = false
		if err != nil {
			st.needSync = true // at its next hello
			if !b.closed.Load() {
				b.logLimited("cluster: node's membership not fetched", "node", node, "err", err)
			}
			return
		}
		b.applySnapshotLocked(node, st, snap)
	}()
}

func (b *Bus) applySnapshotLocked(node string, st *nodeState, snap *snapshot) {
	want := make(map[string]signal.PeerEvent, len(snap.Peers))
	for _, e := range snap.Peers {
		want[e.ID] = e
	}
	for id, e := range st.peers {
		if w, ok := want[id]; !ok || w != e {
			b.applyLocked(node, st, signal.PeerEvent{Swarm: e.Swarm, ID: id, Left: true})
		}
	}
	for _, e := range snap.Peers {
		b.applyLocked(node, st, e)
	}
	st.seq = snap.Seq
	pending := st.pending
	st.pending = nil
	for _, p := range pending {
		if st.syncing {
			st.pending = append(st.pending, p)
			continue
		}
		b.applyPeersLocked(node, st, p)
	}
}

// expire removes the nodes not heard of for NodeTimeout.
func (b *Bus) expire() {
	b.loopMu.Lock()
	defer b.loopMu.Unlock()
	now := b.now()
	for id, st := range b.nodes {
		if now.Sub(st.lastSeen) > b.cfg.NodeTimeout {
			b.log.Warn("cluster: node gone: no heartbeat", "node", id, "name", st.name, "for", now.Sub(st.lastSeen).Round(time.Millisecond))
			b.removeNodeLocked(id, st)
		}
	}
}

func (b *Bus) removeNodeLocked(id string, st *nodeState) {
	delete(b.nodes, id)
	b.nodesChangedLocked()
	for pid, e := range st.peers {
		b.boxMu.Lock()
		delete(b.dir, pid)
		b.boxMu.Unlock()
		b.met.remotePeers.Dec()
		b.remote.RemoteLeft(e.Swarm, pid)
	}
	st.peers = nil
	b.setURLsLocked()
}

func (b *Bus) nodesChangedLocked() {
	b.met.nodesN.Store(int64(len(b.nodes)))
	if b.opt.OnNodes != nil {
		b.opt.OnNodes(len(b.nodes) + 1)
	}
}

func (b *Bus) setURLs() {
	b.loopMu.Lock()
	defer b.loopMu.Unlock()
	b.setURLsLocked()
}

// setURLsLocked recomputes SignalURLs: this node's first, then the
// others' by name.
func (b *Bus) setURLsLocked() {
	type nu struct{ name, url string }
	var others []nu
	for _, st := range b.nodes {
		if st.url != "" {
			others = append(others, nu{st.name, st.url})
		}
	}
	slices.SortFunc(others, func(a, b nu) int { return strings.Compare(a.name+a.url, b.name+b.url) })
	var urls []string
	if b.opt.SignalURL != "" {
		urls = append(urls, b.opt.SignalURL)
	}
	for _, o := range others {
		if len(urls) == wire.MaxSignalURLs {
			break
		}
		if !slices.Contains(urls, o.url) {
			urls = append(urls, o.url)
		}
	}
	b.urlsMu.Lock()
	b.urls = urls
	b.urlsMu.Unlock()
}
