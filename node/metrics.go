package node

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgeswarm/edgeswarm/cache"
)

// metrics are the node's Prometheus series, registered on the node's own
// registry (never the global one) so several nodes fit in one process.
type metrics struct {
	reg *prometheus.Registry

	httpReqs   *prometheus.CounterVec
	httpByCode [numProtos][600]atomic.Pointer[prometheus.Counter]
	cacheReq   [3]prometheus.Counter // by cache.Result
	originReqs prometheus.Counter
	originErrs prometheus.Counter
	bytesSent  prometheus.Counter

	refusedPerIP  prometheus.Counter // public connections over max_conns_per_ip
	refusedFDs    prometheus.Counter // public connections refused near the fd limit
	shed          prometheus.Counter // idle connections closed to free fds
	acceptRetries prometheus.Counter // accepts that failed and were retried
}

func newMetrics(c func() cache.Stats) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.httpReqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_http_requests_total",
		Help: "Viewer HTTP requests answered, by status code and protocol (h1, h2, h3).",
	}, []string{"code", "proto"})
	cacheReqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_cache_requests_total",
		Help: "Proxied requests by cache result (hit, miss, stale).",
	}, []string{"result"})
	for _, r := range []cache.Result{cache.Hit, cache.Miss, cache.Stale} {
		m.cacheReq[r] = cacheReqs.WithLabelValues(r.String())
	}
	m.originReqs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgeswarm_origin_requests_total",
		Help: "Requests sent to origins.",
	})
	m.originErrs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgeswarm_origin_errors_total",
		Help: "Origin requests that failed: no answer, timeout or a 5xx status.",
	})
	bytesSent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_bytes_sent_total",
		Help: "Body bytes sent to viewers, by delivery path.",
	}, []string{"path"})
	m.bytesSent = bytesSent.WithLabelValues("http")
	cacheBytes := func(store string, f func(cache.Stats) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "edgeswarm_cache_bytes",
			Help:        "Bytes held by each cache store, and by fills in flight (store=\"fills\").",
			ConstLabels: prometheus.Labels{"store": store},
		}, func() float64 { return float64(f(c())) })
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeswarm_connections_refused_total",
		Help: "Public connections closed as soon as accepted: per_ip (over max_conns_per_ip) or fd_limit (near the process's file descriptor limit with no idle connection to shed).",
	}, []string{"reason"})
	m.refusedPerIP = refused.WithLabelValues("per_ip")
	m.refusedFDs = refused.WithLabelValues("fd_limit")
	m.shed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgeswarm_connections_shed_total",
		Help: "Idle keep-alive public connections closed to keep file descriptors free.",
	})
	m.acceptRetries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgeswarm_accept_retries_total",
		Help: "Public accepts that failed for a temporary reason (EMFILE, ENFILE, ENOBUFS, ECONNABORTED) and were retried after a back-off.",
	})
	b := readBuild()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "edgeswarm_build_info",
		Help:        "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": b.version, "commit": b.commit, "goversion": b.goVersion},
	})
	buildInfo.Set(1)
	m.reg.MustRegister(refused, m.shed, m.acceptRetries, buildInfo)
	m.reg.MustRegister(m.httpReqs, cacheReqs, m.originReqs, m.originErrs, bytesSent,
		cacheBytes("live", func(s cache.Stats) int64 { return s.LiveBytes }),
		cacheBytes("ristretto", func(s cache.Stats) int64 { return s.RistrettoBytes }),
		cacheBytes("fills", func(s cache.Stats) int64 { return s.FillBytes }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "edgeswarm_cache_fills_uncached_total",
			Help: "Origin fills streamed through to their viewer without being kept: they did not fit in cache_size beside the stores and the other fills.",
		}, func() float64 { return float64(c().Uncached) }),
	)
	return m
}

// lookup counts one cache lookup by its result.
func (m *metrics) lookup(r cache.Result) { m.cacheReq[r].Inc() }

// observe counts one answered request.
func (m *metrics) observe(p proto, code int, bodyBytes int64) {
	if code < 100 || code >= 600 {
		code = 599
	}
	slot := &m.httpByCode[p][code]
	c := slot.Load()
	if c == nil {
		cc := m.httpReqs.WithLabelValues(strconv.Itoa(code), p.String())
		slot.CompareAndSwap(nil, &cc)
		c = slot.Load()
	}
	(*c).Inc()
	if bodyBytes > 0 {
		m.bytesSent.Add(float64(bodyBytes))
	}
}
