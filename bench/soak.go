package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grafov/m3u8"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/wire"
)

// The soak benchmark runs the node as its own process with Go viewers
// (testpeer: the real signaling and peer protocols over pion) that play a
// live stream with churn for a long time, and samples the node's RSS, Go
// heap, goroutines and open file descriptors. It reports the slope of
// each after warm-up and, once the viewers have left, whether goroutines
// and descriptors came back near where they started. Beside the Go
// viewers, a few headless Chromium viewers with edgeswarm.js watch for the
// whole soak (soakbrowsers.go), so that the node serves real browsers too.

type soakOptions struct {
	Viewers   int
	Browsers  int
	Chromium  string
	Duration  time.Duration
	Churn     time.Duration
	Sample    time.Duration
	Warmup    time.Duration
	Settle    time.Duration
	CacheSize string
	Rendition string
	Stream    string
	P2P       bool
	NodeBin   string
	Out       string
}

// soakMaxBrowsers bounds --browsers: each is a browser context with its
// own WebRTC stack, on the machine that runs the node.
const soakMaxBrowsers = 20

// soakNetnsEnv marks the bench re-executed inside its network namespace.
const soakNetnsEnv = "EDGESWARM_SOAK_NETNS"

func parseSoakFlags(args []string, stderr io.Writer) (soakOptions, error) {
	o := soakOptions{}
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Viewers, "viewers", 30, "Go viewers watching at once")
	fs.IntVar(&o.Browsers, "browsers", 2, "headless Chromium viewers (edgeswarm.js, the swarm benchmark's runner and virtual player) watching for the whole soak, without churn; their processes are not the node's and are not sampled (0: Go viewers only)")
	fs.StringVar(&o.Chromium, "chromium", "/usr/bin/chromium", "Chromium binary of the browser viewers (Debian's package)")
	fs.DurationVar(&o.Duration, "duration", 30*time.Minute, "how long the viewers watch")
	fs.DurationVar(&o.Churn, "churn", 20*time.Second, "every this long, the longest-watching viewer leaves and a new one joins (0: no churn)")
	fs.DurationVar(&o.Sample, "sample", time.Minute, "how often the node process is sampled")
	fs.DurationVar(&o.Warmup, "warmup", 0, "samples before this are left out of the slopes (default: a third of --duration, at least one sample)")
	fs.DurationVar(&o.Settle, "settle", 2*time.Minute, "after the viewers left, how long goroutines and descriptors get to come back near the baseline")
	fs.StringVar(&o.CacheSize, "cache-size", "32MiB", "the node's cache_size: small, so that the cache is full after warm-up (one rendition brings about 4 MB a minute) and growth past it is a leak")
	fs.StringVar(&o.Rendition, "rendition", "mid", "the rendition every viewer plays: the first variant whose URI contains this")
	fs.StringVar(&o.Stream, "stream", "/live/master.m3u8", "master playlist path on the node")
	fs.BoolVar(&o.P2P, "p2p", true, "viewers join the swarm (super-peer pushes, viewer-to-viewer) besides HTTP")
	fs.StringVar(&o.NodeBin, "node-bin", "", "edgeswarm binary to run (default: go build the module into a temp dir)")
	fs.StringVar(&o.Out, "out", "", "results folder (default bench/results in the module)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench soak [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs the node with its demo origin, N Go viewers of one live stream with churn")
		fmt.Fprintln(stderr, "and a few browser viewers, inside a network namespace that has only loopback. Samples the node's")
		fmt.Fprintln(stderr, "RSS, heap, goroutines and open descriptors, reports their slopes after warm-up")
		fmt.Fprintln(stderr, "and checks that goroutines and descriptors return near the baseline once the")
		fmt.Fprintln(stderr, "viewers have left (markdown, JSON and SVG plots in the results folder).")
		fmt.Fprintln(stderr, "Exit status: 0 nothing leaked, 1 goroutines or descriptors did not come back, 2 the benchmark could not run.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case o.Viewers < 1 || o.Viewers > 200:
		return o, fmt.Errorf("--viewers: %d is not between 1 and 200", o.Viewers)
	case o.Browsers < 0 || o.Browsers > soakMaxBrowsers:
		return o, fmt.Errorf("--browsers: %d is not between 0 and %d", o.Browsers, soakMaxBrowsers)
	case o.Sample <= 0 || o.Duration < o.Sample:
		return o, fmt.Errorf("--duration (%v) must be at least one --sample (%v), and --sample positive", o.Duration, o.Sample)
	case o.Churn < 0 || o.Settle < 0 || o.Warmup < 0:
		return o, errors.New("--churn, --settle and --warmup must not be negative")
	}
	if o.Warmup == 0 {
		o.Warmup = max(o.Duration/3, o.Sample)
	}
	if _, err := parseSize(o.CacheSize); err != nil {
		return o, fmt.Errorf("--cache-size: %w", err)
	}
	return o, nil
}

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSoakFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	root := moduleRoot(ctx)
	if o.Browsers > 0 {
		if err := prepareSoakBrowsers(ctx, o, root, stderr, log); err != nil {
			return err
		}
	}
	if ok, _ := netns.LoopbackOnly(); !ok {
		if os.Getenv(soakNetnsEnv) != "" {
			return errors.New("inside the new network namespace, interfaces other than loopback are up")
		}
		return reexecInNetns(ctx, stdout, stderr)
	}
	out, tmp, bin, err := benchFolders(ctx, "soak", root, o.Out, o.NodeBin, log)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	s := &soak{o: o, log: log, stderr: stderr}
	if o.Browsers > 0 {
		if s.browserFiles, err = bundleSoakBrowsers(ctx, root, tmp); err != nil {
			return err
		}
	}
	rep, err := s.run(ctx, bin, tmp)
	if err != nil {
		return err
	}
	if err := writeSoakReport(rep, out, stdout); err != nil {
		return err
	}
	if rep.browserFailure != nil {
		return fmt.Errorf("the browser viewers (the report has the rest): %w", rep.browserFailure)
	}
	return nil
}

