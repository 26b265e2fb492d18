package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// cacheOptions are the flags of the cache benchmark.
type cacheOptions struct {
	Duration    time.Duration
	Warmup      time.Duration
	Connections int
	Threads     int
	Rounds      int
	Workload    string
	Segments    int
	SegmentSize string
	CacheSize   string
	Master      string
	NodeBin     string
	CompareBin  string
	NodeArgs    []string
	NodeEnv     []string // KEY=VALUE for the first node's environment
	CompareEnv  []string // KEY=VALUE for the second node's environment
	Out         string
	Install     bool
	NoSendfile  bool
	Varnish     bool
	TLS         bool
	Timeout     time.Duration
}

func parseCacheFlags(args []string, stderr io.Writer) (cacheOptions, error) {
	o := cacheOptions{}
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each measured wrk run")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "length of the unmeasured wrk run that warms each server before the rounds (0: none)")
	fs.IntVar(&o.Connections, "connections", 64, "concurrent HTTP connections, the same for both servers")
	fs.IntVar(&o.Threads, "threads", 0, "wrk threads, at most --connections (default: the CPU count, capped at --connections)")
	fs.IntVar(&o.Rounds, "rounds", 3, "measured runs per server and workload, alternating the order; the table shows the medians")
	fs.StringVar(&o.Workload, "workload", "all", "playlists, segments or all")
	fs.IntVar(&o.Segments, "segments", 32, "distinct segment URLs the segments workload cycles through")
	fs.StringVar(&o.SegmentSize, "segment-size", "1MiB", "size of the demo origin's synthetic segments")
	fs.StringVar(&o.CacheSize, "cache-size", "4GiB", "cache size of the node and max_size of nginx's cache")
	fs.StringVar(&o.Master, "master", "/vod/master.m3u8", "path of the demo origin's VOD master playlist")
	fs.StringVar(&o.NodeBin, "node-bin", "", "edgeswarm binary to run (default: go build the module into a temp dir)")
	fs.StringVar(&o.CompareBin, "compare-node-bin", "", "a second edgeswarm binary measured beside the first with the same arguments, as "+serverNodeB+" (never a baseline): A/B of a node change in one run")
	fs.Func("node-arg", "extra argument for the node (repeatable)", func(s string) error {
		o.NodeArgs = append(o.NodeArgs, s)
		return nil
	})
	fs.Func("node-env", "KEY=VALUE added to the node's environment (and the --tls node's), e.g. GOMAXPROCS=1 (repeatable)", func(s string) error {
		o.NodeEnv = append(o.NodeEnv, s)
		return nil
	})
	fs.Func("compare-node-env", "KEY=VALUE added to the second node's environment only (repeatable); without --compare-node-bin the second node runs the first's binary: A/B of a runtime setting in one run", func(s string) error {
		o.CompareEnv = append(o.CompareEnv, s)
		return nil
	})
	fs.StringVar(&o.Out, "out", "", "JSON results file (default bench/results/cache-<timestamp>.json in the module)")
	fs.BoolVar(&o.NoSendfile, "nginx-no-sendfile", false, "turn nginx's sendfile off (copying through 256k output buffers), which can be faster on loopback")
	fs.BoolVar(&o.Varnish, "varnish", true, "also measure Varnish (malloc storage); --varnish=false compares with nginx alone")
	fs.BoolVar(&o.TLS, "tls", false, "also measure the node over TLS as HTTP/1.1 and HTTP/2 (h2load) and HTTP/3 (a Go client, beside HTTP/2 from the same client), and nginx over HTTP/2 (needs h2load: Debian's nghttp2-client)")
	fs.BoolVar(&o.Install, "install", false, "apt-get install nginx, varnish and wrk when they are missing (root only)")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "wrk per-request timeout; a timed-out request counts as an error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench cache [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Compares the node's cache-hit serving with nginx proxy_cache and Varnish in front")
		fmt.Fprintln(stderr, "of the same demo origin, all warmed, with wrk at equal concurrency. The floors are")
		fmt.Fprintln(stderr, "against the better of nginx and Varnish. Exit status: 0 all floors met, 1 a floor")
		fmt.Fprintln(stderr, "missed, 2 the benchmark could not run.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Threads == 0 {
		o.Threads = max(1, min(runtime.NumCPU(), o.Connections))
	}
	return o, o.validate()
}

