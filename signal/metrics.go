package signal

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Disconnect reasons, the label of edgeswarm_signal_disconnects_total.
const (
	reasonClosed      = "closed"       // the client closed the connection
	reasonError       = "error"        // a read or write failed
	reasonPingTimeout = "ping_timeout" // nothing received for ping_interval+pong_timeout
	reasonJoinTimeout = "join_timeout" // no join within join_timeout
	reasonSlow        = "slow"         // the send queue was full
	reasonShutdown    = "going_away"   // the hub closed
)

// fatalReasons are the error codes that close a connection; each is also
// a disconnect reason.
var fatalReasons = []wire.Code{
	wire.CodeBadRequest, wire.CodeUnsupportedVersion, wire.CodeTooLarge,
	wire.CodeTicketInvalid, wire.CodeRateLimited, wire.CodeSwarmFull, wire.CodeInternal,
}

// Report reasons counted by their own label; any other is "other".
var reportReasons = []string{wire.ReasonDigestMismatch, wire.ReasonProtocolError, wire.ReasonUnresponsive, "other"}

// Byte paths of client stats.
var statPaths = []string{"http", "p2p", "seed", "upload", "relay"}

// Why a client's stats report was rejected, the label of
// edgeswarm_signal_reports_rejected_total.
const (
	statsRegression = "regression" // a counter decreased within one join
	statsOverRate   = "over_rate"  // a counter grew faster than stats_max_rate
	statsOverSwarm  = "over_swarm" // more than the swarm's digests could have carried
)

// Verdicts on peer reports, the label of edgeswarm_signal_report_verdicts_total.
const (
	verdictBelieved  = "believed"  // the reported bytes contradict the published digest
	verdictRefuted   = "refuted"   // the reported bytes match the published digest
	verdictUnchecked = "unchecked" // nothing to check against a digest: not counted
	verdictUnlinked  = "unlinked"  // the two peers never connected through the tracker
)

type metrics struct {
	conns       prometheus.Gauge
	peers       prometheus.Gauge
	swarms      prometheus.Gauge
	joins       prometheus.Counter
	relays      prometheus.Counter
	digests     prometheus.Counter
	rejected    map[wire.Code]prometheus.Counter
	disconnects map[string]prometheus.Counter
	reports     map[string]prometheus.Counter
	clientBytes map[string]prometheus.Counter
	// reported is clientBytes by wire.Stats field, looked up once: every
	// stats report adds to them.
	reported    struct{ http, p2p, seed, upload, relay prometheus.Counter }
	digestFails prometheus.Counter
	// statsRejected counts stats reports rejected, by reason.
	statsRejected map[string]prometheus.Counter
	// verdicts counts peer reports by what the digests said of them.
	verdicts map[string]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgeswarm_signal_connections", Help: "Open signaling connections (WebSocket and in-process), joined or not.",
		}),
		peers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgeswarm_signal_peers", Help: "Peers joined to a swarm, super-peers included.",
		}),
		swarms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgeswarm_signal_swarms", Help: "Swarms with at least one peer.",
		}),
		joins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_signal_joins_total", Help: "Successful joins.",
		}),
		relays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_signal_relays_total", Help: "Relays accepted for forwarding between peers of a swarm.",
		}),
		digests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_signal_digests_published_total", Help: "Segment digests published to swarms.",
		}),
		digestFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeswarm_signal_client_digest_failures_total", Help: "Segments clients dropped for a digest mismatch, from their stats.",
		}),
		rejected:      make(map[wire.Code]prometheus.Counter),
		disconnects:   make(map[string]prometheus.Counter),
		reports:       make(map[string]prometheus.Counter),
		clientBytes:   make(map[string]prometheus.Counter),
		statsRejected: make(map[string]prometheus.Counter),
		verdicts:      make(map[string]prometheus.Counter),
	}
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_signal_rejected_joins_total", Help: "Joins refused, by error code.",
	}, []string{"code"})
	for _, c := range []wire.Code{wire.CodeTicketInvalid, wire.CodeSwarmFull, wire.CodeGoingAway} {
		m.rejected[c] = rejected.WithLabelValues(string(c))
	}
	disc := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_signal_disconnects_total", Help: "Closed signaling connections, by reason.",
	}, []string{"reason"})
	for _, r := range []string{reasonClosed, reasonError, reasonPingTimeout, reasonJoinTimeout, reasonSlow, reasonShutdown} {
		m.disconnects[r] = disc.WithLabelValues(r)
	}
	for _, c := range fatalReasons {
		m.disconnects[string(c)] = disc.WithLabelValues(string(c))
	}
	reports := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_signal_reports_total", Help: "Peers reported by other peers, by reason.",
	}, []string{"reason"})
	for _, r := range reportReasons {
		m.reports[r] = reports.WithLabelValues(r)
	}
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_signal_client_bytes_total",
		Help: "Segment bytes clients reported in stats, by path: http, p2p (from viewers), seed (from super-peers), relay (from viewers over TURN), upload.",
	}, []string{"path"})
	for _, p := range statPaths {
		m.clientBytes[p] = bytes.WithLabelValues(p)
	}
	m.reported.http, m.reported.p2p, m.reported.seed = m.clientBytes["http"], m.clientBytes["p2p"], m.clientBytes["seed"]
	m.reported.upload, m.reported.relay = m.clientBytes["upload"], m.clientBytes["relay"]
	statsRej := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_signal_reports_rejected_total",
		Help: "Client stats reports rejected, by reason: regression (a counter decreased), over_rate (grew faster than stats_max_rate), over_swarm (more bytes than the swarm's published segments could carry).",
	}, []string{"reason"})
	for _, r := range []string{statsRegression, statsOverRate, statsOverSwarm} {
		m.statsRejected[r] = statsRej.WithLabelValues(r)
	}
	verdicts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_signal_report_verdicts_total",
		Help: "Peer reports by verdict: believed (the reported bytes contradict the published digest), refuted (they match it), unchecked (nothing to check), unlinked (the peers never connected).",
	}, []string{"verdict"})
	for _, v := range []string{verdictBelieved, verdictRefuted, verdictUnchecked, verdictUnlinked} {
		m.verdicts[v] = verdicts.WithLabelValues(v)
	}
	for _, c := range []prometheus.Collector{m.conns, m.peers, m.swarms, m.joins, m.relays, m.digests, m.digestFails, rejected, disc, reports, bytes, statsRej, verdicts} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) disconnect(reason string) {
	if c := m.disconnects[reason]; c != nil {
		c.Inc()
		return
	}
	m.disconnects[reasonError].Inc()
}

func (m *metrics) report(reason string) {
	if c := m.reports[reason]; c != nil {
		c.Inc()
		return
	}
	m.reports["other"].Inc()
}
