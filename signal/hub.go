package signal

import (
	"container/list"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeswarm/edgeswarm/wire"
)

// ErrClosed is returned by a Local whose connection ended, and by Connect
// after the hub was closed.
var ErrClosed = errors.New("signal: connection closed")

// Options are the optional parts of a Hub.
type Options struct {
	// Log receives the hub's logs; nil discards them.
	Log *slog.Logger
	// Clock tells the time for tickets and rate limits; nil is time.Now.
	// Network deadlines (pings, join timeout, writes) use the real clock.
	Clock func() time.Time
	// Registerer receives the hub's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Bus delivers messages to peers; nil is the in-process bus.
	Bus Bus
	// OnSwarm is called whenever the number of viewers (peers that are
	// not super-peers) of a swarm changes, with the new number; 0 means
	// the swarm has no viewers left. Calls come from one goroutine, in
	// order, never while the hub holds a lock; bursts are coalesced, so
	// an intermediate number may be skipped, never the latest.
	OnSwarm func(swarm string, viewers int)
	// OnStats, when set, receives every accepted stats report of a
	// viewer (not of super-peers) with the previous accepted one of the
	// same join (zero after the join). It is called without the hub's
	// lock, from the viewer's connection; prev and cur are the hub's
	// scratch, valid only during the call (it reuses them).
	OnStats func(swarm string, prev, cur *wire.Stats)
	// Policy, optional, decides each viewer's delivery policy (see
	// SetPolicy, which replaces it).
	Policy Policy
	// SignalURLs, when set, lists the signaling URLs of the cluster's
	// nodes for the welcome (wire.ClientConfig.SignalURLs): where a viewer
	// rejoins when its node goes away.
	SignalURLs func() []string
}

// Hub is the tracker: it admits peers into swarms, offers candidates,
// relays WebRTC signals and publishes segment digests. It is safe for
// concurrent use.
type Hub struct {
	cfg     Config
	client  wire.ClientConfig
	log     *slog.Logger
	now     func() time.Time
	bus     Bus
	met     *metrics
	tickets *ticketer // nil when swarms are open
	notify  *notifier // nil without Options.OnSwarm
	onStats func(swarm string, prev, cur *wire.Stats)
	check   websocket.FastHTTPUpgrader
	up      websocket.Upgrader
	// cluster is bus when it spans nodes; nil otherwise.
	cluster Cluster
	urls    func() []string

	// prevStats holds the *wire.Stats copies of previous reports that
	// stats hands to onStats.
	prevStats sync.Pool

	mu       sync.Mutex
	closing  bool
	sessions map[*session]struct{}
	swarms   map[string]*swarm // with members, or idle with digests
	idle     *list.List        // of *swarm without members, least recently used first
	byID     map[string]*member
	viewers  int    // viewers joined on this hub
	active   int    // swarms with members
	policy   Policy // nil: no policy messages (see SetPolicy)
	wg       sync.WaitGroup

	// remote holds, by swarm then id, the viewers of other nodes;
	// guarded by mu.
	remote  map[string]map[string]*remotePeer
	remotes int
	// polls read the WebSocket connections (Config.Pollers), started on
	// first use; nil while none were needed, and where they cannot run.
	pollOnce sync.Once
	polls    *pollers

	// ownICE is how many of client.ICEServers are the node's own (its
	// STUN and TURN), ahead of signal.ice_servers.
	ownICE int
}

// New returns a Hub. client is the configuration sent in every welcome.
func New(cfg Config, client wire.ClientConfig, opt Options) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client.ICEServers = append([]wire.ICEServer(nil), client.ICEServers...)
	own := len(client.ICEServers)
	for _, s := range cfg.ICEServers {
		client.ICEServers = append(client.ICEServers, wire.ICEServer{URLs: slices.Clone(s.URLs), Username: s.Username, Credential: s.Credential})
	}
	if err := client.Validate(); err != nil {
		return nil, fmt.Errorf("signal: client %w", err)
	}
	client.Keys.Rewrites = append([]wire.Rewrite(nil), client.Keys.Rewrites...)
	h := &Hub{
		cfg:      cfg,
		client:   client,
		log:      opt.Log,
		now:      opt.Clock,
		bus:      opt.Bus,
		onStats:  opt.OnStats,
		sessions: make(map[*session]struct{}),
		swarms:   make(map[string]*swarm),
		idle:     list.New(),
		byID:     make(map[string]*member),
		policy:   opt.Policy,
		remote:   make(map[string]map[string]*remotePeer),
		urls:     opt.SignalURLs,
		ownICE:   own,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.bus == nil {
		h.bus = newLocalBus()
	}
	h.cluster, _ = h.bus.(Cluster)
	reg := opt.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	met, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("signal: metrics: %w", err)
	}
	h.met = met
	if !cfg.Open {
		h.tickets = &ticketer{key: []byte(cfg.TicketSecret), ttl: cfg.TicketTTL}
	}
	h.check, h.up = upgraders(cfg.WriteTimeout)
	if opt.OnSwarm != nil {
		h.notify = newNotifier(opt.OnSwarm, h.viewersOf)
		go h.notify.run()
	}
	return h, nil
}