func (o cacheOptions) validate() error {
	switch {
	case o.Duration < time.Second:
		return fmt.Errorf("--duration %v: want at least 1s", o.Duration)
	case o.Warmup < 0:
		return fmt.Errorf("--warmup %v: want 0 or more", o.Warmup)
	case o.Connections < 1:
		return fmt.Errorf("--connections %d: want at least 1", o.Connections)
	case o.Threads < 1 || o.Threads > o.Connections:
		return fmt.Errorf("--threads %d: want between 1 and --connections (%d)", o.Threads, o.Connections)
	case o.Rounds < 1:
		return fmt.Errorf("--rounds %d: want at least 1", o.Rounds)
	case o.Segments < 1 || o.Segments > 4096:
		return fmt.Errorf("--segments %d: want between 1 and 4096", o.Segments)
	case o.Timeout < time.Second:
		return fmt.Errorf("--timeout %v: want at least 1s", o.Timeout)
	case !strings.HasPrefix(o.Master, "/"):
		return fmt.Errorf("--master %q: want an absolute path", o.Master)
	}
	if _, err := o.workloads(); err != nil {
		return err
	}
	for _, e := range o.NodeEnv {
		if err := checkEnv(e); err != nil {
			return fmt.Errorf("--node-env: %w", err)
		}
	}
	for _, e := range o.CompareEnv {
		if err := checkEnv(e); err != nil {
			return fmt.Errorf("--compare-node-env: %w", err)
		}
	}
	if _, err := parseSize(o.SegmentSize); err != nil {
		return fmt.Errorf("--segment-size: %w", err)
	}
	if _, err := parseSize(o.CacheSize); err != nil {
		return fmt.Errorf("--cache-size: %w", err)
	}
	return nil
}

// checkEnv accepts KEY=VALUE with a key of letters, digits and
// underscores that does not start with a digit.
func checkEnv(e string) error {
	k, _, ok := strings.Cut(e, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", e)
	}
	for i, c := range k {
		if c != '_' && !('A' <= c && c <= 'Z') && !('a' <= c && c <= 'z') && !(i > 0 && '0' <= c && c <= '9') {
			return fmt.Errorf("%q: %q is not an environment variable name", e, k)
		}
	}
	return nil
}

// compares says whether a second node runs beside the first.
func (o cacheOptions) compares() bool { return o.CompareBin != "" || len(o.CompareEnv) > 0 }

func (o cacheOptions) workloads() ([]string, error) {
	switch o.Workload {
	case "playlists", "segments":
		return []string{o.Workload}, nil
	case "all":
		return []string{"playlists", "segments"}, nil
	}
	return nil, fmt.Errorf("--workload %q: want playlists, segments or all", o.Workload)
}

func runCache(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseCacheFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &cacheBench{
		o:   o,
		log: slog.New(slog.NewTextHandler(stderr, nil)),
		client: &http.Client{
			Timeout: 60 * time.Second,
			Transport: &http.Transport{
				Proxy:                 nil, // loopback only, never through a proxy
				DisableCompression:    true,
				MaxIdleConnsPerHost:   4,
				ResponseHeaderTimeout: 30 * time.Second,
			},
		},
		stderr: stderr,
	}
	defer b.client.CloseIdleConnections()
	defer b.stop.run()
	err = b.run(ctx, stdout)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return err
}

// cacheBench is one run of the cache benchmark.
type cacheBench struct {
	o      cacheOptions
	log    *slog.Logger
	client *http.Client
	stderr io.Writer
	stop   cleanups

	dir   string // temp dir: configs, logs, scripts, the built node
	tools tools
	ref   map[string]object // what the origin serves, by path

	h2load string         // --tls: h2load's path
	pool   *x509.CertPool // --tls: trusts the servers' certificate
}

// target is a server under test.
type target struct {
	name string
	base string // http://127.0.0.1:port
	pgid int    // the server's process group, for its CPU time
	gen  string // load generator: genWrk (""), or one of the --tls ones
	// hit reports whether a response came from the server's cache and
	// describes the header it looked at.
	hit func(http.Header) (bool, string)
}

// object is a response body's fingerprint.
type object struct {
	size int64
	sum  [sha256.Size]byte
}

