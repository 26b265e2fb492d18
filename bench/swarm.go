package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/liveorigin"
)

type swarmOptions struct {
	Viewers   []int
	Scenarios []string
	Latencies []int
	Mode      string
	Watch     time.Duration
	Stagger   time.Duration
	Churn     time.Duration
	Rendition string
	Stream    string
	Origin    string  // "demo", "ffmpeg" or an origin URL
	Headers   string  // cache headers of the ffmpeg origin
	Busy      float64 // cores a competing process burns during each case (0: none)
	NodeBin   string
	Chromium  string
	Out       string
	Report    string
	Install   bool
	Net       string // --net profile ("lan": loopback, as without it)
	TURN      bool   // --net: hand viewers the wan's TURN server too
}

func parseSwarmFlags(args []string, stderr io.Writer) (swarmOptions, error) {
	o := swarmOptions{}
	fs := flag.NewFlagSet("swarm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	viewers := fs.String("viewers", "1,2,5,10,20", "viewer counts N, comma-separated")
	scenarios := fs.String("scenarios", strings.Join(swarmScenarios, ","), "scenarios: http (no P2P script: the baseline), p2p (edgeswarm.js, super-peer off), super (edgeswarm.js with the super-peer), p2pml (p2p-media-loader 2.x with its own tracker)")
	latencies := fs.String("latency", "3,9", "hls.js liveSyncDurationCount values: how many segments behind the live edge viewers play")
	fs.StringVar(&o.Mode, "mode", "virtual", "virtual (a page-side player model that does not decode video, for many viewers) or video (hls.js playing a muted video element)")
	fs.DurationVar(&o.Watch, "watch", 60*time.Second, "how long viewers watch after the last one joined")
	// Two seconds: each join starts a browser context and its WebRTC
	// handshakes, and at one a second twenty Chromium viewers with P2P keep
	// two CPUs busy through the joins, so that start-up times measure the
	// machine's run queue (see the host busy column).
	fs.DurationVar(&o.Stagger, "stagger", 2*time.Second, "time between two viewers joining")
	fs.DurationVar(&o.Churn, "churn", 0, "every this long while watching, the longest-watching viewer leaves and a new one joins (0: no churn)")
	fs.StringVar(&o.Rendition, "rendition", "mid", "the rendition every viewer plays (ABR off): the first variant whose URI contains this (with --origin ffmpeg: its only one)")
	fs.StringVar(&o.Stream, "stream", liveorigin.MasterPath, "master playlist path on the node")
	fs.StringVar(&o.Origin, "origin", originDemo, "the node's origin: demo (its built-in demo origin), ffmpeg (a live ffmpeg encoder behind a static file server, other encoder settings than the demo's), or an origin URL")
	fs.StringVar(&o.Headers, "origin-headers", string(liveorigin.HeadersMaxAge), "cache headers of the ffmpeg origin: no-cache (on everything), max-age (1 s on playlists, a day on segments) or none")
	fs.Float64Var(&o.Busy, "busy", 0, "CPU a competing process burns during each case, in cores (0.5: half of one core; 0: none)")
	fs.StringVar(&o.NodeBin, "node-bin", "", "edgeswarm binary to run (default: go build the module into a temp dir)")
	fs.StringVar(&o.Chromium, "chromium", "/usr/bin/chromium", "Chromium binary (Debian's package; installed with --install)")
	fs.StringVar(&o.Out, "out", "", "results folder (default bench/results in the module)")
	fs.StringVar(&o.Report, "report", "", "write the report of an existing raw results file instead of running")
	fs.BoolVar(&o.Install, "install", false, "apt-get install Chromium (and ffmpeg for --origin ffmpeg) when missing (root only)")
	fs.StringVar(&o.Net, "net", "lan", "network profile: lan (loopback), broadband, mobile, mixed or overload (an emulated internet: one home per viewer behind a NAT, on a shaped link)")
	fs.BoolVar(&o.TURN, "turn", false, "with --net: run the node's TURN relay (turn.enabled), offered to viewers after its STUN")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench swarm [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs the node and N viewers of one live stream in headless Chromium, inside a")
		fmt.Fprintln(stderr, "network namespace that has only loopback, for every scenario, latency and N, and")
		fmt.Fprintln(stderr, "reports bytes by source, offload against its limit 1-1/N, node egress, start-up,")
		fmt.Fprintln(stderr, "stalls, play ratio, dropped frames, P2P upload against received, node and host")
		fmt.Fprintln(stderr, "CPU (markdown, JSON and SVG plots in the results folder).")
		fmt.Fprintln(stderr, "Exit status: 0 all floors met, 1 a floor missed, 2 the benchmark could not run.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.Viewers, err = parseInts("--viewers", *viewers, 1, 64); err != nil {
		return o, err
	}
	if o.Latencies, err = parseInts("--latency", *latencies, 1, 10); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(swarmScenarios, s) {
			return o, fmt.Errorf("--scenarios: unknown scenario %q (want %s)", s, strings.Join(swarmScenarios, ", "))
		}
		if !slices.Contains(o.Scenarios, s) {
			o.Scenarios = append(o.Scenarios, s)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case o.Origin == originFFmpeg:
		if _, err := liveorigin.ParseHeaders(o.Headers); err != nil {
			return o, fmt.Errorf("--origin-headers: %w", err)
		}
		if !set["rendition"] {
			o.Rendition = liveorigin.DefaultConfig().Rendition
		}
	case set["origin-headers"]:
		return o, errors.New("--origin-headers is for --origin ffmpeg")
	case o.Origin == originDemo:
	default:
		if u, err := url.Parse(o.Origin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("--origin %q: want demo, ffmpeg or an http(s) URL", o.Origin)
		}
	}
	if set["busy"] {
		if err := checkBusyCores(o.Busy); err != nil {
			return o, fmt.Errorf("--busy: %w", err)
		}
	}
	if !slices.Contains(netProfiles, o.Net) {
		return o, fmt.Errorf("--net %q: want one of %s", o.Net, strings.Join(netProfiles, ", "))
	}
	if o.TURN && o.Net == "lan" {
		return o, errors.New("--turn is for --net profiles other than lan")
	}
	switch {
	case o.Mode != "virtual" && o.Mode != "video":
		return o, fmt.Errorf("--mode %q: want virtual or video", o.Mode)
	case o.Watch < 5*time.Second:
		return o, fmt.Errorf("--watch %v: want at least 5s", o.Watch)
	case o.Stagger < 0 || o.Churn < 0:
		return o, errors.New("--stagger and --churn must not be negative")
	case !strings.HasPrefix(o.Stream, "/"):
		return o, fmt.Errorf("--stream %q: want a path on the node", o.Stream)
	}
	return o, nil
}

// Origins of the swarm benchmark besides a URL.
const (
	originDemo   = "demo"
	originFFmpeg = "ffmpeg"
)

// parseInts parses a comma-separated list of integers in [lo, hi].
func parseInts(name, s string, lo, hi int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%s: %q is not a number between %d and %d", name, f, lo, hi)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// runConfig is what the TypeScript runner reads (bench/swarm/runner.ts RunConfig).
type runConfig struct {
	Node          string         `json:"node"`
	Chromium      string         `json:"chromium"`
	PageJS        string         `json:"pageJS"`
	P2PMLJS       string         `json:"p2pmlJS,omitempty"`
	TrackerModule string         `json:"trackerModule,omitempty"`
	Out           string         `json:"out"`
	Viewers       []int          `json:"viewers"`
	Scenarios     []string       `json:"scenarios"`
	Latencies     []int          `json:"latencies"`
	Mode          string         `json:"mode"`
	WatchS        float64        `json:"watchS"`
	StaggerMs     int64          `json:"staggerMs"`
	ChurnS        float64        `json:"churnS"`
	Stream        string         `json:"stream"`
	Rendition     string         `json:"rendition"`
	NodeArgs      []string       `json:"nodeArgs"`
	Settings      map[string]any `json:"settings"`
	// Bench is this binary: the runner starts its hidden busy command.
	Bench     string     `json:"bench"`
	BusyCores float64    `json:"busyCores"`
	Attach    *runAttach `json:"attach,omitempty"`
	Net       *runNet    `json:"net,omitempty"`
}

// runAttach makes the runner play one case on a node that is already
// running (the soak's) until its stdin ends, instead of every case on a
// node of its own.
type runAttach struct {
	Base      string  `json:"base"`      // the node's public URL
	ProgressS float64 `json:"progressS"` // seconds between progress lines
}

func runSwarm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSwarmFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	root := moduleRoot(ctx)
	out := o.Out
	if out == "" {
		out = filepath.Join(root, "bench", "results")
	}
	if o.Report != "" {
		return writeSwarmReport(o.Report, out, stdout)
	}
	if _, err := os.Stat(filepath.Join(root, "bench", "swarm", "runner.ts")); err != nil {
		return errors.New("bench/swarm/runner.ts not found: run from the edgeswarm repository")
	}
	for _, tool := range []string{"node", "npm", "unshare", "ip"} {
		if lookPath(tool) == "" {
			return fmt.Errorf("%s is missing (Debian: nodejs and npm, util-linux, iproute2)", tool)
		}
	}
	if o.Net != "lan" {
		if _, err := ensureTool(ctx, "nft", "nftables", o.Install, stderr, log); err != nil {
			return err
		}
		for _, tool := range []string{"tc", "nsenter"} {
			if lookPath(tool) == "" {
				return fmt.Errorf("%s is missing (Debian: iproute2, util-linux)", tool)
			}
		}
	}
	if err := ensureChromium(ctx, o.Chromium, o.Install, stderr, log); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the bench binary: %w", err)
	}
	ffmpeg := ""
	if o.Origin == originFFmpeg {
		if ffmpeg, err = ensureTool(ctx, "ffmpeg", "ffmpeg", o.Install, stderr, log); err != nil {
			return err
		}
	}
	_, tmp, bin, err := benchFolders(ctx, "swarm", root, out, o.NodeBin, log)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	client := filepath.Join(root, "client")
	if err := npmCI(ctx, client, false, stderr, log); err != nil {
		return err
	}
	esbuild := filepath.Join(client, "node_modules", ".bin", "esbuild")
	bundle := func(in, outFile string, extra ...string) error {
		a := append([]string{in, "--bundle", "--outfile=" + outFile, "--log-level=warning"}, extra...)
		cmd := exec.CommandContext(ctx, esbuild, a...)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("esbuild %s: %w\n%s", in, err, indent(string(b)))
		}
		return nil
	}
	rc := runConfig{
		Node: bin, Chromium: o.Chromium, PageJS: filepath.Join(tmp, "page.js"), Out: filepath.Join(tmp, "raw.json"),
		Viewers: o.Viewers, Scenarios: o.Scenarios, Latencies: o.Latencies, Mode: o.Mode,
		WatchS: o.Watch.Seconds(), StaggerMs: o.Stagger.Milliseconds(), ChurnS: o.Churn.Seconds(),
		Stream: o.Stream, Rendition: o.Rendition, NodeArgs: []string{},
		Bench: self, BusyCores: o.Busy,
	}
	rc.Settings = map[string]any{
		"viewers": o.Viewers, "scenarios": o.Scenarios, "latencies": o.Latencies, "mode": o.Mode,
		"watch_s": rc.WatchS, "stagger_ms": rc.StaggerMs, "churn_s": rc.ChurnS, "stream": o.Stream,
		"rendition": o.Rendition, "origin": "built-in demo origin",
	}
	switch o.Origin {
	case originDemo:
	case originFFmpeg:
		// Filled in by swarm-ns, which starts the encoder inside the namespace.
		rc.Settings["origin"] = "ffmpeg"
		rc.Settings["origin_headers"] = o.Headers
	default:
		rc.NodeArgs = append(rc.NodeArgs, "--origin", o.Origin)
		rc.Settings["origin"] = o.Origin
	}
	if o.Busy > 0 {
		rc.Settings["busy_cores"] = o.Busy
	}
	rc.Settings["net"] = o.Net
	if err := bundle("bench/swarm/runner.ts", filepath.Join(tmp, "runner.cjs"), "--platform=node", "--format=cjs", "--target=node20", "--external:playwright-core"); err != nil {
		return err
	}
	if err := bundle("bench/swarm/page.ts", rc.PageJS, "--platform=browser", "--format=iife", "--target=es2020"); err != nil {
		return err
	}
	if slices.Contains(o.Scenarios, "p2pml") {
		dir := filepath.Join(root, "bench", "swarm", "p2pml")
		if err := npmCI(ctx, dir, true, stderr, log); err != nil {
			return err
		}
		rc.P2PMLJS = filepath.Join(tmp, "p2pml.js")
		rc.TrackerModule = filepath.Join(dir, "tracker.mjs")
		if err := bundle("bench/swarm/p2pml/entry.mjs", rc.P2PMLJS, "--platform=browser", "--format=iife", "--target=es2020"); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(tmp, "config.json")
	if err := writeJSON(cfgPath, rc); err != nil {
		return err
	}
	cases := len(o.Viewers) * len(o.Scenarios) * len(o.Latencies)
	est := time.Duration(0)
	for _, n := range o.Viewers {
		est += time.Duration(len(o.Scenarios)*len(o.Latencies)) * (o.Watch + time.Duration(n)*o.Stagger + 8*time.Second)
	}
	log.Info("running the swarm benchmark", "cases", cases, "about", est.Round(time.Minute).String())
	// A private network namespace with only loopback: no WebRTC check
	// leaves the machine. Root gets one directly; others through a user
	// namespace in which they are root.
	ns := []string{"-n"}
	if os.Geteuid() != 0 {
		ns = []string{"-r", "-n"}
	}
	// Inside it, this binary's swarm-ns command starts the ffmpeg origin
	// when there is one (the node must reach it on the namespace's
	// loopback), then the runner.
	a := append(ns, "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh", self, "swarm-ns", "--config", cfgPath)
	if ffmpeg != "" {
		a = append(a, "--ffmpeg", ffmpeg, "--origin-headers", o.Headers)
	}
	if o.Net != "lan" {
		a = append(a, "--net", o.Net)
		if o.TURN {
			a = append(a, "--turn")
		}
	}
	a = append(a, "--", "node", filepath.Join(tmp, "runner.cjs"), cfgPath)
	cmd := exec.CommandContext(ctx, "unshare", a...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(client, "node_modules"))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	// unshare and sh exec, so this is swarm-ns: stop it with a signal it
	// handles, so that it stops the runner's process group and the encoder.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	runErr := cmd.Run()
	if _, err := os.Stat(rc.Out); err != nil {
		if runErr != nil {
			return fmt.Errorf("the runner failed: %w", runErr)
		}
		return errors.New("the runner wrote no results")
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	raw := filepath.Join(out, "swarm-"+stamp+"-raw.json")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(rc.Out)
	if err != nil {
		return err
	}
	if err := os.WriteFile(raw, b, 0o644); err != nil {
		return err
	}
	if err := writeSwarmReport(raw, out, stdout); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("the runner failed (the report has what it measured): %w", runErr)
	}
	return nil
}

// writeSwarmReport turns a raw results file into the markdown, JSON and SVG
// report next to it in out, prints the markdown and checks the floors.
func writeSwarmReport(rawPath, out string, stdout io.Writer) error {
	f, err := os.Open(rawPath)
	if err != nil {
		return err
	}
	raw, err := readSwarmRaw(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", rawPath, err)
	}
	rows := summarize(raw)
	floors := swarmFloors(rows)
	if profile := netOf(raw); profile != "" {
		floors = netFloors(profile, rows)
	}
	base := strings.TrimSuffix(filepath.Join(out, filepath.Base(rawPath)), "-raw.json")
	base = strings.TrimSuffix(base, ".json")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	write := func(path string, f func(io.Writer) error) error {
		file, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := f(file); err != nil {
			file.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		return file.Close()
	}
	if err := write(base+".md", func(w io.Writer) error { return writeSwarmMarkdown(w, raw, rows, floors) }); err != nil {
		return err
	}
	if err := write(base+".json", func(w io.Writer) error { return writeSwarmJSON(w, raw, rows, floors) }); err != nil {
		return err
	}
	latencies := []int{}
	for _, r := range rows {
		if !slices.Contains(latencies, r.Latency) {
			latencies = append(latencies, r.Latency)
		}
	}
	for _, l := range latencies {
		if err := write(fmt.Sprintf("%s-offload-l%d.svg", base, l), func(w io.Writer) error { return plotOffload(w, rows, l) }); err != nil {
			return err
		}
		if err := write(fmt.Sprintf("%s-egress-l%d.svg", base, l), func(w io.Writer) error { return plotEgress(w, rows, l) }); err != nil {
			return err
		}
	}
	if err := writeSwarmMarkdown(stdout, raw, rows, floors); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s.md (JSON: %s.json, plots: %s-*.svg)\n", base, base, base)
	var missed []string
	for _, fl := range floors {
		if !fl.Pass && !fl.Skipped {
			missed = append(missed, fl.Name)
		}
	}
	if len(missed) > 0 {
		return fmt.Errorf("%w: %s", errFloorMissed, strings.Join(missed, "; "))
	}
	return nil
}

// ensureChromium checks the Chromium binary, installing Debian's package
// when asked to and allowed.
func ensureChromium(ctx context.Context, path string, install bool, stderr io.Writer, log *slog.Logger) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if !install || os.Geteuid() != 0 {
		return fmt.Errorf("%s is missing: install Debian's chromium package (apt-get install chromium), or rerun as root with --install", path)
	}
	if err := aptInstall(ctx, "chromium", stderr, log); err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s is still missing after apt-get install chromium", path)
	}
	return nil
}

