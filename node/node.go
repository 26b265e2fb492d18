package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/quic-go/quic-go/http3"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/errgroup"

	"github.com/edgeswarm/edgeswarm/analytics"
	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/client"
	"github.com/edgeswarm/edgeswarm/edge"
	"github.com/edgeswarm/edgeswarm/origin"
	"github.com/edgeswarm/edgeswarm/origin/demo"
	"github.com/edgeswarm/edgeswarm/seeder"
	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/turn"
)

// Options are the parts of a node that tests replace.
type Options struct {
	Log   *slog.Logger
	Clock func() time.Time
	// Load, when set, reads the configuration again for Reload (POST
	// /api/v1/reload and SIGHUP); Main sets it to the file, environment
	// and flags the node started with.
	Load func() (Config, error)
}

// Node is one edgeswarm node: its listeners, its cache and its origins.
type Node struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	origin  *liveOrigin
	cache   *cache.Cache
	metrics *metrics
	hub     *signal.Hub
	cluster *cluster // nil without cluster.nats
	seeder  *seeder.Seeder
	stats   *analytics.Analytics
	turn    *turn.Server // nil unless turn.enabled
	edge    *liveEdge
	// edgeFor builds the edge for a configuration (a reload of cors).
	edgeFor func(Config) *edge.Server
	demoURL string
	ctl     *controlState

	pubLn net.Listener
	// httpAddr is listen_http's address, "" without it.
	httpAddr string
	udp      net.PacketConn
	adminLn  net.Listener
	demoLn   net.Listener

	h1    *fasthttp.Server
	h3    *http3.Server
	admin *http.Server
	demo  *http.Server

	// h2 serves the TLS connections that chose HTTP/2, from h2Ln (see
	// h2.go).
	h2   *http.Server
	h2Ln net.Listener

	ready   atomic.Bool
	lastLog atomic.Int64
}

// New builds a node and binds its listeners, so that its addresses are
// known and connections queue until Run serves them.
//
// Every error names what failed and the configuration key to look at.
func New(cfg Config, opt Options) (n *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	// The cleanup holds its own reference: "return nil, err" has set n
	// to nil by the time it runs.
	built := &Node{cfg: cfg, log: opt.Log, now: opt.Clock}
	n = built
	defer func() {
		if err != nil {
			built.closeListeners()
		}
	}()

	demoURL := ""
	if cfg.usesDemo() {
		d, err := demo.New(cfg.Demo, opt.Clock)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		if n.demoLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("demo origin listener: %w", err)
		}
		demoURL = "http://" + n.demoLn.Addr().String()
		n.demo = &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	}
	n.demoURL = demoURL
	oc, err := origin.NewClient(cfg.upstream(demoURL), opt.Log)
	if err != nil {
		return nil, err
	}
	n.origin = newLiveOrigin(oc)
	if err := n.setupControl(cfg, opt.Load); err != nil {
		return nil, err
	}
	n.metrics = newMetrics(func() cache.Stats { return n.cache.Stats() })
	if n.stats, err = analytics.New(cfg.Analytics, analytics.Options{Log: opt.Log, Clock: opt.Clock, Registerer: n.metrics.reg}); err != nil {
		return nil, err
	}
	fetch := cache.FetcherFunc(func(ctx context.Context, req *cache.Request) (*cache.Object, error) {
		n.metrics.originReqs.Inc()
		start := time.Now()
		obj, err := n.origin.Fetch(ctx, req)
		n.stats.ObserveFetch(time.Since(start))
		if err != nil || obj.Status >= 500 {
			n.metrics.originErrs.Inc()
		}
		return obj, err
	})
	ccfg := cache.DefaultConfig()
	ccfg.Size = int64(cfg.CacheSize)
	ccfg.StaleGrace = cfg.StaleGrace
	ccfg.FillTimeout = max(cfg.Upstream.Timeout, time.Second)
	if n.cache, err = cache.New(ccfg, fetch, cache.Options{Log: opt.Log, Clock: opt.Clock, OnFill: n.onFill}); err != nil {
		return nil, fmt.Errorf("cache_size, stale_grace, upstream.timeout: %w", err)
	}
	if err := n.setupSwarms(cfg); err != nil {
		return nil, err
	}

	if n.pubLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	n.pubLn = lazyDeadlineListener{n.pubLn}
	n.h1 = &fasthttp.Server{
		Handler: n.handleH1,
		Name:    "edgeswarm",
		// A whole request, and the wait for the next one on a kept-alive
		// connection, each get a minute (nginx: client_header_timeout 60 s,
		// keepalive_timeout 75 s). One value for both lets a connection's
		// read deadline stand across requests (see lazyDeadlineConn).
		ReadTimeout:                  time.Minute,
		IdleTimeout:                  time.Minute,
		WriteTimeout:                 10 * time.Minute,
		MaxRequestBodySize:           maxRequestBody,
		ReadBufferSize:               8 << 10,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{n},
		StreamRequestBody:            false,
		DisablePreParseMultipartForm: true,
		ErrorHandler:                 h1Error,
	}
	altSvc := ""
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls_cert, tls_key: %w", err)
		}
		port := n.pubLn.Addr().(*net.TCPAddr).Port
		host, _, _ := net.SplitHostPort(cfg.Listen)
		if n.udp, err = net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port))); err != nil {
			return nil, fmt.Errorf("listen (HTTP/3, UDP): %w", err)
		}
		tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: alpnProtos}
		n.pubLn = tls.NewListener(n.pubLn, tlsCfg)
		n.h3 = &http3.Server{
			TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}),
		}
		altSvc = `h3=":` + strconv.Itoa(port) + `"; ma=86400`
	}
	if cfg.ListenHTTP != "" {
		plain, err := net.Listen("tcp", cfg.ListenHTTP)
		if err != nil {
			return nil, fmt.Errorf("listen_http: %w", err)
		}
		n.httpAddr = plain.Addr().String()
		n.pubLn = newMergedListener(n.pubLn, lazyDeadlineListener{plain})
	}
	n.edgeFor = func(cfg Config) *edge.Server {
		return edge.New(edge.Config{CORSAllowOrigins: cfg.CORS.AllowOrigins, CORSMaxAge: cfg.CORS.MaxAge, AltSvc: altSvc, TargetedHeader: cfg.Upstream.TTL.TargetedHeader},
			n.cache, n.origin, n.hub, edge.Options{Log: opt.Log, Clock: opt.Clock, Assets: client.Assets(), OnLookup: n.metrics.lookup, Pass: fetch})
	}
	n.edge = newLiveEdge(n.edgeFor(cfg))
	// Outermost, so that it counts every connection and sees fasthttp's
	// idle and busy states.
	guard := newGuardListener(n.pubLn, cfg.MaxConnsPerIP, fdLimit(), n.metrics, n.logLimited)
	n.pubLn = guard
	n.h1.ConnState = guard.connState
	n.setupNetHTTPFronts(cfg)
	n.defaultSignalURL()

	if n.adminLn, err = net.Listen("tcp", cfg.Admin); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !n.ready.Load() {
			http.Error(w, "not ready\n", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{}))
	// Profiling stops the world and shows the process's insides: even on
	// the private admin port it is served only to the admin token.
	if cfg.AdminToken != "" {
		mux.Handle("/debug/pprof/", n.RequireAdminToken(http.HandlerFunc(pprof.Index)))
		mux.Handle("/debug/pprof/profile", n.RequireAdminToken(http.HandlerFunc(pprof.Profile)))
		mux.Handle("/debug/pprof/trace", n.RequireAdminToken(http.HandlerFunc(pprof.Trace)))
	}
	n.mountAnalytics(mux)
	n.startControl(mux)
	n.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return n, nil
}