func (b *cacheBench) run(ctx context.Context, stdout io.Writer) error {
	o := b.o
	started := time.Now().UTC()
	names, _ := o.workloads()
	cacheBytes, _ := parseSize(o.CacheSize)

	var err error
	if b.tools, err = findTools(ctx, lookPath, o.Install, o.Varnish, b.stderr, b.log); err != nil {
		return err
	}
	if b.dir, err = os.MkdirTemp("", "edgeswarm-bench-"); err != nil {
		return err
	}
	b.stop.add(func() { os.RemoveAll(b.dir) })

	var certFile, keyFile string
	if o.TLS {
		if b.h2load, err = findH2load(ctx, lookPath, o.Install, b.stderr, b.log); err != nil {
			return err
		}
		if certFile, keyFile, b.pool, err = writeCert(b.dir); err != nil {
			return err
		}
		tr := b.client.Transport.(*http.Transport)
		tr.TLSClientConfig = &tls.Config{RootCAs: b.pool}
	}

	nodeBin := o.NodeBin
	if nodeBin == "" {
		if nodeBin, err = buildNode(ctx, b.dir, b.log); err != nil {
			return err
		}
	}

	// The origin.
	originAddr, err := freeAddr()
	if err != nil {
		return err
	}
	origin, err := b.start("origin", nodeBin, "demo-origin", "--listen", originAddr, "--synthetic", "--segment-size", o.SegmentSize)
	if err != nil {
		return err
	}
	originBase := "http://" + originAddr
	if err := origin.waitReady(ctx, b.client, originBase+o.Master, http.StatusOK, 30*time.Second); err != nil {
		return fmt.Errorf("the demo origin (%s demo-origin) did not come up: %w", nodeBin, err)
	}
	playlist, segments, err := b.discover(ctx, originBase, o.Segments)
	if err != nil {
		return err
	}
	b.log.Info("origin ready", "addr", originAddr, "playlist", playlist, "segments", len(segments))
	if b.ref, err = b.fingerprints(ctx, originBase, append([]string{playlist}, segments...)); err != nil {
		return fmt.Errorf("origin: %w", err)
	}

	// The node.
	nodeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	adminAddr, err := freeAddr()
	if err != nil {
		return err
	}
	iceAddr, err := freeUDPAddr()
	if err != nil {
		return err
	}
	nodeArgs := append([]string{"--listen", nodeAddr, "--admin", adminAddr, "--ice-udp", iceAddr, "--stun-listen", "127.0.0.1:0", "--origin", originBase, "--cache-size", o.CacheSize,
		"--max-conns-per-ip", "0"}, o.NodeArgs...) // every wrk connection is one loopback address
	node, err := b.startEnv(serverNode, nodeBin, o.NodeEnv, nodeArgs...)
	if err != nil {
		return err
	}
	if err := node.waitReady(ctx, b.client, "http://"+adminAddr+"/readyz", http.StatusOK, 30*time.Second); err != nil {
		return err
	}
	b.log.Info("node ready", "addr", nodeAddr, "admin", adminAddr)
	nodeProcs := b.gomaxprocs(ctx, "http://"+adminAddr+"/metrics")
	var nodeB *proc
	var nodeBAddr string
	var nodeBProcs int
	if o.compares() {
		if nodeBAddr, err = freeAddr(); err != nil {
			return err
		}
		adminB, err := freeAddr()
		if err != nil {
			return err
		}
		iceB, err := freeUDPAddr()
		if err != nil {
			return err
		}
		args := append([]string{"--listen", nodeBAddr, "--admin", adminB, "--ice-udp", iceB, "--stun-listen", "127.0.0.1:0", "--origin", originBase, "--cache-size", o.CacheSize,
			"--max-conns-per-ip", "0"}, o.NodeArgs...) // as the first node
		binB := o.CompareBin
		if binB == "" {
			binB = nodeBin
		}
		if nodeB, err = b.startEnv(serverNodeB, binB, o.CompareEnv, args...); err != nil {
			return err
		}
		if err := nodeB.waitReady(ctx, b.client, "http://"+adminB+"/readyz", http.StatusOK, 30*time.Second); err != nil {
			return err
		}
		nodeBProcs = b.gomaxprocs(ctx, "http://"+adminB+"/metrics")
		b.log.Info("second node ready", "bin", binB, "env", o.CompareEnv, "addr", nodeBAddr)
	}

	// nginx.
	nginxAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cacheDir, err := nginxCacheDir(b.dir)
	if err != nil {
		return err
	}
	b.stop.add(func() { os.RemoveAll(cacheDir) })
	cfg := nginxConfig{Dir: b.dir, CacheDir: cacheDir, CacheMaxSize: cacheBytes, Listen: nginxAddr, Origin: originAddr, NoSendfile: o.NoSendfile}
	var nginxTLSAddr string
	if o.TLS {
		if nginxTLSAddr, err = freeAddr(); err != nil {
			return err
		}
		cfg.TLSListen, cfg.Cert, cfg.Key = nginxTLSAddr, certFile, keyFile
	}
	if os.Geteuid() == 0 {
		cfg.User = "root" // workers must reach the cache dir the bench created
	}
	conf, err := cfg.render()
	if err != nil {
		return err
	}
	confPath := filepath.Join(b.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return err
	}
	nginx, err := b.start(serverNginx, b.tools.nginx, "-p", b.dir+"/", "-c", confPath)
	if err != nil {
		return err
	}
	if err := nginx.waitReady(ctx, b.client, "http://"+nginxAddr+nginxReadyPath, http.StatusNoContent, 15*time.Second); err != nil {
		return err
	}
	b.log.Info("nginx ready", "addr", nginxAddr, "cache", cacheDir)

	targets := []target{
		{name: serverNode, base: "http://" + nodeAddr, pgid: node.cmd.Process.Pid, hit: nodeHit},
		{name: serverNginx, base: "http://" + nginxAddr, pgid: nginx.cmd.Process.Pid, hit: cacheStatusHit},
	}
	procs := []*proc{origin, node, nginx}
	if nodeB != nil {
		targets = append(targets, target{name: serverNodeB, base: "http://" + nodeBAddr, pgid: nodeB.cmd.Process.Pid, hit: nodeHit})
		procs = append(procs, nodeB)
	}
	if o.TLS {
		// A node of its own: with TLS its port speaks HTTPS only.
		tlsAddr, err := freeAddr()
		if err != nil {
			return err
		}
		adminT, err := freeAddr()
		if err != nil {
			return err
		}
		iceT, err := freeUDPAddr()
		if err != nil {
			return err
		}
		args := append([]string{"--listen", tlsAddr, "--admin", adminT, "--ice-udp", iceT, "--stun-listen", "127.0.0.1:0", "--origin", originBase, "--cache-size", o.CacheSize,
			"--max-conns-per-ip", "0", "--tls-cert", certFile, "--tls-key", keyFile}, o.NodeArgs...)
		nodeT, err := b.startEnv(serverNodeH2, nodeBin, o.NodeEnv, args...)
		if err != nil {
			return err
		}
		if err := nodeT.waitReady(ctx, b.client, "http://"+adminT+"/readyz", http.StatusOK, 30*time.Second); err != nil {
			return err
		}
		b.log.Info("TLS node ready", "addr", tlsAddr)
		pg := nodeT.cmd.Process.Pid
		targets = append(targets,
			target{name: serverNodeH1TLS, base: "https://" + tlsAddr, pgid: pg, hit: nodeHit, gen: genH2loadH1},
			target{name: serverNodeH2, base: "https://" + tlsAddr, pgid: pg, hit: nodeHit, gen: genH2loadH2},
			target{name: serverNginxH2, base: "https://" + nginxTLSAddr, pgid: nginx.cmd.Process.Pid, hit: cacheStatusHit, gen: genH2loadH2},
			target{name: serverNodeH2Go, base: "https://" + tlsAddr, pgid: pg, hit: nodeHit, gen: genGoH2},
			target{name: serverNodeH3Go, base: "https://" + tlsAddr, pgid: pg, hit: nodeHit, gen: genGoH3},
		)
		procs = append(procs, nodeT)
	}

	// Varnish.
	var vcl string
	if o.Varnish {
		varnishAddr, err := freeAddr()
		if err != nil {
			return err
		}
		vdir := filepath.Join(b.dir, "varnish")
		vcfg := varnishConfig{Dir: vdir, VCLPath: filepath.Join(b.dir, "bench.vcl"), Listen: varnishAddr, Origin: originAddr, StorageSize: cacheBytes}
		if vcl, err = vcfg.render(); err != nil {
			return err
		}
		if err := os.WriteFile(vcfg.VCLPath, []byte(vcl), 0o600); err != nil {
			return err
		}
		args, err := vcfg.args()
		if err != nil {
			return err
		}
		varnish, err := b.start(serverVarnish, b.tools.varnishd, args...)
		if err != nil {
			return err
		}
		if err := varnish.waitReady(ctx, b.client, "http://"+varnishAddr+varnishReadyPath, http.StatusNoContent, 30*time.Second); err != nil {
			if why := varnishError(varnish.logTail()); why != "" {
				return fmt.Errorf("%w\nvarnishd said:\n%s", err, indent(why))
			}
			return err
		}
		b.log.Info("varnish ready", "addr", varnishAddr, "storage", "malloc,"+o.CacheSize)
		targets = append(targets, target{name: serverVarnish, base: "http://" + varnishAddr, pgid: varnish.cmd.Process.Pid, hit: cacheStatusHit})
		procs = append(procs, varnish)
	}
	report := &cacheReport{
		Started: started,
		Host: hostInfo{
			CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH,
			Nginx: b.tools.nginxVersion, Varnish: b.tools.varnishVersion, Wrk: b.tools.wrkVersion,
			NodeGOMAXPROCS: nodeProcs, NodeBGOMAXPROCS: nodeBProcs,
		},
		Settings: cacheSettings{
			Duration: o.Duration.String(), Warmup: o.Warmup.String(), Connections: o.Connections,
			Threads: o.Threads, Rounds: o.Rounds, Segments: len(segments), SegmentSize: o.SegmentSize,
			CacheSize: o.CacheSize, NodeBin: o.NodeBin, CompareBin: o.CompareBin, NginxSendfile: !o.NoSendfile,
			NodeEnv: o.NodeEnv, CompareEnv: o.CompareEnv,
		},
		NginxConfig: conf,
		VarnishVCL:  vcl,
	}
	for _, name := range names {
		paths, checkBody := []string{playlist}, false // the node may sign playlists
		if name == "segments" {
			paths, checkBody = segments, true
		}
		w, err := b.workload(ctx, name, paths, checkBody, targets, procs)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		report.Workloads = append(report.Workloads, w)
	}

	report.Pass = true
	for _, f := range cacheFloors() {
		if r, ok := f.check(report.Workloads); ok {
			report.Floors = append(report.Floors, r)
			report.Pass = report.Pass && r.Pass
		}
	}
	report.writeMarkdown(stdout)

	out := o.Out
	if out == "" {
		out = filepath.Join(moduleRoot(ctx), "bench", "results", "cache-"+started.Format("20060102T150405Z")+".json")
	}
	if err := writeJSON(out, report); err != nil {
		return err
	}
	b.log.Info("results written", "file", out)
	if !report.Pass {
		return errFloorMissed
	}
	return nil
}