// IssueTicket returns a ticket admitting joins of swarm for TicketTTL, or
// "" when swarms are open. The HTTP front sends it in the Edgeswarm-Ticket
// header of media playlist responses the origin authorized.
func (h *Hub) IssueTicket(swarm string) string {
	if h.tickets == nil {
		return ""
	}
	return h.tickets.issue(swarm, h.now())
}

// PublishDigest stores d in the swarm's window (the DigestsKept most
// recent) and sends it to the swarm's peers. A digest for a key the swarm
// already has is ignored: a digest never changes. Digests of a swarm
// without peers are kept for its first joiners (see Config.IdleSwarms).
func (h *Hub) PublishDigest(swarm string, d wire.SegmentDigest) {
	h.publishDigest(swarm, d, true)
}

// publishDigest is PublishDigest; toCluster sends a new digest to the other
// nodes of a cluster too.
func (h *Hub) publishDigest(swarm string, d wire.SegmentDigest, toCluster bool) {
	if d.Seq != nil {
		seq := *d.Seq
		d.Seq = &seq
	}
	msg, err := share(&wire.Digest{Segments: []wire.SegmentDigest{d}})
	if err == nil {
		_, err = wire.Encode(&wire.Join{Swarm: swarm})
	}
	if err != nil {
		h.log.Warn("signal: digest not published", "swarm", swarm, "key", d.Key, "err", err)
		return
	}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return
	}
	sw := h.swarms[swarm]
	switch {
	case sw == nil && h.cfg.IdleSwarms == 0:
		h.mu.Unlock()
		return
	case sw == nil:
		sw = newSwarm(swarm)
		h.swarms[swarm] = sw
		h.makeIdleLocked(sw)
	case sw.idle != nil:
		h.idle.MoveToBack(sw.idle)
	}
	if !sw.addDigest(d, h.cfg.DigestsKept) {
		h.mu.Unlock()
		return
	}
	ids := memberIDs(sw, nil)
	h.mu.Unlock()
	h.met.digests.Inc()
	for _, id := range ids {
		h.bus.Deliver(id, msg)
	}
	if toCluster && h.cluster != nil {
		h.cluster.ShareDigest(swarm, d)
	}
}

// Close ends every connection with going_away and waits until their
// goroutines returned, or until ctx is done; it then cuts the remaining
// connections and returns ctx's error. New connections are refused.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	all := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		e := wire.Errorf(wire.CodeGoingAway, "the node is shutting down; reconnect")
		e.RetryMs = 1000
		h.end(s, reasonShutdown, e)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		for _, s := range all {
			if s.ws != nil {
				s.cutConn()
			}
		}
		<-done
	}
	if h.notify != nil {
		h.notify.stop()
	}
	h.pollOnce.Do(func() {}) // none start from now on
	if h.polls != nil {
		h.polls.close()
	}
	return err
}

// newSession returns a session; ws is nil for an in-process one.
func (h *Hub) newSession(seeder bool, queue int, ws *websocket.Conn) *session {
	s := &session{
		h:      h,
		seeder: seeder,
		done:   make(chan struct{}),
		joinBy: time.Now().Add(h.cfg.JoinTimeout),
		ws:     ws,
	}
	if ws != nil {
		s.box = &outbox{limit: queue}
	} else {
		s.out = make(chan wire.Message, queue)
	}
	return s
}

// enter adds a connection's goroutine to the wait group that Close waits
// on, unless the hub is closing.
func (h *Hub) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.wg.Add(1)
	return true
}

// register adds s to the hub, unless it is closing.
func (h *Hub) register(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.sessions[s] = struct{}{}
	h.met.conns.Inc()
	return true
}

