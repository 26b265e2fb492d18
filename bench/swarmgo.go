package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/rtcwire"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/internal/liveorigin"
	"github.com/edgeswarm/edgeswarm/internal/netem"
	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
)

// defaultSCTPCAStep is the Go viewers' SCTP congestion-avoidance step:
// ten MTUs a window instead of pion's one. With pion's, a DataChannel
// between two homes (both access links in a row: 155 ms RTT and 1.5 %
// loss between a mobile and a broadband home) grows its window by one
// packet a round trip after every loss and carries about 0.5 Mbit/s, the
// stream's own bitrate, so that mobile viewers got almost nothing from
// their peers (bench/README.md has the runs side by side).
const defaultSCTPCAStep = 12000

// swarmGoNetnsEnv marks the re-run of swarm-go inside its namespace.
const swarmGoNetnsEnv = "EDGESWARM_SWARMGO_NETNS"

type swarmGoOptions struct {
	Net       string
	Viewers   int
	PerHome   int
	Scenarios []string
	Watch     time.Duration
	Stagger   time.Duration
	Rendition string
	Stream    string
	NodeBin   string
	Out       string
	// SCTPCAStep is the viewers' SCTP congestion-avoidance step in bytes
	// (pion's SettingEngine.SetSCTPCwndCAStep); 0 is pion's, one MTU.
	SCTPCAStep int
	// HTTPKeep > 0: the viewers wait for peers by their buffer, keeping
	// this many target durations for HTTP (peerWaitKeeping), instead of
	// the browser client's rule (swarmgomodel.go).
	HTTPKeep float64
	// The scenario flags (swarmgoscenario.go).
	scenarioFlags
	// SlowNodePeers adds peerBeforeSlowNode to the client's rule.
	SlowNodePeers bool
	// Nice is the node's and the viewers' niceness relative to the
	// caller's (--nice; negative needs root).
	Nice int
	// renice is what the node and the viewers add to this process's
	// niceness to run at the caller's (raiseWire).
	renice int
}

// niceArgs prefixes a command with nice so that it runs renice above this
// process's niceness (nothing when renice is 0).
func niceArgs(renice int, name string, args ...string) (string, []string) {
	if renice <= 0 {
		return name, args
	}
	return "nice", append([]string{"-n", strconv.Itoa(renice), name}, args...)
}