// Addr is the public listener's address.
func (n *Node) Addr() string { return n.pubLn.Addr().String() }

// HTTPAddr is the plain HTTP listener's address (listen_http), "" without one.
func (n *Node) HTTPAddr() string { return n.httpAddr }

// AdminAddr is the admin listener's address.
func (n *Node) AdminAddr() string { return n.adminLn.Addr().String() }

// Run serves until ctx is cancelled, then stops accepting, lets in-flight
// responses finish within the shutdown timeout, and returns.
func (n *Node) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	serve := func(name string, f func() error) {
		g.Go(func() error {
			if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	serve("public", func() error { return n.h1.Serve(n.pubLn) })
	serve("admin", func() error { return n.admin.Serve(n.adminLn) })
	if n.h3 != nil {
		serve("http3", func() error { return n.h3.Serve(n.udp) })
	}
	if n.h2 != nil {
		serve("http2", func() error { return n.h2.Serve(n.h2Ln) })
	}
	if n.demo != nil {
		serve("demo origin", func() error { return n.demo.Serve(n.demoLn) })
	}
	g.Go(func() error {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				n.cache.Sweep()
				n.stats.Sweep()
			case <-gctx.Done():
				return nil
			}
		}
	})
	n.ready.Store(true)
	n.log.Info("node serving", "listen", n.Addr(), "admin", n.AdminAddr(), "http3", n.h3 != nil, "demo_origin", n.demo != nil)

	<-gctx.Done()
	n.ready.Store(false)
	// The drain gets a fresh context: ctx is already cancelled.
	drain, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
	defer cancel()
	errs := []error{n.hub.Close(drain), n.h1.ShutdownWithContext(drain)}
	errs = append(errs, n.closeCluster())
	if n.seeder != nil {
		errs = append(errs, n.seeder.Close())
	}
	if n.h2 != nil {
		errs = append(errs, n.h2.Shutdown(drain))
	}
	if n.turn != nil {
		errs = append(errs, n.turn.Close())
	}
	if n.h3 != nil {
		errs = append(errs, n.h3.Shutdown(drain))
	}
	errs = append(errs, n.admin.Shutdown(drain))
	if n.demo != nil {
		errs = append(errs, n.demo.Shutdown(drain))
	}
	n.cache.Close()
	n.origin.Close()
	errs = append(errs, g.Wait())
	if drain.Err() != nil {
		// The bound held: the process may exit now, cutting what is left.
		return fmt.Errorf("shutdown_timeout (%v) passed with responses or viewers still connected; stopped waiting for them", n.cfg.ShutdownTimeout)
	}
	if err := errors.Join(errs...); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (n *Node) closeListeners() {
	for _, l := range []net.Listener{n.pubLn, n.adminLn, n.demoLn} {
		if l != nil {
			_ = l.Close()
		}
	}
	if n.udp != nil {
		_ = n.udp.Close()
	}
	if n.seeder != nil {
		_ = n.seeder.Close()
	}
	if n.turn != nil {
		_ = n.turn.Close()
	}
	if n.hub != nil {
		_ = n.hub.Close(context.Background())
	}
	_ = n.closeCluster()
	if n.cache != nil {
		n.cache.Close()
	}
	if n.origin != nil {
		n.origin.Close()
	}
}

// logLimited logs at most one message per second: it is used on
// per-request paths, where a failing origin would otherwise flood the log.
func (n *Node) logLimited(msg string, args ...any) {
	now := n.now().UnixNano()
	last := n.lastLog.Load()
	if now-last < int64(time.Second) || !n.lastLog.CompareAndSwap(last, now) {
		return
	}
	n.log.Warn(msg, args...)
}

type fasthttpLogger struct{ n *Node }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.n.logLimited("http server", "msg", fmt.Sprintf(format, args...))
}