// fail sends e to the client and closes its connection (a fatal error).
func (h *Hub) fail(s *session, e *wire.Error) { h.end(s, string(e.Code), e) }

// end ends s once: with final, the queue is flushed, final is sent and
// the WebSocket closed with the matching close code; without, the
// connection is cut at once. The peer leaves its swarm.
func (h *Hub) end(s *session, reason string, final *wire.Error) {
	s.endMu.Lock()
	if s.ended {
		s.endMu.Unlock()
		return
	}
	s.ended, s.reason, s.final = true, reason, final
	// The outbox learns first, so that whoever sees done closed also
	// sees a writer running if the final error is to be sent.
	if s.box != nil && s.box.stop(final != nil) {
		go h.writeLoop(s)
	}
	close(s.done)
	s.endMu.Unlock()
	// Counted before the client can see its connection go.
	h.met.disconnect(reason)
	if final == nil && s.ws != nil {
		s.cutConn()
	}
	h.mu.Lock()
	delete(h.sessions, s)
	var r removal
	if s.m != nil {
		r = h.removeLocked(s.m)
	}
	h.met.conns.Dec()
	h.mu.Unlock()
	h.afterRemove(r)
}

// removal is what a departure must tell the swarm.
type removal struct {
	swarm  string
	id     string
	to     []string
	viewer bool
}

// removeLocked takes m out of its swarm; the caller holds h.mu and then
// calls afterRemove without it.
func (h *Hub) removeLocked(m *member) removal {
	sw := m.sw
	h.announceLocked(m, true)
	delete(sw.members, m.id)
	sw.dropAddr(m)
	delete(h.byID, m.id)
	m.s.m = nil
	m.detach()
	if m.seeder {
		if i := indexOf(sw.seeders, m); i >= 0 {
			sw.seeders = append(sw.seeders[:i], sw.seeders[i+1:]...)
		}
	} else {
		sw.viewers--
		h.viewers--
	}
	h.met.peers.Dec()
	r := removal{swarm: sw.name, id: m.id, viewer: !m.seeder}
	if !h.closing {
		// Shutting down, every connection ends with going_away: telling
		// each remaining peer of each departure would cost the square of
		// the swarm's size for nothing.
		r.to = memberIDs(sw, nil)
	}
	if len(sw.members) == 0 {
		h.active--
		h.met.swarms.Set(float64(h.active))
		if len(sw.digests) > 0 && h.cfg.IdleSwarms > 0 {
			h.makeIdleLocked(sw)
		} else {
			delete(h.swarms, sw.name)
		}
	}
	return r
}

func (h *Hub) afterRemove(r removal) {
	if r.id == "" {
		return
	}
	if len(r.to) > 0 {
		msg, err := share(&wire.PeerLeft{ID: r.id})
		if err == nil {
			for _, id := range r.to {
				h.bus.Deliver(id, msg)
			}
		}
	}
	if r.viewer && h.notify != nil {
		h.notify.touch(r.swarm)
	}
}

// makeIdleLocked puts a swarm without members on the idle list, dropping
// the least recently used idle swarms beyond Config.IdleSwarms.
func (h *Hub) makeIdleLocked(sw *swarm) {
	sw.idle = h.idle.PushBack(sw)
	for h.idle.Len() > h.cfg.IdleSwarms {
		old := h.idle.Remove(h.idle.Front()).(*swarm)
		old.idle = nil
		delete(h.swarms, old.name)
	}
}

// Viewers returns how many viewers (not seeders) are in a swarm now.
func (h *Hub) Viewers(swarm string) int { return h.viewersOf(swarm) }

func (h *Hub) viewersOf(swarm string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sw := h.swarms[swarm]; sw != nil {
		return sw.viewers
	}
	return 0
}

// welcomeConfig is the client config for the welcome of peer id: the
// node's, with TURN credentials minted for id in every ICE server that has
// a turn: URL and no fixed credential (see Config.TURNSecret).
func (h *Hub) welcomeConfig(id string) wire.ClientConfig {
	c := h.client
	if h.cfg.TURNSecret == "" {
		return c
	}
	var servers []wire.ICEServer
	for i, s := range c.ICEServers {
		if s.Credential != "" || !slices.ContainsFunc(s.URLs, wire.IsTURNURL) {
			continue
		}
		if servers == nil {
			servers = slices.Clone(c.ICEServers)
		}
		servers[i].Username, servers[i].Credential = wire.TURNCredential([]byte(h.cfg.TURNSecret), id, h.now().Add(h.cfg.TURNTTL))
	}
	if servers != nil {
		c.ICEServers = servers
	}
	return c
}