// reexecInNetns runs this command again in a new network namespace with
// only loopback up (root gets one directly, others a user namespace in
// which they are root), as the swarm benchmark does.
func reexecInNetns(ctx context.Context, stdout, stderr io.Writer) error {
	for _, tool := range []string{"unshare", "ip"} {
		if lookPath(tool) == "" {
			return fmt.Errorf("%s is missing (Debian: util-linux, iproute2): the viewers' WebRTC must stay inside a loopback-only network namespace", tool)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ns := []string{"-n"}
	if os.Geteuid() != 0 {
		ns = []string{"-r", "-n"}
	}
	a := append(ns, "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, exe)
	a = append(a, os.Args[1:]...)
	cmd := exec.CommandContext(ctx, "unshare", a...)
	cmd.Env = append(os.Environ(), soakNetnsEnv+"=1")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return errFloorMissed // the child said why
	}
	if err != nil {
		return fmt.Errorf("the %s benchmark in its network namespace: %w", os.Args[1], err)
	}
	return nil
}

type soak struct {
	o      soakOptions
	log    *slog.Logger
	stderr io.Writer

	base, admin  string
	pid          int
	client       *http.Client
	browserFiles soakBrowserFiles
	// peer is the base of every viewer's testpeer options (the API and ICE
	// servers of swarm-go's homes; zero: the loopback defaults), upload
	// whether viewers serve others (mobile viewers of swarm-go do not).
	peer     testpeer.Options
	noUpload bool
	// fetchPeers makes viewers also request segments from peers that
	// hold them (swarm-go), not only take the super-peer's pushes.
	fetchPeers bool
	// httpKeep is how many target durations of buffer a viewer that
	// fetches from peers keeps for HTTP (peerWaitKeeping; swarm-go --http-keep).
	httpKeep float64
	// shareHTTP makes viewers serve what they fetched over HTTP, as the
	// browser client does (swarm-go); behind is how many segments behind
	// the live edge a viewer starts (hls.js liveSyncDurationCount; 0: 3).
	shareHTTP bool
	behind    int
	// slowPeers: under the client's rule, a critical segment a viewer
	// holds is asked from it first (peerBeforeSlowNode, swarm-go).
	slowPeers bool
}

// soakSample is one measurement of the node process.
type soakSample struct {
	Minute  float64 `json:"minute"` // since the first viewer joined
	Phase   string  `json:"phase"`  // baseline, watching, after
	Viewers int     `json:"viewers"`
	RSS     int64   `json:"rss_bytes"`
	Heap    int64   `json:"heap_inuse_bytes"`
	// HeapAfterGC is set when Heap was read right after a forced
	// collection (the admin port's heap profile with gc=1).
	HeapAfterGC bool `json:"heap_after_gc"`
	// Cache is what the node's cache holds (edgeswarm_cache_bytes, every
	// store): the part of the heap that grows until cache_size by design.
	Cache      int64 `json:"cache_bytes"`
	Goroutines int   `json:"goroutines"`
	FDs        int   `json:"fds"`
}

// soakViewerResult is what one viewer saw.
type soakViewerResult struct {
	Segments  int     `json:"segments"`
	HTTP      int64   `json:"http_bytes"`
	P2P       int64   `json:"p2p_bytes"`
	Seed      int64   `json:"seed_bytes"`
	Stalls    int     `json:"stalls"`
	StallS    float64 `json:"stall_s"`
	Errors    int     `json:"errors"`
	FirstErr  string  `json:"first_error,omitempty"`
	WatchedS  float64 `json:"watched_s"`
	JoinError string  `json:"join_error,omitempty"`
	// ID is the viewer's peer id in the swarm, Links its connections
	// (swarm-go reports them by NAT pair).
	ID    string              `json:"id,omitempty"`
	Links []testpeer.LinkInfo `json:"links,omitempty"`
	// PeerWaits counts the segments the viewer waited for from the swarm
	// (swarm-go --http-keep: peerWaitKeeping), PeerMisses those that then came over HTTP.
	PeerWaits  int `json:"peer_waits,omitempty"`
	PeerMisses int `json:"peer_misses,omitempty"`
	// StallEnds are when its first stalls ended, Unix milliseconds, so
	// that stalls of many viewers can be lined up.
	StallEnds []int64 `json:"stall_ends_ms,omitempty"`
	// StartupS is from the viewer's start to its first segment buffered
	// (-1: none).
	StartupS float64 `json:"startup_s"`
	// JoinS is how long the signaling join took (dial to welcome).
	JoinS float64 `json:"join_s,omitempty"`
	// CloseHung: closing the viewer's peer did not return within
	// peerCloseWait (its results are kept; the close goes on alone).
	CloseHung bool `json:"close_hung,omitempty"`
}

// peerCloseWait bounds how long a viewer waits for its peer to close when
// it leaves. A pion connection's close can block for good (seen at 200 Go
// viewers: an SCTP abort waiting on a read loop that never ended), and one
// such viewer would hold its home's results, and the run, forever.
const peerCloseWait = 15 * time.Second

type soakReport struct {
	Settings map[string]any `json:"settings"`
	Host     struct {
		CPU   string `json:"cpu"`
		CPUs  int    `json:"cpus"`
		Start string `json:"start"`
	} `json:"host"`
	Samples []soakSample       `json:"samples"`
	Viewers []soakViewerResult `json:"viewers"`
	// Browsers are the Chromium viewers' reports (the swarm runner's).
	Browsers []swarmViewer `json:"browsers,omitempty"`
	// Browser names the browsers' Chromium version, script and player.
	Browser string `json:"browser,omitempty"`
	// BrowserErrors are the runner's own: a viewer that did not open, the
	// runner failing.
	BrowserErrors []string           `json:"browser_errors,omitempty"`
	Slopes        map[string]float64 `json:"slopes_per_hour"` // after warm-up
	Verdict       soakVerdict        `json:"verdict"`

	heapProfile    []byte // the node's heap profile after the viewers left
	browserFailure error  // the runner failed: the run is incomplete
}

type soakVerdict struct {
	GoroutinesBack bool     `json:"goroutines_back"`
	FDsBack        bool     `json:"fds_back"`
	Stalls         int      `json:"stalls"`
	BrowserStalls  int      `json:"browser_stalls"`
	Problems       []string `json:"problems,omitempty"`
}

func (s *soak) run(ctx context.Context, bin, tmp string) (*soakReport, error) {
	o := s.o
	pub, err := freeAddr()
	if err != nil {
		return nil, err
	}
	adm, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The demo origin runs as a process of its own: in the node's process
	// its segment cache (32 MiB, filling for minutes) would read as the
	// node's growth.
	oaddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	origin, err := startDemoOrigin(ctx, tmp, bin, oaddr)
	if err != nil {
		return nil, err
	}
	defer origin.stop()
	node, err := startBenchNode(ctx, tmp, "node", bin, "seeder:\n  loopback: true\n", adm, "--listen", pub,
		"--origin", "http://"+oaddr, "--ice-udp", "127.0.0.1:0", "--stun-listen", "127.0.0.1:0", "--cache-size", o.CacheSize, "--super-peer", strconv.FormatBool(o.P2P))
	if err != nil {
		return nil, err
	}
	defer node.stop()
	s.base, s.admin, s.pid = "http://"+pub, "http://"+adm, node.cmd.Process.Pid
	s.client = &http.Client{Timeout: 10 * time.Second}
	rep := &soakReport{Slopes: map[string]float64{}}
	rep.Settings = map[string]any{
		"viewers": o.Viewers, "browsers": o.Browsers, "duration": o.Duration.String(), "churn": o.Churn.String(), "sample": o.Sample.String(),
		"warmup": o.Warmup.String(), "cache_size": o.CacheSize, "rendition": o.Rendition, "stream": o.Stream, "p2p": o.P2P,
	}
	rep.Host.CPU, rep.Host.CPUs, rep.Host.Start = cpuModel(), runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339)

	// The baseline is taken after one player's worth of requests, so that
	// what the node keeps for the process's life (its origin connections,
	// the first playlists) is not counted as a leak.
	if err := s.prime(ctx); err != nil {
		return nil, node.failure(err)
	}
	t0 := time.Now()
	sample := func(phase string, viewers int) error {
		sm, err := s.sample(ctx)
		if err != nil {
			return node.failure(err)
		}
		sm.Minute, sm.Phase, sm.Viewers = time.Since(t0).Minutes(), phase, viewers
		rep.Samples = append(rep.Samples, sm)
		s.log.Info("sample", "phase", phase, "minute", fmt.Sprintf("%.1f", sm.Minute), "viewers", viewers,
			"rss_mib", sm.RSS>>20, "heap_mib", sm.Heap>>20, "cache_mib", sm.Cache>>20, "goroutines", sm.Goroutines, "fds", sm.FDs)
		return nil
	}
	if err := sample("baseline", 0); err != nil {
		return nil, err
	}
	// The browsers join beside the first Go viewers and watch until the
	// last Go viewer has left.
	var browsers *soakBrowsers
	if o.Browsers > 0 {
		if browsers, err = startSoakBrowsers(o, s.browserFiles, bin, s.base, tmp, s.stderr); err != nil {
			return nil, err
		}
		defer browsers.p.stop()
	}

	// Viewers: o.Viewers at once, joining a tenth of a second apart; with
	// churn the longest-watching one leaves and a new one joins.
	var (
		mu      sync.Mutex
		results []soakViewerResult
		wg      sync.WaitGroup
	)
	type running struct{ cancel context.CancelFunc }
	var live []running
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	start := func() {
		vctx, cancel := context.WithCancel(watch)
		live = append(live, running{cancel})
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.viewer(vctx)
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}()
	}
	for range o.Viewers {
		start()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	sampleT := time.NewTicker(o.Sample)
	defer sampleT.Stop()
	var churnC <-chan time.Time
	if o.Churn > 0 {
		ct := time.NewTicker(o.Churn)
		defer ct.Stop()
		churnC = ct.C
	}
	end := time.After(o.Duration)
loop:
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-node.done:
			return nil, node.failure(fmt.Errorf("exited while viewers watched (%v)", node.waitErr))
		case <-churnC:
			live[0].cancel()
			live = live[1:]
			start()
		case <-sampleT.C:
			if err := sample("watching", len(live)); err != nil {
				return nil, err
			}
		case <-end:
			break loop
		}
	}
	if err := sample("watching", len(live)); err != nil {
		return nil, err
	}
	stopWatch()
	wg.Wait()
	rep.Viewers = results
	if browsers != nil {
		c, chromium, err := browsers.stop(ctx)
		if c != nil {
			rep.Browsers, rep.BrowserErrors = c.Viewers, c.Errors
			rep.Browser = fmt.Sprintf("%s, edgeswarm.js (%s), virtual player", orDefault(chromium, "Chromium"), c.Scenario)
		}
		if err != nil {
			rep.browserFailure = err
			rep.BrowserErrors = append(rep.BrowserErrors, err.Error())
			s.log.Warn("browser viewers", "err", err)
		}
	}

	// Everything a viewer held on the node (connections, swarm state,
	// peer connections of the super-peer) should now go away.
	baseline := rep.Samples[0]
	deadline := time.Now().Add(o.Settle)
	var last soakSample
	for {
		sm, err := s.sample(ctx)
		if err != nil {
			return nil, node.failure(err)
		}
		last = sm
		if goroutinesBack(baseline, sm) && fdsBack(baseline, sm) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	last.Minute, last.Phase = time.Since(t0).Minutes(), "after"
	rep.Samples = append(rep.Samples, last)
	// What the heap still holds with no viewer, for go tool pprof.
	if b, err := s.getBody(ctx, s.client, s.admin+"/debug/pprof/heap?gc=1"); err == nil {
		rep.heapProfile = b
	}
	s.log.Info("after the viewers left", "minute", fmt.Sprintf("%.1f", last.Minute), "goroutines", last.Goroutines, "fds", last.FDs, "rss_mib", last.RSS>>20)

	var warm []soakSample
	for _, sm := range rep.Samples {
		if sm.Phase == "watching" && sm.Minute >= o.Warmup.Minutes() {
			warm = append(warm, sm)
		}
	}
	for name, f := range soakMetrics {
		rep.Slopes[name] = slopePerHour(warm, f)
	}
	v := &rep.Verdict
	v.GoroutinesBack, v.FDsBack = goroutinesBack(baseline, last), fdsBack(baseline, last)
	if !v.GoroutinesBack {
		v.Problems = append(v.Problems, fmt.Sprintf("goroutines %d after the viewers left, baseline %d", last.Goroutines, baseline.Goroutines))
	}
	if !v.FDsBack {
		v.Problems = append(v.Problems, fmt.Sprintf("open descriptors %d after the viewers left, baseline %d", last.FDs, baseline.FDs))
	}
	// Stalls are reported, not judged: on a shared two-core host thirty
	// pion viewers and the node compete for the CPU, and the soak is about
	// what the node keeps, not about delivery (the chaos tests judge that).
	for _, r := range results {
		v.Stalls += r.Stalls
	}
	for _, b := range rep.Browsers {
		v.BrowserStalls += b.Stalls
	}
	return rep, nil
}