func parseSwarmGoFlags(args []string, stderr io.Writer) (swarmGoOptions, error) {
	var o swarmGoOptions
	fs := flag.NewFlagSet("swarm-go", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Net, "net", "mixed", "network profile: broadband, mobile, mixed or overload")
	fs.IntVar(&o.Viewers, "viewers", 200, "Go viewers in all")
	fs.IntVar(&o.PerHome, "per-home", 10, "viewers per home (one process per home; mobile homes' viewers are download-only)")
	scen := fs.String("scenarios", "http,super", "http (viewers over HTTP only), p2p (in the swarm, the node's super-peer off) and super (in the swarm, with the super-peer)")
	fs.DurationVar(&o.Watch, "watch", 60*time.Second, "how long each viewer watches")
	fs.DurationVar(&o.Stagger, "stagger", 100*time.Millisecond, "time between two viewers joining")
	fs.StringVar(&o.Rendition, "rendition", "mid", "the rendition every viewer plays")
	fs.StringVar(&o.Stream, "stream", liveorigin.MasterPath, "master playlist path on the node")
	fs.StringVar(&o.NodeBin, "node-bin", "", "edgeswarm binary to run (default: go build the module)")
	fs.StringVar(&o.Out, "out", "", "results folder (default bench/results in the module)")
	fs.Float64Var(&o.HTTPKeep, "http-keep", 0, "0: viewers get segments by the browser client's rule; N > 0: they keep N target durations of buffer for HTTP (at least twice their HTTP time plus 500 ms) and may wait for peers with the rest, up to 6 s")
	fs.IntVar(&o.SCTPCAStep, "sctp-ca-step", defaultSCTPCAStep, "the Go viewers' SCTP congestion-avoidance step, bytes (0: pion's, one MTU a window)")
	fs.BoolVar(&o.SlowNodePeers, "slow-node-peers", true, "viewers under the client's rule ask a viewer that holds a segment that is critical already first, for as long as their HTTP fetches take (behind a slow node every segment is critical)")
	fs.IntVar(&o.Nice, "nice", 0, "the node's and the viewers' niceness relative to this command's, -10 to 10 (the emulated wire always runs 10 below this command's)")
	o.scenarioFlags.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench swarm-go [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs the node and many Go viewers (internal/testpeer with the soak's player model) in the")
		fmt.Fprintln(stderr, "homes of an emulated internet (--net), several viewers per home, HTTP only beside the")
		fmt.Fprintln(stderr, "swarm, and reports offload against its limit, bytes by source, stalls and node CPU.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*scen, ",") {
		if s = strings.TrimSpace(s); s != scenarioHTTP && s != scenarioP2P && s != scenarioSuper {
			return o, fmt.Errorf("--scenarios: %q: want http, p2p or super", s)
		}
		if !slices.Contains(o.Scenarios, s) {
			o.Scenarios = append(o.Scenarios, s)
		}
	}
	switch {
	case o.Net == "lan" || !slices.Contains(netProfiles, o.Net):
		return o, fmt.Errorf("--net %q: want broadband, mobile, mixed or overload", o.Net)
	case o.Viewers < 1 || o.PerHome < 1:
		return o, errors.New("--viewers and --per-home must be at least 1")
	case (o.Viewers+o.PerHome-1)/o.PerHome > netem.MaxHomes:
		return o, fmt.Errorf("--viewers %d at --per-home %d needs more than %d homes", o.Viewers, o.PerHome, netem.MaxHomes)
	case o.HTTPKeep != 0 && (o.HTTPKeep < 0.5 || o.HTTPKeep > 10):
		return o, errors.New("--http-keep: want 0 (the browser client's rule) or 0.5 to 10 target durations")
	case o.Nice < -10 || o.Nice > 10:
		return o, errors.New("--nice: want -10 to 10")
	case o.Watch < 10*time.Second:
		return o, errors.New("--watch: want at least 10s")
	}
	if err := o.scenarioFlags.check(o.Watch); err != nil {
		return o, err
	}
	return o, nil
}

// swarmGoCase is one scenario's run.
type swarmGoCase struct {
	Scenario   string                    `json:"scenario"`
	Round      int                       `json:"round"` // 0.. with --repeat
	N          int                       `json:"n"`
	WANRateBps float64                   `json:"wan_rate_bps,omitempty"`
	NodeCPUS   float64                   `json:"node_cpu_s"`
	NodeHTTP   int64                     `json:"node_http_bytes"`
	NodeSeed   int64                     `json:"node_seed_bytes"`
	WallS      float64                   `json:"wall_s"`
	Homes      []swarmGoHome             `json:"homes"`
	ByKind     map[string]swarmGoSummary `json:"by_kind"`
	All        swarmGoSummary            `json:"all"`
	Errors     []string                  `json:"errors,omitempty"`

	// Pairs are the connections by NAT pair (swarmGoPairs).
	Pairs map[string]*swarmGoPair `json:"pairs,omitempty"`
	// STUN counts the node's STUN requests by result.
	STUN map[string]float64 `json:"stun,omitempty"`
	// ViewersCPUS is the CPU time of the viewers' processes (all homes).
	ViewersCPUS float64 `json:"viewers_cpu_s"`
	// WireCPUS is this process's CPU time over the case: netem's delay
	// lines, which carry every packet of the emulated internet.
	WireCPUS float64 `json:"wire_cpu_s"`
	// HostBusy is the share of all the host's CPUs busy over the case
	// (everything: the viewers, the node, and anybody else).
	HostBusy float64 `json:"host_busy"`
	// PushPaused counts the new segments the super-peer left unpushed
	// because its pushed copies landed late (seeder/policy.go).
	PushPaused float64 `json:"push_paused_segments,omitempty"`
}

type swarmGoHome struct {
	NAT     string             `json:"nat"`
	Kind    string             `json:"kind"`
	Viewers []soakViewerResult `json:"viewers"`
	Err     string             `json:"error,omitempty"`
}

// swarmGoSummary sums viewers.
type swarmGoSummary struct {
	Viewers, Joined, Stalls, Segments int
	PeerWaits, PeerMisses             int
	HTTP, P2P, Seed                   int64
	StallS, WatchedS                  float64
	// StartupS holds every viewer's start-up that started playing.
	StartupS []float64 `json:",omitempty"`
	// JoinS holds the signaling joins' times; CloseHung counts the
	// viewers whose peer did not close in time (soak.go, peerCloseWait).
	JoinS     []float64 `json:",omitempty"`
	CloseHung int       `json:",omitempty"`
}

func (s *swarmGoSummary) add(v soakViewerResult) {
	s.Viewers++
	if v.JoinError == "" {
		s.Joined++
	}
	s.Stalls += v.Stalls
	s.Segments += v.Segments
	s.PeerWaits += v.PeerWaits
	s.PeerMisses += v.PeerMisses
	s.HTTP += v.HTTP
	s.P2P += v.P2P
	s.Seed += v.Seed
	s.StallS += v.StallS
	s.WatchedS += v.WatchedS
	if v.StartupS >= 0 {
		s.StartupS = append(s.StartupS, v.StartupS)
	}
	if v.JoinS > 0 {
		s.JoinS = append(s.JoinS, v.JoinS)
	}
	if v.CloseHung {
		s.CloseHung++
	}
}

func (s swarmGoSummary) all() int64 { return s.HTTP + s.P2P + s.Seed }

func (s swarmGoSummary) offload() float64 {
	if s.all() == 0 {
		return 0
	}
	return float64(s.P2P) / float64(s.all())
}

func (s swarmGoSummary) rebuffer() float64 {
	if s.WatchedS == 0 {
		return 0
	}
	return s.StallS / (s.WatchedS + s.StallS)
}

func runSwarmGo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSwarmGoFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if ok, _ := netns.LoopbackOnly(); !ok {
		if os.Getenv(swarmGoNetnsEnv) != "" {
			return errors.New("inside the new network namespace, interfaces other than loopback are up")
		}
		return reexecIn(ctx, swarmGoNetnsEnv, stdout, stderr)
	}
	// The emulated wire (this process) ahead of the host's other work;
	// the node and the viewers at the caller's priority (niceArgs).
	renice, err := raiseWire()
	if err != nil {
		log.Warn("the emulated wire runs at normal priority", "err", err)
	}
	if renice > 0 {
		o.renice = max(0, renice+o.Nice)
	}
	root := moduleRoot(ctx)
	out, tmp, bin, err := benchFolders(ctx, "swarmgo", root, o.Out, o.NodeBin, log)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	homes := (o.Viewers + o.PerHome - 1) / o.PerHome
	ncfg, kinds, err := netProfile(o.Net, homes)
	if err != nil {
		return err
	}
	// Each viewer gets the profile's rates: a home of K viewers has K times
	// the caps (its RTT and loss are the profile's). A household does not
	// hold ten viewers; ten subscribers behind one carrier or ISP NAT do.
	for i := range ncfg.Homes {
		if o.Uplink > 0 {
			ncfg.Homes[i].Up.Rate = int64(o.Uplink)
		}
		ncfg.Homes[i].Up.Rate *= int64(o.PerHome)
		ncfg.Homes[i].Down.Rate *= int64(o.PerHome)
	}
	n, err := netem.New(ctx, ncfg, log)
	if err != nil {
		return err
	}
	defer n.Close()
	origin := &caseOrigin{f: o.scenarioFlags, tmp: tmp, bin: bin, rendition: o.Rendition}
	defer origin.stop()
	var cases []swarmGoCase
	for round := range o.Repeat {
		for _, sc := range o.Scenarios {
			originURL, err := origin.start(ctx)
			if err != nil {
				return err
			}
			log.Info("swarm-go case", "scenario", sc, "round", round, "viewers", o.Viewers, "homes", homes, "net", o.Net)
			c, err := swarmGoRun(ctx, o, sc, n, kinds, bin, self, tmp, originURL, log)
			if err != nil {
				return err
			}
			c.Round = round
			cases = append(cases, c)
		}
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	rep := map[string]any{"settings": map[string]any{"net": o.Net, "viewers": o.Viewers, "per_home": o.PerHome, "homes": describeHomes(ncfg, kinds),
		"watch_s": o.Watch.Seconds(), "stagger_ms": o.Stagger.Milliseconds(), "rendition": o.Rendition,
		"sctp_ca_step": o.SCTPCAStep, "http_keep": o.HTTPKeep, "nice": o.Nice, "slow_node_peers": o.SlowNodePeers, "scenario": o.scenarioFlags.settings()}, "cases": cases}
	path := filepath.Join(out, "swarmgo-"+stamp+".json")
	if err := writeJSON(path, rep); err != nil {
		return err
	}
	var b bytes.Buffer
	writeSwarmGoMarkdown(&b, o, cases)
	if o.Repeat > 1 {
		writeSwarmGoRepeat(&b, o, cases)
	}
	fmt.Fprintf(&b, "\nresults: %s\n", path)
	_, err = stdout.Write(b.Bytes())
	return err
}

// swarmGoRun runs one scenario on a fresh node: every home's viewers, in
// one process per home inside the home's namespace.
func swarmGoRun(ctx context.Context, o swarmGoOptions, scenario string, n *netem.Net, kinds []string, bin, self, tmp, originURL string, log *slog.Logger) (swarmGoCase, error) {
	c := swarmGoCase{Scenario: scenario, N: o.Viewers, ByKind: map[string]swarmGoSummary{}}
	adm, err := freeAddr()
	if err != nil {
		return c, err
	}
	wan := n.WANAddr().String()
	pub := wan + ":8080"
	// A home's viewers share its NAT's address, as subscribers behind a
	// carrier NAT do, and each of their connections asks the node's STUN
	// for its address: the per-source budget is raised for that (as the
	// README says for carrier NATs), else most of the answers are dropped
	// and pairs without server-reflexive candidates never connect.
	stunRate := 20 * o.PerHome
	yaml := o.nodeYAML()
	if !strings.Contains(o.SeederYAML, "stun_") { // --seeder may set them itself
		yaml += fmt.Sprintf("  stun_rate: %d\n  stun_burst: %d\n", stunRate, 2*stunRate)
	}
	node, err := startBenchNodeNice(ctx, tmp, "node-"+scenario, bin, yaml, adm, o.renice, "--listen", pub, "--origin", originURL,
		"--ice-udp", wan+":3478", "--stun-listen", wan+":3479", "--max-conns-per-ip", "0", "--super-peer", strconv.FormatBool(scenario == scenarioSuper))
	if err != nil {
		return c, err
	}
	defer node.stop()
	client := &http.Client{Timeout: 10 * time.Second}
	if o.Net == "overload" {
		bps, err := masterBitrate(ctx, client, "http://"+pub+o.Stream, o.Rendition)
		if err != nil {
			return c, err
		}
		c.WANRateBps = overloadShare * float64(o.Viewers) * bps
		if err := capWAN(ctx, c.WANRateBps); err != nil {
			return c, err
		}
		defer func() { _ = capWAN(context.Background(), 0) }()
	}
	cpu0, _ := groupCPU(node.cmd.Process.Pid)
	host0, hostOK := hostBusy()
	wire0 := selfCPU()
	t0 := time.Now()
	homes := n.Homes()
	c.Homes = make([]swarmGoHome, len(homes))
	var wg sync.WaitGroup
	var cpuMu sync.Mutex
	left := o.Viewers
	for i, h := range homes {
		k := min(o.PerHome, left)
		left -= k
		c.Homes[i] = swarmGoHome{NAT: string(h.Config.NAT), Kind: kinds[i]}
		// Viewer j of home i joins at (j*homes + i) * stagger.
		args := []string{"home-viewers", "--base", "http://" + pub, "--stream", o.Stream, "--rendition", o.Rendition,
			"--viewers", strconv.Itoa(k), "--watch", o.Watch.String(),
			"--offset", (time.Duration(i) * o.Stagger).String(), "--every", (time.Duration(len(homes)) * o.Stagger).String(),
			"--p2p=" + strconv.FormatBool(scenario != scenarioHTTP), "--upload=" + strconv.FormatBool(kinds[i] != kindMobile),
			"--sctp-ca-step", strconv.Itoa(o.SCTPCAStep), "--http-keep", strconv.FormatFloat(o.HTTPKeep, 'g', -1, 64),
			"--slow-node-peers=" + strconv.FormatBool(o.SlowNodePeers)}
		args = append(args, o.homeArgs(i, len(homes), o.Viewers, time.Duration(o.Viewers-1)*o.Stagger)...)
		name, args := niceArgs(o.renice, self, args...)
		cmd := h.Command(ctx, name, args...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cmd.Run()
			if ps := cmd.ProcessState; ps != nil {
				cpuMu.Lock()
				c.ViewersCPUS += (ps.UserTime() + ps.SystemTime()).Seconds()
				cpuMu.Unlock()
			}
			if err == nil {
				err = json.Unmarshal(so.Bytes(), &c.Homes[i].Viewers)
			}
			if err != nil {
				c.Homes[i].Err = fmt.Sprintf("%v: %s", err, strings.TrimSpace(lastLines(se.String(), 3)))
			}
		}()
	}
	wg.Wait()
	c.WallS = time.Since(t0).Seconds()
	c.WireCPUS = (selfCPU() - wire0).Seconds()
	if host1, ok := hostBusy(); ok && hostOK && c.WallS > 0 {
		c.HostBusy = (host1 - host0).Seconds() / c.WallS / float64(runtime.NumCPU())
	}
	if cpu1, ok := groupCPU(node.cmd.Process.Pid); ok {
		c.NodeCPUS = (cpu1 - cpu0).Seconds()
	}
	if body, err := get(ctx, client, "http://"+adm+"/metrics"); err == nil {
		c.NodeHTTP = int64(metricSum(body, "edgeswarm_bytes_sent_total", `path="http"`))
		c.NodeSeed = int64(metricSum(body, "edgeswarm_seeder_sent_bytes_total", ""))
		c.PushPaused = metricSum(body, "edgeswarm_seeder_push_paused_segments_total", "")
		c.STUN = map[string]float64{}
		for _, r := range []string{"answered", "rate_limited", "malformed", "ignored"} {
			c.STUN[r] = metricSum(body, "edgeswarm_seeder_stun_requests_total", `result="`+r+`"`)
		}
	}
	for _, h := range c.Homes {
		if h.Err != "" {
			c.Errors = append(c.Errors, h.Err)
		}
		s := c.ByKind[h.NAT+" "+h.Kind]
		for _, v := range h.Viewers {
			s.add(v)
			c.All.add(v)
			if v.FirstErr != "" && len(c.Errors) < 20 {
				c.Errors = append(c.Errors, v.FirstErr)
			}
		}
		c.ByKind[h.NAT+" "+h.Kind] = s
	}
	if scenario == scenarioSuper {
		c.Pairs = swarmGoPairs(c.Homes)
	}
	log.Info("swarm-go case done", "scenario", scenario, "viewers_cpu", fmt.Sprintf("%.2f cores", c.ViewersCPUS/max(c.WallS, 1)), "offload", fmt.Sprintf("%.1f%%", 100*c.All.offload()), "stalls", c.All.Stalls)
	return c, nil
}

// masterBitrate is the AVERAGE-BANDWIDTH (else BANDWIDTH) of the variant
// of the master playlist at master whose URI contains rendition.
func masterBitrate(ctx context.Context, c *http.Client, master, rendition string) (float64, error) {
	body, err := get(ctx, c, master)
	if err != nil {
		return 0, err
	}
	bps, err := parseMasterBitrate(body, rendition)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", master, err)
	}
	return bps, nil
}

// parseMasterBitrate reads the bitrate of the first variant of a master
// playlist whose URI contains rendition.
func parseMasterBitrate(body []byte, rendition string) (float64, error) {
	lines := strings.Split(string(body), "\n")
	for i := 0; i+1 < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "#EXT-X-STREAM-INF:") || !strings.Contains(lines[i+1], rendition) {
			continue
		}
		for _, key := range []string{"AVERAGE-BANDWIDTH=", "BANDWIDTH="} {
			for _, a := range strings.Split(strings.TrimPrefix(l, "#EXT-X-STREAM-INF:"), ",") {
				if v, ok := strings.CutPrefix(a, key); ok {
					if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 && f < 1e12 {
						return f, nil
					}
				}
			}
		}
	}
	return 0, fmt.Errorf("no variant with %q and a bandwidth", rendition)
}