// join handles a join message.
func (h *Hub) join(s *session, j *wire.Join) {
	h.mu.Lock()
	joined := s.m
	h.mu.Unlock()
	if joined != nil {
		s.reply(wire.Errorf(wire.CodeAlreadyJoined, "already joined %q; leave first", joined.sw.name))
		return
	}
	if !s.seeder && h.tickets != nil {
		if err := h.tickets.verify(j.Ticket, j.Swarm, h.now()); err != nil {
			h.met.rejected[wire.CodeTicketInvalid].Inc()
			h.fail(s, wire.Errorf(wire.CodeTicketInvalid, "%v", err))
			return
		}
	}
	k := h.cfg.MaxCandidates
	h.mu.Lock()
	if s.isEnded() {
		// Ended while the join was handled: end has removed the
		// membership it saw, and would not see this one.
		h.mu.Unlock()
		return
	}
	if fe := h.admitLocked(s, j.Swarm); fe != nil {
		h.mu.Unlock()
		h.met.rejected[fe.Code].Inc()
		h.fail(s, fe)
		return
	}
	sw := h.swarms[j.Swarm]
	if sw == nil {
		sw = newSwarm(j.Swarm)
		h.swarms[j.Swarm] = sw
	}
	if sw.idle != nil {
		h.idle.Remove(sw.idle)
		sw.idle = nil
	}
	if len(sw.members) == 0 {
		h.active++
		h.met.swarms.Set(float64(h.active))
	}
	m := &member{id: h.newIDLocked(), s: s, sw: sw, seeder: s.seeder, source: j.Caps.Upload && !j.Caps.Mobile,
		statsAt: h.now(), availFrom: sw.published - sw.windowBytes, availFromN: sw.publishedN - uint64(len(sw.order))}
	sw.members[m.id] = m
	sw.addAddr(m)
	h.byID[m.id] = m
	s.m = m
	m.detach = h.bus.Attach(m.id, s)
	h.announceLocked(m, false)
	if m.seeder {
		sw.seeders = append(sw.seeders, m)
	} else {
		sw.viewers++
		h.viewers++
	}
	h.met.joins.Inc()
	h.met.peers.Inc()
	pol := h.joinPolicyLocked(m, j.Caps)
	welcome := h.welcomeConfig(m.id)
	welcome.Holdback = m.pol.holdback

	// The answer goes into the queue before anyone else learns the new
	// id, so welcome is always the first message of a join.
	if h.urls != nil {
		welcome.SignalURLs = h.urls()
	}
	ok := s.tryPut(&wire.Welcome{PeerID: m.id, Swarm: sw.name, Config: welcome})
	if pol != nil {
		ok = ok && s.tryPut(pol)
	}
	for _, d := range digestBatches(sw.window()) {
		ok = ok && s.tryPut(d)
	}
	var pushTo []string
	if m.seeder {
		// A super-peer gets no candidates (viewers offer, it answers);
		// it is offered to every viewer.
		pushTo = memberIDs(sw, func(o *member) bool { return !o.seeder })
	} else {
		infos := make([]wire.PeerInfo, 0, len(sw.seeders)+k)
		for _, sd := range sw.seeders {
			infos = append(infos, wire.PeerInfo{ID: sd.id, Seeder: true})
		}
		sources := sw.pickSources(m, k)
		for _, o := range sources {
			infos = append(infos, wire.PeerInfo{ID: o.id})
		}
		// Viewers of other nodes fill what this node's cannot.
		remote := h.pickRemoteLocked(sw.name, k-len(sources))
		for _, r := range remote {
			infos = append(infos, wire.PeerInfo{ID: r.id})
		}
		m.got += len(remote)
		for len(infos) > 0 {
			n := min(len(infos), wire.MaxPeersPerMessage)
			ok = ok && s.tryPut(&wire.Peers{Peers: infos[:n]})
			infos = infos[n:]
		}
		if m.source {
			for _, o := range sw.pickStarved(m, sources, k) {
				pushTo = append(pushTo, o.id)
			}
		}
	}
	s.joinBy = time.Time{}
	s.lastJoin = sw.name
	h.mu.Unlock()

	if !ok {
		h.end(s, reasonSlow, nil)
		return
	}
	if len(pushTo) > 0 {
		msg, err := share(&wire.Peers{Peers: []wire.PeerInfo{{ID: m.id, Seeder: m.seeder}}})
		if err == nil {
			for _, id := range pushTo {
				h.bus.Deliver(id, msg)
			}
		}
	}
	if !m.seeder && h.notify != nil {
		h.notify.touch(sw.name)
	}
}