// gomaxprocs reads the node's GOMAXPROCS from its metrics
// (go_sched_gomaxprocs_threads); 0 when they do not say.
func (b *cacheBench) gomaxprocs(ctx context.Context, metricsURL string) int {
	text, err := b.getText(ctx, metricsURL)
	if err != nil {
		return 0
	}
	return parseGOMAXPROCS(text)
}

// parseGOMAXPROCS finds the go_sched_gomaxprocs_threads gauge in a
// Prometheus text exposition.
func parseGOMAXPROCS(text string) int {
	for line := range strings.Lines(text) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || name != "go_sched_gomaxprocs_threads" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || !(v >= 1 && v <= 1<<20) { // NaN too

			return 0
		}
		return int(v)
	}
	return 0
}

// start starts a child process that is stopped when the benchmark ends.
func (b *cacheBench) start(name, bin string, args ...string) (*proc, error) {
	return b.startEnv(name, bin, nil, args...)
}

// startEnv is start with env (KEY=VALUE) added to the child's environment.
func (b *cacheBench) startEnv(name, bin string, env []string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	p, err := startCmd(b.dir, name, cmd, nil)
	if err != nil {
		return nil, err
	}
	b.stop.add(p.stop)
	return p, nil
}

// workload warms every server for one workload, checks they serve it from
// cache, then measures them in alternating order.
func (b *cacheBench) workload(ctx context.Context, name string, paths []string, checkBody bool, targets []target, procs []*proc) (workloadReport, error) {
	o := b.o
	w := workloadReport{Name: name, Paths: paths, WarmAfter: map[string]bool{}}
	var total int64
	for _, p := range paths {
		total += b.ref[p].size
	}
	w.ObjectBytes = total / int64(len(paths))

	script := filepath.Join(b.dir, name+".lua")
	if err := os.WriteFile(script, []byte(wrkScript(paths)), 0o600); err != nil {
		return w, err
	}
	runner := func(t target, d time.Duration) loadRun {
		var urls []string
		for _, p := range paths {
			urls = append(urls, t.base+p)
		}
		switch t.gen {
		case genH2loadH1, genH2loadH2:
			return h2loadRun{Bin: b.h2load, URLs: urls, H1: t.gen == genH2loadH1, Threads: o.Threads, Connections: o.Connections,
				Duration: d, LogFile: filepath.Join(b.dir, "h2load.log")}
		case genGoH2, genGoH3:
			return goRun{URLs: urls, H3: t.gen == genGoH3, Pool: b.pool, Connections: o.Connections, Duration: d, Timeout: o.Timeout}
		}
		return wrkRun{
			Bin: b.tools.wrk, URL: t.base + paths[0], Script: script,
			Threads: o.Threads, Connections: o.Connections, Duration: d, Timeout: o.Timeout,
		}
	}
	alive := func() error {
		for _, p := range procs {
			select {
			case <-p.done:
				return p.failure(fmt.Errorf("exited during the benchmark (%v)", p.waitErr))
			default:
			}
		}
		return nil
	}

	for _, t := range targets {
		b.log.Info("warming", "workload", name, "server", t.name, "urls", len(paths))
		for range 2 {
			if err := b.verify(ctx, t, paths, false, false); err != nil {
				return w, err
			}
		}
		if o.Warmup > 0 {
			if _, _, err := runner(t, o.Warmup).run(ctx); err != nil {
				return w, fmt.Errorf("warm-up of %s: %w", t.name, err)
			}
		}
		if err := b.verify(ctx, t, paths, true, checkBody); err != nil {
			return w, err
		}
	}
	if err := alive(); err != nil {
		return w, err
	}

	runs := make([][]runStats, len(targets))
	for r := range o.Rounds {
		for k := range targets {
			i := k
			if r%2 == 1 {
				i = len(targets) - 1 - k
			}
			t := targets[i]
			cpu0, ok0 := groupCPU(t.pgid)
			host0, hok0 := hostBusy()
			start := time.Now()
			s, _, err := runner(t, o.Duration).run(ctx)
			if err != nil {
				return w, fmt.Errorf("%s: %w", t.name, err)
			}
			wall := time.Since(start)
			host1, hok1 := hostBusy()
			if cpu1, ok1 := groupCPU(t.pgid); ok0 && ok1 && s.Requests > 0 {
				s.CPUUsPerReq = float64(cpu1-cpu0) / float64(time.Microsecond) / float64(s.Requests)
				if hok0 && hok1 {
					other := (host1 - host0 - (cpu1 - cpu0)).Seconds() - s.WrkCPUSec
					s.OtherCPUs = max(0, other/wall.Seconds())
				}
			}
			if s.Requests > 0 {
				s.WrkCPUUsPerReq = s.WrkCPUSec * 1e6 / float64(s.Requests)
			}
			s.ServerProcs, s.ServerThreads, _ = groupTasks(t.pgid)
			if err := alive(); err != nil {
				return w, err
			}
			b.log.Info("run", "workload", name, "round", r+1, "server", t.name,
				"req/s", fmt.Sprintf("%.0f", s.ReqPerSec), "MB/s", fmt.Sprintf("%.1f", s.MBPerSec),
				"p50", formatMs(s.P50Ms), "p99", formatMs(s.P99Ms), "cpu/req", formatCPU(s.CPUUsPerReq),
				"other CPUs", fmt.Sprintf("%.2f", s.OtherCPUs), "load gen cpu/req", formatCPU(s.WrkCPUUsPerReq),
				"threads", s.ServerThreads, "errors", s.Errors.total())
			runs[i] = append(runs[i], s)
		}
	}
	for i, t := range targets {
		w.Servers = append(w.Servers, serverReport{Name: t.name, Runs: runs[i]})
		err := b.verify(ctx, t, paths, true, false)
		w.WarmAfter[t.name] = err == nil
		if err != nil {
			b.log.Warn("not warm after the runs", "workload", name, "server", t.name, "err", err)
		}
	}
	w.summarize()
	return w, nil
}

