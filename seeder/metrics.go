package seeder

import "github.com/prometheus/client_golang/prometheus"

// metrics are the seeder's Prometheus collectors. Label sets that are
// known at start are created then; the per-swarm byte counters come and go
// with the swarms.
type metrics struct {
	peers      prometheus.Gauge
	swarms     prometheus.Gauge
	sent       *prometheus.CounterVec // by swarm: segment bytes sent, all "seed"
	pushes     prometheus.Counter
	pushBytes  prometheus.Counter
	catchUps   prometheus.Counter     // pushes of the live edge to a viewer that arrived late
	pushPaused prometheus.Counter     // new segments left unpushed: pushed copies landed late
	requests   *prometheus.CounterVec // by result
	served     prometheus.Counter
	absent     prometheus.Counter
	busy       prometheus.Counter
	busyHeld   prometheus.Counter // busy because enough viewers hold it
	refused    prometheus.Counter // offers ignored at max_peers
	budgetNode prometheus.Counter // seconds waited for the node budget
	budgetPeer prometheus.Counter // seconds waited for a peer budget
	budgetBps  *prometheus.GaugeVec
	dropped    map[string]prometheus.Counter // viewers dropped, by reason
	stun       stunMetrics
}

func newMetrics(reg prometheus.Registerer, cfg Config) (*metrics, error) {
	const ns, sub = "edgeswarm", "seeder"
	m := &metrics{
		peers: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "peer_connections",
			Help: "WebRTC peer connections the super-peer holds."}),
		swarms: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "swarms",
			Help: "Swarms the super-peer has joined."}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "sent_bytes_total",
			Help: "Segment bytes the super-peer sent over DataChannels (viewers count them as seed), by swarm."}, []string{"swarm"}),
		pushes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "pushes_total",
			Help: "Segments pushed to viewers unrequested."}),
		pushBytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "push_bytes_total",
			Help: "Segment bytes sent in pushes (included in sent_bytes_total)."}),
		catchUps: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "catchup_pushes_total",
			Help: "Pushes of the live edge to a viewer that became ready after the segment's own pushes, while the swarm held too few copies to pass it on (included in pushes_total once sent)."}),
		pushPaused: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "push_paused_segments_total",
			Help: "New live segments the super-peer did not push because the copies it pushed landed after other viewers already held them (viewers fetching the live edge over HTTP at once, very close to live)."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Segment requests from viewers, by answer: served, absent, busy (too many in flight) or busy_held (enough viewers hold it)."}, []string{"result"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "offers_refused_total",
			Help: "Offers ignored because max_peers connections were held."}),
		budgetNode: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "budget_wait_seconds_total",
			Help: "Time senders waited for upload budget.", ConstLabels: prometheus.Labels{"scope": "node"}}),
		budgetPeer: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "budget_wait_seconds_total",
			Help: "Time senders waited for upload budget.", ConstLabels: prometheus.Labels{"scope": "peer"}}),
		budgetBps: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "upload_budget_bytes_per_second",
			Help: "Configured upload budget (0: unlimited); compare with rate(sent_bytes_total)."}, []string{"scope"}),
	}
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "peers_dropped_total",
		Help: "Viewer connections the super-peer closed for misbehaving, by reason: protocol_error, not_reading (its buffer stopped draining), no_hello."}, []string{"reason"})
	m.dropped = make(map[string]prometheus.Counter)
	for _, r := range []string{dropProtocol, dropNotReading, dropNoHello} {
		m.dropped[r] = dropped.WithLabelValues(r)
	}
	stun := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "stun_requests_total",
		Help: "Packets on the built-in STUN server's socket (seeder.stun_listen), by result: answered (Binding requests without USERNAME), rate_limited (over the per-source budget, dropped), malformed (broken STUN framing, dropped) or ignored (anything else, dropped)."}, []string{"result"})
	m.stun = stunMetrics{answered: stun.WithLabelValues(stunAnswered), limited: stun.WithLabelValues(stunRateLimited), malformed: stun.WithLabelValues(stunMalformed), ignored: stun.WithLabelValues(stunIgnored)}
	m.served = m.requests.WithLabelValues("served")
	m.absent = m.requests.WithLabelValues("absent")
	m.busy = m.requests.WithLabelValues("busy")
	m.busyHeld = m.requests.WithLabelValues("busy_held")
	m.budgetBps.WithLabelValues("node").Set(float64(cfg.NodeUploadBps))
	m.budgetBps.WithLabelValues("peer").Set(float64(cfg.PeerUploadBps))
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.peers, m.swarms, m.sent, m.pushes, m.pushBytes, m.catchUps, m.pushPaused, m.requests,
		m.refused, m.budgetNode, m.budgetPeer, m.budgetBps, dropped, stun} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// registerBatchMetrics exposes the batched UDP sends of the ICE mux: the
// datagrams sent and the system calls they took (their ratio is the
// batching the kernel got).
func registerBatchMetrics(reg prometheus.Registerer, b *batchConn) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "edgeswarm", Subsystem: "seeder", Name: "udp_datagrams_total",
			Help: "UDP datagrams the super-peer sent on its ICE UDP port with batched sends (seeder.udp_gso)."},
			func() float64 { return float64(b.datagrams.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "edgeswarm", Subsystem: "seeder", Name: "udp_send_calls_total",
			Help: "System calls that sent them: fewer than the datagrams where UDP GSO joined runs to one viewer."},
			func() float64 { return float64(b.calls.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