// admitLocked checks the capacity limits; super-peers are always admitted.
func (h *Hub) admitLocked(s *session, swarm string) *wire.Error {
	switch {
	case h.closing:
		e := wire.Errorf(wire.CodeGoingAway, "the node is shutting down; reconnect")
		e.RetryMs = 1000
		return e
	case s.seeder:
		return nil
	case h.viewers >= h.cfg.MaxPeers:
		e := wire.Errorf(wire.CodeSwarmFull, "this node serves its maximum of %d peers", h.cfg.MaxPeers)
		e.RetryMs = 30000
		return e
	}
	if sw := h.swarms[swarm]; sw != nil && sw.viewers >= h.cfg.MaxSwarmPeers {
		e := wire.Errorf(wire.CodeSwarmFull, "the swarm has its maximum of %d peers", h.cfg.MaxSwarmPeers)
		e.RetryMs = 30000
		return e
	}
	return nil
}

// leave handles a leave message; it reports whether the client was joined.
func (h *Hub) leave(s *session) bool {
	h.mu.Lock()
	m := s.m
	if m == nil {
		h.mu.Unlock()
		s.reply(wire.Errorf(wire.CodeNotJoined, "leave: not joined"))
		return false
	}
	r := h.removeLocked(m)
	h.mu.Unlock()
	h.afterRemove(r)
	return true
}

// notJoined answers a JOINED-only message received in CONNECTED.
func notJoined(s *session, t wire.Type) {
	s.reply(wire.Errorf(wire.CodeNotJoined, "%s: join a swarm first", t))
}

// relay forwards a relay to a peer of the sender's swarm.
func (h *Hub) relay(s *session, r *wire.Relay) {
	h.mu.Lock()
	m := s.m
	if m == nil {
		h.mu.Unlock()
		notJoined(s, r.Type())
		return
	}
	dst := m.sw.members[r.To]
	remote := dst == nil && h.remote[m.sw.name][r.To] != nil
	from, swarm := m.id, m.sw.name
	if dst != nil && dst != m && r.Kind == wire.KindAnswer {
		// An answer means both sides took part in the attempt: from
		// then on either may have sent the other bytes.
		link(m, dst)
	}
	h.mu.Unlock()
	if (dst == nil && !remote) || dst == m {
		s.reply(wire.Errorf(wire.CodeUnknownPeer, "relay: no peer %q in swarm %.64q", r.To, swarm))
		return
	}
	out := *r
	out.To, out.From = "", from
	h.met.relays.Inc()
	if !h.bus.Deliver(r.To, &out) {
		s.reply(wire.Errorf(wire.CodeUnknownPeer, "relay: peer %q left", r.To))
	}
}

// query answers a digest_query with the digests the swarm knows.
func (h *Hub) query(s *session, q *wire.DigestQuery) {
	h.mu.Lock()
	m := s.m
	var found []wire.SegmentDigest
	if m != nil {
		for _, k := range q.Keys {
			if d, ok := m.sw.digests[k]; ok {
				found = append(found, d)
			}
		}
	}
	h.mu.Unlock()
	if m == nil {
		notJoined(s, q.Type())
		return
	}
	for _, b := range digestBatches(found) {
		s.reply(b)
	}
}

// have records how far ahead a peer is.
func (h *Hub) have(s *session, hv *wire.Have) {
	h.mu.Lock()
	m := s.m
	if m != nil {
		m.ahead = 0
		if n := len(hv.Ranges); n > 0 {
			m.ahead = hv.Ranges[n-1].Last
		}
	}
	h.mu.Unlock()
	if m == nil {
		notJoined(s, hv.Type())
	}
}