// verify fetches every path from t and checks the status, and optionally
// that the answer came from t's cache and carries the origin's body.
func (b *cacheBench) verify(ctx context.Context, t target, paths []string, wantHit, checkBody bool) error {
	for _, p := range paths {
		resp, obj, err := b.get(ctx, t.base+p)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered GET %s with %s", t.name, p, resp.Status)
		}
		if wantHit {
			if ok, desc := t.hit(resp.Header); !ok {
				return fmt.Errorf("%s does not serve %s from its cache after warm-up (%s), so the comparison would not be of cache hits", t.name, p, desc)
			}
		}
		if ref := b.ref[p]; checkBody && obj != ref {
			return fmt.Errorf("%s served %s with a different body than the origin (%d bytes, origin %d)", t.name, p, obj.size, ref.size)
		}
	}
	return nil
}

// get fetches url and fingerprints its body.
func (b *cacheBench) get(ctx context.Context, url string) (*http.Response, object, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, object{}, err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, object{}, err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return nil, object{}, fmt.Errorf("GET %s: %w", url, err)
	}
	var o object
	o.size = n
	h.Sum(o.sum[:0])
	return resp, o, nil
}

// getText fetches a playlist.
func (b *cacheBench) getText(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return string(body), err
}

// discover reads the origin's master playlist and returns the first media
// playlist's path and up to n distinct segment paths, taken from the media
// playlists in order. Only the paths are kept: every request goes to the
// servers under test on loopback, whatever hosts a playlist names.
func (b *cacheBench) discover(ctx context.Context, originBase string, n int) (string, []string, error) {
	masterURL, err := url.Parse(originBase + b.o.Master)
	if err != nil {
		return "", nil, err
	}
	body, err := b.getText(ctx, masterURL.String())
	if err != nil {
		return "", nil, fmt.Errorf("origin master playlist: %w", err)
	}
	variants, err := playlistURIs(masterURL, body)
	if err != nil {
		return "", nil, fmt.Errorf("origin master playlist %s: %w", b.o.Master, err)
	}
	if len(variants) == 0 {
		return "", nil, fmt.Errorf("origin master playlist %s lists no media playlist", b.o.Master)
	}
	var segments []string
	seen := map[string]bool{}
	for _, v := range variants {
		mediaURL, err := url.Parse(originBase + v.RequestURI())
		if err != nil {
			return "", nil, err
		}
		body, err := b.getText(ctx, mediaURL.String())
		if err != nil {
			return "", nil, fmt.Errorf("origin media playlist: %w", err)
		}
		uris, err := playlistURIs(mediaURL, body)
		if err != nil {
			return "", nil, fmt.Errorf("origin media playlist %s: %w", v.RequestURI(), err)
		}
		for _, u := range uris {
			if p := u.RequestURI(); !seen[p] && len(segments) < n {
				seen[p] = true
				segments = append(segments, p)
			}
		}
		if len(segments) == n {
			break
		}
	}
	if len(segments) == 0 {
		return "", nil, fmt.Errorf("origin media playlist %s lists no segment", variants[0].RequestURI())
	}
	if len(segments) < n {
		b.log.Warn("the origin lists fewer segments than asked for", "want", n, "have", len(segments))
	}
	return variants[0].RequestURI(), segments, nil
}

