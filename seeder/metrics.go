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
	for _, c := range []prometheus.Collector{m.peers, m.swarms, m.sent, m.pushes, m.pushBytes, m.requests,
		m.refused, m.budgetNode, m.budgetPeer, m.budgetBps, dropped, stun} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