// stats adds what a client's counters grew by to the hub's metrics. A
// report is a claim: it is rejected, and counted in
// edgeswarm_signal_reports_rejected_total, when a counter decreased, when
// a byte counter grew faster than StatsMaxRate since the last accepted
// report, or when the bytes received from peers exceed StatsSlack times
// what the swarm published since the join (see checkStats).
func (h *Hub) stats(s *session, st *wire.Stats) {
	h.mu.Lock()
	m := s.m
	if m == nil {
		h.mu.Unlock()
		notJoined(s, st.Type())
		return
	}
	now := h.now()
	if reason := h.checkStats(m, st, now); reason != "" {
		h.met.statsRejected[reason].Inc()
		h.mu.Unlock()
		return
	}
	if h.onStats == nil || m.seeder {
		h.acceptStatsLocked(m, st, now)
		h.mu.Unlock()
		return
	}
	// The previous report in a pooled copy, st itself as the current one
	// (st is this message, which the session drops after): no allocation
	// per report.
	prev, _ := h.prevStats.Get().(*wire.Stats)
	if prev == nil {
		prev = new(wire.Stats)
	}
	*prev = m.stats
	swarm := m.sw.name
	h.acceptStatsLocked(m, st, now)
	h.mu.Unlock()
	h.onStats(swarm, prev, st)
	*prev = wire.Stats{}
	h.prevStats.Put(prev)
}

// acceptStatsLocked counts what an accepted report's counters grew by.
func (h *Hub) acceptStatsLocked(m *member, st *wire.Stats, now time.Time) {
	add := func(c prometheus.Counter, now, before uint64) {
		if now > before {
			c.Add(float64(now - before))
		}
	}
	r := &h.met.reported
	add(r.http, st.HTTPBytes, m.stats.HTTPBytes)
	add(r.p2p, st.P2PBytes, m.stats.P2PBytes)
	add(r.seed, st.SeedBytes, m.stats.SeedBytes)
	add(r.upload, st.UploadBytes, m.stats.UploadBytes)
	add(r.relay, st.RelayBytes, m.stats.RelayBytes)
	if st.DigestFailures > m.stats.DigestFailures {
		h.met.digestFails.Add(float64(st.DigestFailures - m.stats.DigestFailures))
	}
	m.stats = *st
	m.statsAt = now
}

// checkStats returns why st cannot be true of m, or "". The caller holds
// h.mu.
func (h *Hub) checkStats(m *member, st *wire.Stats, now time.Time) string {
	old := &m.stats
	if st.HTTPBytes < old.HTTPBytes || st.P2PBytes < old.P2PBytes || st.SeedBytes < old.SeedBytes ||
		st.UploadBytes < old.UploadBytes || st.DigestFailures < old.DigestFailures || st.Aborts < old.Aborts ||
		st.RelayBytes < old.RelayBytes || st.Stalls < old.Stalls || st.StallMs < old.StallMs || st.WatchMs < old.WatchMs ||
		(old.StartupMs != 0 && st.StartupMs != old.StartupMs) || errorsDecreased(&old.Errors, &st.Errors) {
		return statsRegression
	}
	// Growth since the last accepted report, at most StatsMaxRate; one
	// second more covers a report sent right after the join.
	el := max(now.Sub(m.statsAt), 0) + time.Second
	limit := float64(h.cfg.StatsMaxRate) * el.Seconds()
	for _, d := range []uint64{st.HTTPBytes - old.HTTPBytes, st.P2PBytes - old.P2PBytes,
		st.SeedBytes - old.SeedBytes, st.UploadBytes - old.UploadBytes, st.RelayBytes - old.RelayBytes} {
		if float64(d) > limit {
			return statsOverRate
		}
	}
	// Playing and stalled time grow at most as fast as the clock (the
	// join's first report may carry up to one interval of either).
	if d := (st.WatchMs - old.WatchMs) + (st.StallMs - old.StallMs); time.Duration(d)*time.Millisecond > el+time.Duration(h.client.StatsIntervalMs)*time.Millisecond {
		return statsOverRate
	}
	// Verified bytes from peers are segments with a digest: each at most
	// once per join (slack for resumed and re-fetched ones), and each
	// sent to at most max_peers+3 peers.
	slack := h.cfg.StatsSlack
	avail := float64(m.sw.published - m.availFrom)
	availN := float64(m.sw.publishedN - m.availFromN)
	fanout := float64(h.client.MaxPeers + 3)
	switch {
	case float64(st.P2PBytes)+float64(st.SeedBytes)+float64(st.RelayBytes) > slack*avail,
		float64(st.UploadBytes) > slack*avail*fanout,
		float64(st.DigestFailures) > slack*availN*fanout,
		float64(st.Aborts) > slack*availN*fanout:
		return statsOverSwarm
	}
	return ""
}