// fingerprints fetches every path from the origin once.
func (b *cacheBench) fingerprints(ctx context.Context, base string, paths []string) (map[string]object, error) {
	ref := make(map[string]object, len(paths))
	for _, p := range paths {
		resp, obj, err := b.get(ctx, base+p)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", p, resp.Status)
		}
		ref[p] = obj
	}
	return ref, nil
}

// nodeHit reads the node's RFC 9211 Cache-Status: a hit is an "edgeswarm"
// entry with the hit parameter.
func nodeHit(h http.Header) (bool, string) {
	v := strings.Join(h.Values("Cache-Status"), ", ")
	for _, entry := range strings.Split(v, ",") {
		params := strings.Split(entry, ";")
		if strings.Trim(strings.TrimSpace(params[0]), `"`) != serverNode {
			continue
		}
		for _, p := range params[1:] {
			key, _, _ := strings.Cut(strings.TrimSpace(p), "=")
			if key == "hit" {
				return true, "Cache-Status: " + v
			}
		}
	}
	if v == "" {
		return false, "no Cache-Status header"
	}
	return false, "Cache-Status: " + v
}

// cacheStatusHit reads the X-Cache-Status header the generated nginx
// configuration and VCL add.
func cacheStatusHit(h http.Header) (bool, string) {
	v := h.Get("X-Cache-Status")
	if v == "" {
		return false, "no X-Cache-Status header"
	}
	return v == "HIT", "X-Cache-Status: " + v
}