// ensureTool finds bin in PATH, installing Debian's package pkg when it is
// missing, asked to and allowed.
func ensureTool(ctx context.Context, bin, pkg string, install bool, stderr io.Writer, log *slog.Logger) (string, error) {
	if p := lookPath(bin); p != "" {
		return p, nil
	}
	if !install || os.Geteuid() != 0 {
		return "", fmt.Errorf("%s is missing: install Debian's %s package (apt-get install %s), or rerun as root with --install", bin, pkg, pkg)
	}
	if err := aptInstall(ctx, pkg, stderr, log); err != nil {
		return "", err
	}
	if p := lookPath(bin); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%s is still missing after apt-get install %s", bin, pkg)
}

// aptInstall installs one Debian package, updating the package lists once
// when the first attempt fails.
func aptInstall(ctx context.Context, pkg string, stderr io.Writer, log *slog.Logger) error {
	log.Info("installing", "package", pkg)
	ictx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	for _, a := range [][]string{{"install", "-y", "--no-install-recommends", pkg}, {"update"}, {"install", "-y", "--no-install-recommends", pkg}} {
		cmd := exec.CommandContext(ictx, "apt-get", a...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = io.Discard, stderr
		if cmd.Run() == nil && a[0] == "install" {
			return nil
		}
	}
	return fmt.Errorf("apt-get install %s failed", pkg)
}

// npmCI installs the npm packages of dir from its lock file, once.
// Packages that would run install scripts (p2p-media-loader's optional
// native WebRTC module) get --ignore-scripts.
func npmCI(ctx context.Context, dir string, ignoreScripts bool, stderr io.Writer, log *slog.Logger) error {
	if st, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil && st.IsDir() {
		return nil
	}
	log.Info("installing npm packages", "dir", dir)
	a := []string{"ci", "--no-audit", "--no-fund", "--loglevel=error"}
	if ignoreScripts {
		a = append(a, "--ignore-scripts")
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, "npm", a...)
	cmd.Dir = dir
	// playwright-core is only the driver: never let it fetch a browser.
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s: %w", dir, err)
	}
	return nil
}