// report weighs a report that a peer misbehaved. Only a report the
// swarm's digests can check is believed (judge); it then counts once per
// reporting source (reporterKey: a source address, not a peer id, which
// a client mints for free by joining again), weighed by the reporter's
// standing (standing). A peer whose believed reports add up to
// ReportThreshold is no longer offered as a candidate.
func (h *Hub) report(s *session, r *wire.Report) {
	h.mu.Lock()
	m := s.m
	if m == nil {
		h.mu.Unlock()
		notJoined(s, r.Type())
		return
	}
	bad := m.sw.members[r.Peer]
	if bad == nil && h.remote[m.sw.name][r.Peer] != nil {
		// Reports against another node's viewer are that node's to
		// weigh; this one never saw the two connect.
		h.mu.Unlock()
		h.met.report(r.Reason)
		h.met.verdicts[verdictUnlinked].Inc()
		return
	}
	if bad == nil || bad == m {
		h.mu.Unlock()
		s.reply(wire.Errorf(wire.CodeUnknownPeer, "report: no peer %q in the swarm", r.Peer))
		return
	}
	verdict := judge(m, bad, r)
	switch verdict {
	case verdictRefuted:
		s.refuted++
	case verdictBelieved:
		key := s.reporter()
		w := standing(m)
		if bad.reporters == nil {
			bad.reporters = make(map[reporterKey]float64)
		}
		if old, seen := bad.reporters[key]; w > old && (seen || len(bad.reporters) < maxLinks) {
			bad.reporters[key] = w
			bad.score += w - old
		}
		if bad.score >= float64(h.cfg.ReportThreshold) && !bad.banned && !bad.seeder {
			bad.banned = true
			h.log.Info("signal: peer no longer offered after reports", "swarm", bad.sw.name, "peer", bad.id, "reason", r.Reason)
		}
	}
	h.mu.Unlock()
	h.met.report(r.Reason)
	h.met.verdicts[verdict].Inc()
}

// judge says what the swarm's digests make of a report by m against
// bad. The caller holds h.mu.
func judge(m, bad *member, r *wire.Report) string {
	if _, ok := m.linked[bad.id]; !ok {
		return verdictUnlinked
	}
	d, ok := m.sw.digests[r.Key]
	if r.Reason != wire.ReasonDigestMismatch || !ok || (r.SHA256 == "" && r.Size == 0) {
		return verdictUnchecked
	}
	if r.Size != 0 && r.Size != d.Size {
		return verdictBelieved // the peer declared or sent another size
	}
	switch r.SHA256 {
	case "":
		return verdictUnchecked // the right size, and nothing more to check
	case d.SHA256:
		return verdictRefuted // the bytes were the right ones
	}
	return verdictBelieved
}

// standing is the weight of a report by m: 1 in good standing, less the
// more m's connection was refuted and the more m is itself reported.
func standing(m *member) float64 {
	return 1 / (1 + float64(m.s.refuted) + m.score)
}

// peerIDAlphabet is the alphabet of server-assigned peer ids.
const peerIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// peerIDLen: 10 random characters, about 59 bits, unguessable and unique
// in practice across nodes sharing swarms.
const peerIDLen = 10

func (h *Hub) newIDLocked() string {
	var b [peerIDLen]byte
	for {
		_, _ = rand.Read(b[:])
		for i := range b {
			b[i] = peerIDAlphabet[int(b[i])%len(peerIDAlphabet)]
		}
		if id := string(b[:]); h.byID[id] == nil {
			return id
		}
	}
}

// memberIDs lists the ids of sw's members that keep accepts (all if nil).
func memberIDs(sw *swarm, keep func(*member) bool) []string {
	ids := make([]string, 0, len(sw.members))
	for id, m := range sw.members {
		if keep == nil || keep(m) {
			ids = append(ids, id)
		}
	}
	return ids
}

func indexOf(ms []*member, m *member) int {
	for i, o := range ms {
		if o == m {
			return i
		}
	}
	return -1
}

func errorsDecreased(old, cur *wire.ErrorCounts) bool {
	return cur.HTTP < old.HTTP || cur.Peer < old.Peer || cur.Signal < old.Signal || cur.Media < old.Media || cur.Other < old.Other
}