// tools are the external programs the benchmark drives.
type tools struct {
	nginx, varnishd, wrk                     string
	nginxVersion, varnishVersion, wrkVersion string
}

// findTools locates nginx, varnishd (when withVarnish) and wrk with look
// (lookPath outside tests), installing the Debian packages that provide them
// when asked to and allowed.
func findTools(ctx context.Context, look func(string) string, install, withVarnish bool, stderr io.Writer, log *slog.Logger) (tools, error) {
	var t tools
	var missing []string
	lookup := func() {
		t.nginx, t.wrk, missing = look("nginx"), look("wrk"), nil
		if t.nginx == "" {
			missing = append(missing, "nginx-light")
		}
		if withVarnish {
			if t.varnishd = look("varnishd"); t.varnishd == "" {
				missing = append(missing, "varnish")
			}
		}
		if t.wrk == "" {
			missing = append(missing, "wrk")
		}
	}
	lookup()
	if len(missing) > 0 {
		pkgs := strings.Join(missing, " ")
		if !install {
			return t, fmt.Errorf("missing tools: install the Debian package(s) %s (apt-get install %s), or rerun as root with --install", pkgs, pkgs)
		}
		if os.Geteuid() != 0 {
			return t, fmt.Errorf("--install needs root: run apt-get install %s as root", pkgs)
		}
		log.Info("installing", "packages", pkgs)
		ictx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ictx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, missing...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Run(); err != nil {
			return t, fmt.Errorf("apt-get install %s: %w", pkgs, err)
		}
		if lookup(); len(missing) > 0 {
			return t, fmt.Errorf("still missing after apt-get install: %s", strings.Join(missing, " "))
		}
	}
	t.nginxVersion = toolVersion(ctx, t.nginx, "-v")
	t.nginxVersion = strings.TrimPrefix(t.nginxVersion, "nginx version: ")
	if withVarnish {
		t.varnishVersion = parseVarnishVersion(toolVersion(ctx, t.varnishd, "-V"))
	}
	t.wrkVersion = toolVersion(ctx, t.wrk, "-v")
	if f := strings.Fields(t.wrkVersion); len(f) >= 2 {
		t.wrkVersion = f[0] + " " + f[1]
	}
	return t, nil
}

