package analytics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Why a beacon was dropped, the label of edgeswarm_telemetry_dropped_total.
const (
	dropTooLarge    = "too_large"    // over wire.MaxBeaconSize
	dropMalformed   = "malformed"    // not a valid stats message with swarm and session
	dropRateLimited = "rate_limited" // over beacons_per_interval for its address
	dropRegression  = "regression"   // a counter decreased within the session
	dropOverRate    = "over_rate"    // grew faster than max_rate, or time faster than the clock
	dropFull        = "full"         // no room for a new session (beacon_sessions)
)

var dropReasons = []string{dropTooLarge, dropMalformed, dropRateLimited, dropRegression, dropOverRate, dropFull}

// secondsBuckets are the bounds of the latency histograms, in seconds.
var secondsBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

type metrics struct {
	reports  [2]prometheus.Counter // by Via
	dropped  map[string]prometheus.Counter
	startup  [nGroups]prometheus.Observer
	stall    [nGroups]prometheus.Observer
	response prometheus.Histogram
	fetch    prometheus.Histogram
}

func newMetrics(a *Analytics, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{dropped: make(map[string]prometheus.Counter)}
	reports := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_telemetry_reports_total",
		Help: "Viewer reports added to the analytics, by how they arrived: signal (stats over signaling, after the tracker's checks) or beacon.",
	}, []string{"via"})
	m.reports[ViaSignal] = reports.WithLabelValues("signal")
	m.reports[ViaBeacon] = reports.WithLabelValues("beacon")
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_telemetry_dropped_total",
		Help: "Beacons dropped, by reason: too_large, malformed, rate_limited, regression, over_rate, full (stats over signaling are counted by edgeswarm_signal_reports_rejected_total).",
	}, []string{"reason"})
	for _, r := range dropReasons {
		m.dropped[r] = dropped.WithLabelValues(r)
	}
	startup := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "edgeswarm_viewer_startup_seconds",
		Help:    "Viewers' start-up time (player load to first frame), by group: p2p, holdback, http.",
		Buckets: []float64{.1, .2, .3, .4, .5, .7, 1, 1.5, 2, 3, 4, 6, 8, 12, 20},
	}, []string{"group"})
	stall := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "edgeswarm_viewer_stall_seconds",
		Help:    "Duration of viewers' stalls (the mean of the stalls of one report, once per stall), by group.",
		Buckets: []float64{.1, .25, .5, 1, 2, 4, 8, 16, 32},
	}, []string{"group"})
	for g, name := range groupNames {
		m.startup[g] = startup.WithLabelValues(name)
		m.stall[g] = stall.WithLabelValues(name)
	}
	m.response = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "edgeswarm_http_response_seconds",
		Help:    "Time from a viewer request to its response headers (a streamed body continues after).",
		Buckets: secondsBuckets,
	})
	m.fetch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "edgeswarm_origin_fetch_seconds",
		Help:    "Time from an origin request to its response headers, failures included.",
		Buckets: secondsBuckets,
	})
	for _, c := range []prometheus.Collector{reports, dropped, startup, stall, m.response, m.fetch, streamCollector{a}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveResponse records the time a viewer request took to its headers.
func (a *Analytics) ObserveResponse(d time.Duration) { a.met.response.Observe(d.Seconds()) }

// ObserveFetch records the time an origin request took to its headers.
func (a *Analytics) ObserveFetch(d time.Duration) { a.met.fetch.Observe(d.Seconds()) }

var (
	descBytes = prometheus.NewDesc("edgeswarm_stream_bytes_total",
		"Segment bytes viewers of a stream reported, by source: http, p2p, seed, relay, and upload (sent to peers). Streams beyond analytics.max_streams add up in stream=\"other\".",
		[]string{"stream", "source"}, nil)
	descViewers = prometheus.NewDesc("edgeswarm_stream_viewers",
		"Viewers of a stream, by group: reports in the last complete 10 s times the report interval.",
		[]string{"stream", "group"}, nil)
	descReports = prometheus.NewDesc("edgeswarm_stream_reports_total",
		"Viewer reports of a stream, by group.", []string{"stream", "group"}, nil)
	descStalls = prometheus.NewDesc("edgeswarm_stream_stalls_total",
		"Stalls viewers of a stream reported, by group.", []string{"stream", "group"}, nil)
	descStallSec = prometheus.NewDesc("edgeswarm_stream_stall_seconds_total",
		"Time viewers of a stream spent stalled, by group.", []string{"stream", "group"}, nil)
	descWatchSec = prometheus.NewDesc("edgeswarm_stream_watch_seconds_total",
		"Time viewers of a stream spent playing, by group: with stall seconds, the rebuffer ratio.", []string{"stream", "group"}, nil)
)

// streamCollector reads the per-stream series at scrape time: their label
// sets are bounded by analytics.max_streams plus "other".
type streamCollector struct{ a *Analytics }

func (c streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBytes, descViewers, descReports, descStalls, descStallSec, descWatchSec} {
		ch <- d
	}
}

func (c streamCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	now := a.now().Unix()
	a.mu.Lock()
	defer a.mu.Unlock()
	list := make([]*series, 0, len(a.order)+1)
	for _, name := range a.order {
		list = append(list, a.streams[name])
	}
	list = append(list, a.other)
	for _, s := range list {
		for i, src := range srcNames {
			ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(s.total.bytes[i]), s.name, src)
		}
		v := a.viewersLocked(s, now)
		for g, name := range groupNames {
			ch <- prometheus.MustNewConstMetric(descViewers, prometheus.GaugeValue, v[g], s.name, name)
			ch <- prometheus.MustNewConstMetric(descReports, prometheus.CounterValue, float64(s.total.reports[g]), s.name, name)
			ch <- prometheus.MustNewConstMetric(descStalls, prometheus.CounterValue, float64(s.total.stalls[g]), s.name, name)
			ch <- prometheus.MustNewConstMetric(descStallSec, prometheus.CounterValue, float64(s.total.stallMs[g])/1000, s.name, name)
			ch <- prometheus.MustNewConstMetric(descWatchSec, prometheus.CounterValue, float64(s.total.watchMs[g])/1000, s.name, name)
		}
	}
}

// ReportsCounter is the counter of reports that arrived by via (tests).
func (a *Analytics) ReportsCounter(via Via) prometheus.Counter { return a.met.reports[via] }