// The tolerance of "back near the baseline": a few idle workers and
// connections may stay in pools.
func goroutinesBack(base, now soakSample) bool {
	return now.Goroutines <= base.Goroutines+max(base.Goroutines/10, 20)
}

func fdsBack(base, now soakSample) bool { return now.FDs <= base.FDs+16 }

var soakMetrics = map[string]func(soakSample) float64{
	"rss_mib":    func(s soakSample) float64 { return float64(s.RSS) / (1 << 20) },
	"heap_mib":   func(s soakSample) float64 { return float64(s.Heap) / (1 << 20) },
	"goroutines": func(s soakSample) float64 { return float64(s.Goroutines) },
	"fds":        func(s soakSample) float64 { return float64(s.FDs) },
	"cache_mib":  func(s soakSample) float64 { return float64(s.Cache) / (1 << 20) },
}

// slopePerHour is the least-squares slope of f over the samples, per hour;
// NaN with fewer than two samples.
func slopePerHour(samples []soakSample, f func(soakSample) float64) float64 {
	if len(samples) < 2 {
		return math.NaN()
	}
	var sx, sy, sxx, sxy float64
	n := float64(len(samples))
	for _, s := range samples {
		x, y := s.Minute/60, f(s)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return math.NaN()
	}
	return (n*sxy - sx*sy) / d
}