// lookPath finds a program on PATH or in the sbin directories that are
// often missing from an unprivileged user's PATH.
func lookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p
		}
	}
	return ""
}

// toolVersion returns the first line a program prints for its version flag
// (wrk exits with status 1 there, so the status is ignored).
func toolVersion(ctx context.Context, bin string, arg string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, arg).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}

// moduleRoot returns the directory of the enclosing Go module, or "." when
// there is none.
func moduleRoot(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "."
	}
	return filepath.Dir(gomod)
}

// buildNode builds the module's main package into dir.
func buildNode(ctx context.Context, dir string, log *slog.Logger) (string, error) {
	root := moduleRoot(ctx)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", errors.New("not inside the edgeswarm module: run from the repository or pass --node-bin")
	}
	bin := filepath.Join(dir, "edgeswarm")
	log.Info("building the node", "module", root)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of the node in %s failed (pass --node-bin to use a built binary): %w\n%s", root, err, indent(strings.TrimSpace(string(out))))
	}
	return bin, nil
}

// nginxCacheDir makes nginx's cache directory in RAM when /dev/shm is there,
// so that both servers serve from memory.
func nginxCacheDir(fallback string) (string, error) {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "edgeswarm-bench-nginx-"); err == nil {
			return d, nil
		}
	}
	d := filepath.Join(fallback, "nginx-cache")
	return d, os.Mkdir(d, 0o700)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