// capWAN caps the node's uplink (the wan bridge's egress) at bps (0: no cap).
func capWAN(ctx context.Context, bps float64) error {
	if bps <= 0 {
		_ = execQuiet(ctx, "tc", "qdisc", "del", "dev", "wan", "root")
		return nil
	}
	burst := max(int64(bps/8/200), 2*1514)
	return execQuiet(ctx, "tc", "qdisc", "replace", "dev", "wan", "root", "tbf", "rate", strconv.FormatInt(int64(bps), 10)+"bit",
		"burst", strconv.FormatInt(burst, 10), "latency", "100ms")
}

func get(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// metricSum sums the samples of a Prometheus metric whose labels contain
// the given text.
func metricSum(body []byte, name, labels string) float64 {
	sum := 0.0
	for line := range strings.Lines(string(body)) {
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') || !strings.Contains(rest, labels) {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) > 0 {
			v, _ := strconv.ParseFloat(f[0], 64)
			sum += v
		}
	}
	return sum
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], " | ")
}

func writeSwarmGoMarkdown(b *bytes.Buffer, o swarmGoOptions, cases []swarmGoCase) {
	fmt.Fprintf(b, "## swarm-go: %d Go viewers, %d per home, --net %s, watching %v\n\n", o.Viewers, o.PerHome, o.Net, o.Watch)
	fmt.Fprintln(b, "| scenario | viewers | offload | limit | http MiB | p2p MiB | seed MiB | node egress MiB | stalls (n / s) | rebuffer % | start-up p50 / p95 ms | node CPU % | host busy | node uplink |")
	fmt.Fprintln(b, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, c := range cases {
		uplink := "–"
		if c.WANRateBps > 0 {
			uplink = fmt.Sprintf("%.1f Mbit/s", c.WANRateBps/1e6)
		}
		cpu := 0.0
		if c.WallS > 0 {
			cpu = 100 * c.NodeCPUS / c.WallS
		}
		a := c.All
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %d / %.1f | %.2f | %s | %.1f | %s | %s |\n", c.Scenario, a.Viewers, pct(a.offload()), pct(1-1/float64(max(a.Viewers, 1))),
			mibNum(a.HTTP), mibNum(a.P2P), mibNum(a.Seed), mibNum(c.NodeHTTP+c.NodeSeed), a.Stalls, a.StallS, 100*a.rebuffer(), a.startup(), cpu, pct(c.HostBusy), uplink)
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| scenario | homes | viewers (joined) | offload | http MiB | p2p MiB | seed MiB | stalls | waits for peers (missed) |")
	fmt.Fprintln(b, "|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, c := range cases {
		keys := make([]string, 0, len(c.ByKind))
		for k := range c.ByKind {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			s := c.ByKind[k]
			fmt.Fprintf(b, "| %s | %s | %d (%d) | %s | %s | %s | %s | %d | %d (%d) |\n", c.Scenario, k, s.Viewers, s.Joined, pct(s.offload()), mibNum(s.HTTP), mibNum(s.P2P), mibNum(s.Seed), s.Stalls, s.PeerWaits, s.PeerMisses)
		}
	}
	fmt.Fprintln(b)
	for _, c := range cases {
		fmt.Fprintf(b, "%s viewers' CPU: %.1f s in %.0f s, %.2f cores (%.4f a viewer); the emulated wire's (delay lines): %.2f cores\n", c.Scenario, c.ViewersCPUS, c.WallS, c.ViewersCPUS/max(c.WallS, 1), c.ViewersCPUS/max(c.WallS, 1)/float64(max(c.N, 1)), c.WireCPUS/max(c.WallS, 1))
		if len(c.All.JoinS) > 0 || c.All.CloseHung > 0 {
			fmt.Fprintf(b, "%s signaling joins p50 / p95: %s ms; peers whose close hung: %d\n", c.Scenario, p50p95ms(c.All.JoinS), c.All.CloseHung)
		}
	}
	for _, c := range cases {
		writeSwarmGoPairs(b, c)
		if c.STUN != nil && c.Scenario == scenarioSuper {
			fmt.Fprintf(b, "\n%s node STUN requests: %.0f answered, %.0f rate-limited\n", c.Scenario, c.STUN["answered"], c.STUN["rate_limited"])
		}
	}
	for _, c := range cases {
		for i, e := range c.Errors {
			if i == 0 {
				fmt.Fprintf(b, "\n%s errors:\n", c.Scenario)
			}
			fmt.Fprintf(b, "- %s\n", oneLine(e))
		}
	}
}

// runHomeViewers is the hidden home-viewers command that swarm-go runs in
// each home's namespace: --viewers Go viewers of the soak's model, viewer
// j joining at --offset + j × --every and watching for --watch; it prints
// their results as a JSON array.
func runHomeViewers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("home-viewers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "", "the node's public URL")
	stream := fs.String("stream", liveorigin.MasterPath, "master playlist path")
	rendition := fs.String("rendition", "mid", "rendition")
	k := fs.Int("viewers", 1, "viewers")
	watch := fs.Duration("watch", time.Minute, "how long each watches")
	offset := fs.Duration("offset", 0, "when the first joins")
	every := fs.Duration("every", time.Second, "between two joins")
	p2p := fs.Bool("p2p", true, "join the swarm")
	upload := fs.Bool("upload", true, "serve other viewers")
	stun := fs.String("stun", "", "STUN URL for server-reflexive candidates")
	caStep := fs.Int("sctp-ca-step", 0, "SCTP congestion-avoidance step, bytes (0: pion's)")
	httpKeep := fs.Float64("http-keep", 0, "0: the browser client's rule; N > 0: target durations of buffer kept for HTTP")
	slowPeers := fs.Bool("slow-node-peers", true, "under the client's rule, ask a viewer that holds a critical segment first, for as long as HTTP takes")
	var hs homeScenario
	hs.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" {
		return errors.New("home-viewers: --base is required")
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name != "lo" })
	if *caStep > 0 {
		se.SetSCTPCwndCAStep(uint32(*caStep))
	}
	s := &soak{o: soakOptions{Stream: *stream, Rendition: *rendition, P2P: *p2p}, base: *base, client: &http.Client{Timeout: 10 * time.Second},
		peer: testpeer.Options{API: rtcwire.DataOnlyAPI(se)}, noUpload: !*upload, fetchPeers: true, httpKeep: *httpKeep}
	s.peer.ICEServers = true // the welcome's: the node's STUN, TURN with minted credentials
	if *stun != "" {
		s.peer.ExtraICEServers = []webrtc.ICEServer{{URLs: []string{*stun}}}
	}
	s.shareHTTP, s.behind, s.slowPeers = *httpKeep == 0, hs.behind, *slowPeers
	return json.NewEncoder(stdout).Encode(hs.run(ctx, s, *k, *offset, *every, *watch))
}

// reexecIn runs this command again in a new network namespace with only
// loopback up, with env set to mark the re-run (as the soak does).
func reexecIn(ctx context.Context, env string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("the emulated internet needs root (network namespaces, nftables, tc)")
	}
	a := append([]string{"-n", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, exe}, os.Args[1:]...)
	cmd := exec.CommandContext(ctx, "unshare", a...)
	cmd.Env = append(os.Environ(), env+"=1")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("in its network namespace: %w", err)
	}
	return nil
}

// execQuiet runs a command and returns its output in the error.
func execQuiet(ctx context.Context, name string, args ...string) error {
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