// prime plays what one player plays at start-up: the master and media
// playlists and the newest segment.
func (s *soak) prime(ctx context.Context) error {
	media, err := s.mediaURL(ctx, s.client)
	if err != nil {
		return err
	}
	_, pl, err := s.playlist(ctx, s.client, media)
	if err != nil {
		return err
	}
	segs := liveSegments(pl)
	if len(segs) == 0 {
		return errors.New("the media playlist lists no segments")
	}
	_, err = s.getBody(ctx, s.client, resolveURL(media, segs[len(segs)-1].URI))
	return err
}

// sample reads the node's RSS and descriptors from /proc and its heap and
// goroutines from its metrics.
func (s *soak) sample(ctx context.Context) (soakSample, error) {
	var sm soakSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return sm, fmt.Errorf("reading the node's /proc status: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			sm.RSS = kb << 10
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid))
	if err != nil {
		return sm, fmt.Errorf("listing the node's descriptors: %w", err)
	}
	sm.FDs = len(fds)
	// The heap profile with gc=1 collects first, so the heap in use read
	// next is what is live, not what the collector has yet to free (with
	// GOGC=100 that swings up to twice the live heap between cycles).
	if _, err := s.getBody(ctx, s.client, s.admin+"/debug/pprof/heap?gc=1"); err == nil {
		sm.HeapAfterGC = true
	}
	body, err := s.getBody(ctx, s.client, s.admin+"/metrics")
	if err != nil {
		return sm, err
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "go_goroutines":
			sm.Goroutines = int(v)
		case "go_memstats_heap_inuse_bytes":
			sm.Heap = int64(v)
		}
		if strings.HasPrefix(f[0], "edgeswarm_cache_bytes{") {
			sm.Cache += int64(v)
		}
	}
	return sm, sc.Err()
}

