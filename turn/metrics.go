package turn

import "github.com/prometheus/client_golang/prometheus"

// metrics are the relay's Prometheus collectors, created at start.
type metrics struct {
	allocations  prometheus.Gauge
	toPeer       prometheus.Counter // relayed bytes sent to viewers' peers
	toViewer     prometheus.Counter // relayed bytes from peers, sent on to viewers
	dropRate     prometheus.Counter
	dropQuota    prometheus.Counter
	authRefused  prometheus.Counter
	expired      prometheus.Counter
	quotaRefused prometheus.Counter
	peerRefused  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "edgeswarm", "turn"
	relayed := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "relayed_bytes_total",
		Help: "Bytes the TURN relay forwarded, all node egress (viewers count them as relay, never p2p), by direction: to_peer (from a viewer to its peer) or to_viewer."}, []string{"direction"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dropped_bytes_total",
		Help: "Relayed bytes dropped over a viewer's budget, by budget: rate (turn.viewer_bps) or quota (turn.viewer_bytes)."}, []string{"budget"})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "refused_total",
		Help: "TURN requests refused, by reason: auth (a wrong, unknown or expired credential), expired (of auth: the credential's expiry passed), quota (allocations over turn.viewer_allocations or turn.max_allocations) or peer_address (a permission to a private, loopback or multicast peer address; see turn.allow_private_peers)."}, []string{"reason"})
	m := &metrics{
		allocations: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "allocations",
			Help: "TURN allocations held."}),
		toPeer:       relayed.WithLabelValues("to_peer"),
		toViewer:     relayed.WithLabelValues("to_viewer"),
		dropRate:     dropped.WithLabelValues("rate"),
		dropQuota:    dropped.WithLabelValues("quota"),
		authRefused:  refused.WithLabelValues("auth"),
		expired:      refused.WithLabelValues("expired"),
		quotaRefused: refused.WithLabelValues("quota"),
		peerRefused:  refused.WithLabelValues("peer_address"),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.allocations, relayed, dropped, refused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
