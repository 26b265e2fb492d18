package natsbus

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of bus messages, the label of the traffic counters.
const (
	kindHello  = "hello"  // presence heartbeats
	kindPeers  = "peers"  // membership events
	kindDigest = "digest" // segment digests
	kindRelay  = "relay"  // messages for one peer (offers, answers, candidates, candidate lists)
	kindSync   = "sync"   // membership snapshots, asked and answered
)

var kinds = []string{kindHello, kindPeers, kindDigest, kindRelay, kindSync}

type metrics struct {
	nodesN        atomic.Int64 // other nodes seen
	connected     prometheus.Gauge
	remotePeers   prometheus.Gauge
	sent          map[string]prometheus.Counter
	received      map[string]prometheus.Counter
	sentBytes     prometheus.Counter
	receivedBytes prometheus.Counter
	sendErrors    prometheus.Counter
	invalid       prometheus.Counter
	resyncs       prometheus.Counter
	// digestsWithheld counts this node's digests not shared because
	// another node shared them first.
	digestsWithheld prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, b *Bus) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgeswarm_cluster_bus_connected", Help: "1 while the node is connected to the NATS bus.",
		}),
		remotePeers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgeswarm_cluster_remote_peers", Help: "Viewers of other nodes this node knows, in all swarms.",
		}),
		sent:     make(map[string]prometheus.Counter),
		received: make(map[string]prometheus.Counter),
		sentBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_cluster_bus_sent_bytes_total", Help: "Payload bytes published on the bus.",
		}),
		receivedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_cluster_bus_received_bytes_total", Help: "Payload bytes received from the bus.",
		}),
		sendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_cluster_bus_send_errors_total", Help: "Publications that failed (the bus was down).",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_cluster_bus_invalid_total", Help: "Messages from the bus dropped as malformed.",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_cluster_resyncs_total", Help: "Membership snapshots asked of other nodes (a node appeared, or events were missed).",
		}),
		digestsWithheld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_cluster_digests_withheld_total", Help: "Digests this node computed and did not share because another node of the cluster shared them first.",
		}),
	}
	nodes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgeswarm_cluster_nodes", Help: "Nodes of the cluster this node sees, itself included.",
	}, func() float64 { return float64(m.nodesN.Load() + 1) })
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_cluster_bus_sent_total", Help: "Messages published on the bus, by kind: hello, peers, digest, relay, sync.",
	}, []string{"kind"})
	recv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_cluster_bus_received_total", Help: "Messages received from the bus, by kind: hello, peers, digest, relay, sync.",
	}, []string{"kind"})
	for _, k := range kinds {
		m.sent[k] = sent.WithLabelValues(k)
		m.received[k] = recv.WithLabelValues(k)
	}
	for _, c := range []prometheus.Collector{nodes, newMemberCollector(b), m.connected, m.remotePeers, sent, recv, m.sentBytes, m.receivedBytes, m.sendErrors, m.invalid, m.resyncs, m.digestsWithheld} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