func (s *soak) getBody(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	resp, err := s.get(ctx, c, url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func (s *soak) get(ctx context.Context, c *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp, nil
}

// mediaURL picks the rendition from the master playlist.
func (s *soak) mediaURL(ctx context.Context, c *http.Client) (string, error) {
	master := s.base + s.o.Stream
	body, err := s.getBody(ctx, c, master)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && strings.Contains(line, s.o.Rendition) {
			return resolveURL(master, line), nil
		}
	}
	return "", fmt.Errorf("no variant of %s contains %q", master, s.o.Rendition)
}

func (s *soak) playlist(ctx context.Context, c *http.Client, url string) (http.Header, *m3u8.MediaPlaylist, error) {
	resp, err := s.get(ctx, c, url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	p, kind, err := m3u8.DecodeFrom(resp.Body, true)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", url, err)
	}
	if kind != m3u8.MEDIA {
		return nil, nil, fmt.Errorf("%s is not a media playlist", url)
	}
	return resp.Header, p.(*m3u8.MediaPlaylist), nil
}

func liveSegments(p *m3u8.MediaPlaylist) []*m3u8.MediaSegment {
	var segs []*m3u8.MediaSegment
	for _, s := range p.Segments {
		if s != nil {
			segs = append(segs, s)
		}
	}
	return segs
}

func resolveURL(base, ref string) string {
	if strings.Contains(ref, "://") {
		return ref
	}
	if strings.HasPrefix(ref, "/") {
		i := strings.Index(base, "://")
		j := strings.IndexByte(base[i+3:], '/')
		return base[:i+3+j] + ref
	}
	return base[:strings.LastIndexByte(base, '/')+1] + ref
}

// vplayer models a player's buffer: playback starts with the first
// segment; a segment that arrives after the playhead reached the end of
// the buffer is a stall, for as long as it was late.
type vplayer struct {
	started  bool
	start    time.Time
	buffered time.Duration // media appended so far
	stalled  time.Duration
	stalls   int
	// httpTook is the moving average of HTTP segment fetch times
	// (sawHTTP), for peerWaitKeeping and the client rule (swarmgomodel.go).
	httpTook time.Duration
	// stallEnds are when the first stalls ended (the segment arrived).
	stallEnds []time.Time
}

func (p *vplayer) ahead(now time.Time) time.Duration {
	if !p.started {
		return 0
	}
	return p.buffered - (now.Sub(p.start) - p.stalled)
}

func (p *vplayer) add(now time.Time, d time.Duration) {
	if !p.started {
		p.started, p.start = true, now
	} else if late := -p.ahead(now); late > 0 {
		p.stalls++
		p.stalled += late
		if len(p.stallEnds) < 32 {
			p.stallEnds = append(p.stallEnds, now)
		}
	}
	p.buffered += d
}

// viewer plays the live stream until ctx ends: it joins the swarm, takes
// a segment from its peers when it holds it already or, with more than
// two segments buffered, when it arrives within half a segment; else over
// HTTP (the critical part of the buffer is always HTTP).
func (s *soak) viewer(ctx context.Context) (r soakViewerResult) {
	tr := &http.Transport{MaxIdleConnsPerHost: 2}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	t0 := time.Now()
	defer func() { r.WatchedS = time.Since(t0).Seconds() }()
	fail := func(err error) {
		if ctx.Err() != nil {
			return // leaving is not an error
		}
		r.Errors++
		if r.FirstErr == "" {
			r.FirstErr = err.Error()
		}
	}
	media, err := s.mediaURL(ctx, c)
	if err != nil {
		fail(err)
		return r
	}
	hdr, pl, err := s.playlist(ctx, c, media)
	if err != nil {
		fail(err)
		return r
	}
	var peer *testpeer.Peer
	if s.o.P2P {
		j0 := time.Now()
		conn, err := wsclient.Dial(ctx, "ws"+strings.TrimPrefix(s.base, "http")+wire.SignalPath)
		if err == nil {
			po := s.peer
			po.Upload, po.AcceptPush, po.Ticket = !s.noUpload, true, hdr.Get(wire.TicketHeader)
			peer, err = testpeer.Join(ctx, conn, hdr.Get(wire.SwarmHeader), po)
			if err != nil {
				conn.Close()
			}
			r.JoinS = time.Since(j0).Seconds()
		}
		if err != nil && ctx.Err() == nil {
			r.JoinError = err.Error()
			fail(err)
		}
	}
	if peer != nil {
		defer func() {
			st := peer.Stats()
			r.P2P, r.Seed = st.P2PBytes, st.SeedBytes
			r.ID, r.Links = peer.ID(), peer.Links()
			closed := make(chan struct{})
			go func() {
				_ = peer.Close()
				close(closed)
			}()
			select {
			case <-closed:
			case <-time.After(peerCloseWait):
				r.CloseHung = true
			}
		}()
	}
	var vp vplayer
	defer func() {
		r.Stalls, r.StallS, r.StartupS = vp.stalls, vp.stalled.Seconds(), -1
		if vp.started {
			r.StartupS = vp.start.Sub(t0).Seconds()
		}
		for _, t := range vp.stallEnds {
			r.StallEnds = append(r.StallEnds, t.UnixMilli())
		}
	}()
	target := time.Duration(pl.TargetDuration * float64(time.Second))
	segs := liveSegments(pl)
	behind := 3
	if s.behind > 0 {
		behind = s.behind
	}
	next := pl.SeqNo + uint64(max(len(segs)-behind, 0)) // behind the live edge
	for ctx.Err() == nil {
		segs = liveSegments(pl)
		for i, seg := range segs {
			seq := pl.SeqNo + uint64(i)
			if seq < next {
				continue
			}
			if err := s.segment(ctx, c, peer, &vp, &r, resolveURL(media, seg.URI), seq, target, time.Duration(seg.Duration*float64(time.Second))); err != nil {
				fail(err)
			}
			next = seq + 1
			if peer != nil && seq > 3 {
				peer.Forget(seq - 3)
			}
		}
		select {
		case <-ctx.Done():
			return r
		case <-time.After(target / 2):
		}
		if _, pl, err = s.playlist(ctx, c, media); err != nil {
			fail(err)
			if pl == nil {
				return r
			}
		}
	}
	return r
}

func (s *soak) segment(ctx context.Context, c *http.Client, peer *testpeer.Peer, vp *vplayer, r *soakViewerResult, url string, seq uint64, target, dur time.Duration) error {
	if s.shareHTTP {
		return s.clientSegment(ctx, c, peer, vp, r, url, seq, dur)
	}
	if peer != nil {
		wait := time.Duration(0)
		if vp.ahead(time.Now()) > 2*target {
			wait = target / 2
		}
		if s.fetchPeers {
			// Fetching from peers (swarm-go): as long as the buffer affords;
			// without spare time, a segment the swarm holds (a viewer, or
			// the super-peer, which pushes) is still waited for as long as
			// an HTTP fetch takes: an overloaded node's HTTP is the slow
			// path.
			wait = peerWaitKeeping(vp.ahead(time.Now()), vp.httpTook, target, s.httpKeep)
			if wait == 0 && vp.started && len(peer.Holders(seq)) > 0 {
				wait = min(max(vp.httpTook, minPeerWait), maxPeerWait)
			}
		}
		if s.fetchPeers && wait > 0 && !peer.Holds(seq) {
			r.PeerWaits++
			if fromPeer(ctx, peer, seq, wait) {
				vp.add(time.Now(), dur)
				r.Segments++
				return nil
			}
			r.PeerMisses++
			wait = 0
		}
		if peer.Holds(seq) || wait > 0 {
			wctx, cancel := context.WithTimeout(ctx, max(wait, time.Millisecond))
			_, err := peer.Segment(wctx, seq)
			cancel()
			if err == nil {
				vp.add(time.Now(), dur)
				r.Segments++
				return nil
			}
		}
	}
	t0 := time.Now()
	body, err := s.getBody(ctx, c, url)
	if err != nil {
		return err
	}
	vp.sawHTTP(time.Since(t0))
	r.HTTP += int64(len(body))
	if peer != nil && (s.shareHTTP || s.fetchPeers) {
		// Shared with the swarm, as a browser shares what its player
		// loaded (Keep holds it until the digest is known).
		peer.Keep(seq, body)
	}
	vp.add(time.Now(), dur)
	r.Segments++
	return nil
}

// fromPeer gets segment seq from the swarm within wait: a push, or a
// request to a viewer (never the super-peer, as in the browser client)
// whose have-map holds it (checked every 50 ms, as a
// player's scheduler would on each have update).
func fromPeer(ctx context.Context, peer *testpeer.Peer, seq uint64, wait time.Duration) bool {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tried := map[string]bool{}
	for wctx.Err() == nil {
		if peer.Holds(seq) {
			return true
		}
		for _, id := range peer.ViewerHolders(seq) {
			if tried[id] || wctx.Err() != nil {
				continue // no request once the wait is over
			}
			tried[id] = true
			if _, err := peer.Fetch(wctx, id, seq); err == nil {
				return true
			}
		}
		select {
		case <-wctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return peer.Holds(seq)
}

// cpuModel names the host CPU (Linux /proc/cpuinfo), for the report.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
