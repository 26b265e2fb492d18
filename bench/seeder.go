package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/procstat"
)

// The seeder benchmark runs the node (the real binary, its own process)
// with its synthetic demo origin and has K Go viewers, in another process
// and another network namespace behind an emulated link of a given RTT,
// fetch the same live segments from the node's super-peer over
// DataChannels and then over HTTP. The node's CPU time comes from
// /proc/<pid>/stat, so both figures are the node's alone.

type seederOptions struct {
	Viewers     []int
	RTTs        []time.Duration
	MB          float64
	SegmentSize string
	Segments    int
	Inflight    int
	RWnd        string
	SeederYAML  string
	CacheFill   float64
	IdlePCs     int
	Idle        time.Duration
	IdleRTT     time.Duration
	NodeBin     string
	CompareBin  string
	Profile     string
	ProfileFor  time.Duration
	JSON        bool
}

// Floors of the issue, for the first binary at 20 ms.
const (
	seederFloorRTT       = 20 * time.Millisecond
	seederFloorCPUPerMB  = 0.015 // CPU-seconds per MB over DataChannels
	seederFloorSingleMBs = 12.5  // one PeerConnection: 100 Mbit/s
)

// delayLinkMTU is the emulated link's MTU: an Ethernet path, as a viewer
// has.
const delayLinkMTU = 1500

// The emulated link's addresses: a /30 of its own inside the bench's
// private namespaces.
const (
	seederNodeIface   = "esnode0"
	seederViewerIface = "esview0"
	seederNodeIP      = "10.77.0.1"
	seederViewerAddr  = "10.77.0.2/30"
)

func parseSeederFlags(args []string, stderr io.Writer) (seederOptions, error) {
	o := seederOptions{}
	fs := flag.NewFlagSet("seeder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	viewers := fs.String("viewers", "1,20", "comma-separated viewer counts, one row each (1: a single PeerConnection)")
	rtts := fs.String("rtt", "0,20,60", "comma-separated round-trip times of the emulated link in ms, one row each")
	fs.Float64Var(&o.MB, "mb", 64, "MB each path carries per row (whole rounds of every viewer fetching every segment, at least one)")
	fs.StringVar(&o.SegmentSize, "segment-size", "1MiB", "synthetic segment size")
	fs.IntVar(&o.Segments, "segments", 4, "distinct live segments every viewer fetches in turn")
	fs.IntVar(&o.Inflight, "inflight", 2, "requests each viewer keeps going on its DataChannel (the client's max_inflight) and HTTP connections it uses")
	fs.StringVar(&o.RWnd, "viewer-rwnd", "0", "the Go viewers' SCTP receive buffer, which caps the data in flight to each (0: pion's 1 MiB; Chrome's is larger)")
	fs.StringVar(&o.SeederYAML, "seeder", "", "extra seeder keys for the node(s), YAML separated by ';', e.g. 'send_buffer: 2MiB; udp_gso: false'")
	fs.Float64Var(&o.CacheFill, "cache-fill", 256, "MB of VOD segments the node caches before each row, as a node in service holds: its garbage collector then runs as rarely as in production (0: only the live segments)")
	fs.IntVar(&o.IdlePCs, "idle-pcs", 0, "also hold this many PeerConnections on one node and measure their idle keep-alive CPU and memory (0: skip)")
	fs.DurationVar(&o.Idle, "idle", 30*time.Second, "how long the idle PeerConnections are measured")
	fs.DurationVar(&o.IdleRTT, "idle-rtt", 20*time.Millisecond, "RTT of the link in the idle measurement")
	fs.StringVar(&o.NodeBin, "node-bin", "", "edgeswarm binary to measure (default: go build the module into a temp dir)")
	fs.StringVar(&o.CompareBin, "compare-node-bin", "", "a second edgeswarm binary (e.g. built from main) measured in the same run, row for row, as the baseline")
	fs.StringVar(&o.Profile, "pprof", "", "folder for CPU profiles of the node during each DataChannel phase")
	fs.DurationVar(&o.ProfileFor, "pprof-for", 5*time.Second, "length of each CPU profile, from the start of the phase (make --mb large enough that the phase lasts as long)")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object instead of the markdown table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench seeder [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "The node's super-peer against its HTTP front on the same live segments: Go viewers in another")
		fmt.Fprintln(stderr, "process and network namespace fetch over DataChannels, then over HTTP, across an emulated link")
		fmt.Fprintln(stderr, "of each --rtt. Reports MB/s, the node process's CPU-seconds per MB of both, their ratio and the")
		fmt.Fprintln(stderr, "memory per PeerConnection. Exit status: 0 floors met, 1 a floor missed, 2 the benchmark could not run.")
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
	if o.Viewers, err = parseIntList(*viewers, 1, 2000); err != nil {
		return o, fmt.Errorf("--viewers: %w", err)
	}
	ms, err := parseIntList(*rtts, 0, 1000)
	if err != nil {
		return o, fmt.Errorf("--rtt: %w", err)
	}
	for _, m := range ms {
		o.RTTs = append(o.RTTs, time.Duration(m)*time.Millisecond)
	}
	switch {
	case !(o.MB > 0):
		return o, fmt.Errorf("--mb: %v, must be positive", o.MB)
	case o.Inflight < 1 || o.Inflight > 16:
		return o, fmt.Errorf("--inflight: %d, allowed 1..16 (max_inflight)", o.Inflight)
	case o.Segments < 1 || o.Segments > 10:
		return o, fmt.Errorf("--segments: %d, allowed 1..10 (the live window)", o.Segments)
	case o.CacheFill < 0 || o.CacheFill > 900:
		return o, fmt.Errorf("--cache-fill: %v MB, allowed 0..900 (the VOD stream's size)", o.CacheFill)
	case o.IdlePCs < 0 || o.IdlePCs > 5000:
		return o, fmt.Errorf("--idle-pcs: %d, allowed 0..5000", o.IdlePCs)
	case o.IdlePCs > 0 && o.Idle < time.Second:
		return o, fmt.Errorf("--idle: %v, at least 1s", o.Idle)
	}
	if n, err := parseSize(o.RWnd); o.RWnd != "0" && (err != nil || n > 64<<20) {
		return o, fmt.Errorf("--viewer-rwnd: %q, want 0..64MiB", o.RWnd)
	}
	if n, err := parseSize(o.SegmentSize); err != nil || n < 1 || n > 64<<20 {
		return o, fmt.Errorf("--segment-size: %q, want 1B..64MiB", o.SegmentSize)
	}
	return o, nil
}

// mustSize is parseSize of a value the flags checked ("0" is 0).
func mustSize(s string) int64 {
	n, _ := parseSize(s)
	return n
}

// parseIntList parses "1,20,60" with every value in [lo, hi].
func parseIntList(s string, lo, hi int) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%q: want integers %d..%d separated by commas", s, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// seederRow is one measured configuration of one binary.
type seederRow struct {
	Binary       string  `json:"binary"`
	RTTms        float64 `json:"rtt_ms"`
	MeasuredRTT  float64 `json:"measured_rtt_ms"`
	Viewers      int     `json:"viewers"`
	SegmentBytes int     `json:"segment_bytes"`
	MB           float64 `json:"mb"`
	ConnectS     float64 `json:"connect_s"`
	DCMBs        float64 `json:"datachannel_mb_s"`
	HTTPMBs      float64 `json:"http_mb_s"`
	DCCPU        float64 `json:"datachannel_cpu_s_per_mb"`
	HTTPCPU      float64 `json:"http_cpu_s_per_mb"`
	// CPURatio is DCCPU / HTTPCPU: how many times the CPU a DataChannel
	// byte costs the node compared with an HTTP byte.
	CPURatio float64 `json:"cpu_ratio"`
	// SpeedRatio is DCMBs / HTTPMBs.
	SpeedRatio float64 `json:"speed_ratio"`
	PCHeap     float64 `json:"heap_bytes_per_pc"`
	PCRSS      float64 `json:"rss_bytes_per_pc"`
	// HostBusyDC and HostBusyHTTP are the CPUs the whole host kept busy
	// during each phase, in cores, and OtherBusy* the part that was not
	// the node (the viewers, the emulated link, everyone else).
	HostBusyDC    float64 `json:"host_busy_cores_dc"`
	HostBusyHTTP  float64 `json:"host_busy_cores_http"`
	OtherBusyDC   float64 `json:"other_busy_cores_dc"`
	OtherBusyHTTP float64 `json:"other_busy_cores_http"`
	LinkDrops     int64   `json:"link_drops"`
	// UDPDrops* are the datagrams dropped for full socket receive
	// buffers during the DataChannel phase: at the viewers (the node's
	// data) and at the node (the viewers' acknowledgements). Each costs
	// an SCTP retransmission and a smaller congestion window.
	UDPDropsViewers int64 `json:"udp_drops_viewers"`
	// DatagramsPerCall is the super-peer's UDP datagrams per system call
	// in the DataChannel phase (batched sends, seeder.udp_gso); 0 when
	// the binary does not batch.
	DatagramsPerCall float64 `json:"udp_datagrams_per_call"`
	UDPDropsNode     int64   `json:"udp_drops_node"`
}

// seederIdle is the idle keep-alive cost of many held PeerConnections.
type seederIdle struct {
	Binary   string  `json:"binary"`
	RTTms    float64 `json:"rtt_ms"`
	PCs      int     `json:"pcs"`
	Held     float64 `json:"held_by_node"`
	Open     int     `json:"open_at_viewers"`
	ConnectS float64 `json:"connect_s"`
	// Retries is how many viewers connected only at their second join
	// (the first timed out after 2 minutes, as on a saturated host).
	Retries int     `json:"join_retries"`
	IdleS   float64 `json:"idle_s"`
	// CPUPercent is the node's CPU over the idle window, in percent of
	// one core, and CPUmsPerPCMin the same per PeerConnection and minute.
	CPUPercent    float64 `json:"cpu_percent"`
	CPUmsPerPCMin float64 `json:"cpu_ms_per_pc_min"`
	PCHeap        float64 `json:"heap_bytes_per_pc"`
	PCRSS         float64 `json:"rss_bytes_per_pc"`
	RSS           int64   `json:"rss_bytes"`
	HostBusy      float64 `json:"host_busy_cores"`
}

type seederReport struct {
	Settings map[string]any `json:"settings"`
	Host     struct {
		CPU   string `json:"cpu"`
		CPUs  int    `json:"cpus"`
		Start string `json:"start"`
	} `json:"host"`
	Rows   []seederRow   `json:"rows"`
	Idle   []seederIdle  `json:"idle,omitempty"`
	Floors []seederFloor `json:"floors"`
}

// seederFloor is one floor of the issue and whether the run met it.
type seederFloor struct {
	Name  string  `json:"name"`
	Want  string  `json:"want"`
	Got   float64 `json:"got"`
	Met   bool    `json:"met"`
	Where string  `json:"where"`
}

func runSeeder(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSeederFlags(args, stderr)
	if err != nil {
		return err
	}
	if ok, _ := netns.LoopbackOnly(); !ok {
		if os.Getenv(soakNetnsEnv) != "" {
			return errors.New("inside the new network namespace, interfaces other than loopback are up")
		}
		return reexecInNetns(ctx, stdout, stderr)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	tmp, err := os.MkdirTemp("", "edgeswarm-bench-seeder-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins := []struct{ label, path string }{{"edgeswarm", o.NodeBin}}
	if bins[0].path == "" {
		if bins[0].path, err = buildNode(ctx, tmp, log); err != nil {
			return err
		}
	}
	if o.CompareBin != "" {
		bins = append(bins, struct{ label, path string }{"baseline", o.CompareBin})
	}
	if o.Profile != "" {
		if err := os.MkdirAll(o.Profile, 0o755); err != nil {
			return err
		}
	}
	rep := &seederReport{Settings: map[string]any{
		"viewers": o.Viewers, "rtt_ms": rttList(o.RTTs), "mb_per_path": o.MB, "segment_size": o.SegmentSize,
		"segments": o.Segments, "inflight": o.Inflight, "viewer_rwnd": o.RWnd, "seeder": o.SeederYAML, "cache_fill_mb": o.CacheFill, "idle_pcs": o.IdlePCs, "idle": o.Idle.String(), "compare": o.CompareBin != "",
		"link": fmt.Sprintf("TUN pair between two network namespaces, packets forwarded by the bench with rtt/2 each way, MTU %d", delayLinkMTU),
	}}
	rep.Host.CPU, rep.Host.CPUs, rep.Host.Start = cpuModel(), runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339)
	r := &seederRun{o: o, log: log, tmp: tmp}
	flip := false
	for _, rtt := range o.RTTs {
		for _, k := range o.Viewers {
			order := bins
			if flip && len(bins) == 2 { // drift in the machine's load is shared
				order = []struct{ label, path string }{bins[1], bins[0]}
			}
			flip = !flip
			for _, b := range order {
				log.Info("row", "binary", b.label, "rtt", rtt, "viewers", k)
				row, err := r.row(ctx, b.label, b.path, rtt, k)
				if err != nil {
					return fmt.Errorf("%s, rtt %v, %d viewers: %w", b.label, rtt, k, err)
				}
				log.Info("row done", "dc_mb_s", round2(row.DCMBs), "http_mb_s", round2(row.HTTPMBs),
					"dc_cpu_s_per_mb", round4(row.DCCPU), "http_cpu_s_per_mb", round4(row.HTTPCPU))
				rep.Rows = append(rep.Rows, row)
			}
		}
	}
	var idleErr error
	if o.IdlePCs > 0 {
		for _, b := range bins {
			log.Info("idle", "binary", b.label, "pcs", o.IdlePCs)
			id, err := r.idle(ctx, b.label, b.path)
			if err != nil {
				// The rows are measured: report them, then fail.
				idleErr = fmt.Errorf("%s, %d idle PeerConnections: %w", b.label, o.IdlePCs, err)
				break
			}
			rep.Idle = append(rep.Idle, id)
		}
	}
	rep.Floors = seederFloors(rep, o)
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeSeederTable(stdout, rep)
	}
	if idleErr != nil {
		return idleErr
	}
	for _, f := range rep.Floors {
		if !f.Met {
			return fmt.Errorf("%w: %s", errFloorMissed, f.Name)
		}
	}
	return nil
}

func rttList(rtts []time.Duration) []float64 {
	out := make([]float64, len(rtts))
	for i, r := range rtts {
		out[i] = float64(r.Milliseconds())
	}
	return out
}

// seederFloors judges the first binary's rows at 20 ms and the idle run.
func seederFloors(rep *seederReport, o seederOptions) []seederFloor {
	var out []seederFloor
	for _, r := range rep.Rows {
		if r.Binary != "edgeswarm" || r.RTTms != float64(seederFloorRTT.Milliseconds()) {
			continue
		}
		where := fmt.Sprintf("%d viewers at %g ms", r.Viewers, r.RTTms)
		out = append(out, seederFloor{Name: "node CPU-s per MB over DataChannels", Want: fmt.Sprintf("<= %g", seederFloorCPUPerMB),
			Got: r.DCCPU, Met: r.DCCPU <= seederFloorCPUPerMB, Where: where})
		if r.Viewers == 1 {
			out = append(out, seederFloor{Name: "one PeerConnection MB/s", Want: fmt.Sprintf(">= %g (100 Mbit/s)", seederFloorSingleMBs),
				Got: r.DCMBs, Met: r.DCMBs >= seederFloorSingleMBs, Where: where})
		}
	}
	for _, id := range rep.Idle {
		if id.Binary != "edgeswarm" {
			continue
		}
		out = append(out, seederFloor{Name: "PeerConnections held on one node", Want: fmt.Sprintf(">= %d", o.IdlePCs),
			Got: id.Held, Met: id.Held >= float64(o.IdlePCs) && id.Open >= o.IdlePCs, Where: fmt.Sprintf("after %v idle", o.Idle)})
	}
	return out
}

func writeSeederTable(w io.Writer, rep *seederReport) {
	fmt.Fprintf(w, "host: %s, %d CPUs, %s\n\n", rep.Host.CPU, rep.Host.CPUs, rep.Host.Start)
	fmt.Fprintln(w, "| binary | RTT ms (measured) | viewers | DC MB/s | HTTP MB/s | DC CPU-s/MB | HTTP CPU-s/MB | CPU DC/HTTP | heap/PC KiB | RSS/PC KiB | host busy cores DC/HTTP (not node) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "| %s | %g (%.1f) | %d | %.1f | %.1f | %.4f | %.4f | %.1fx | %.0f | %.0f | %.2f/%.2f (%.2f/%.2f) |\n",
			r.Binary, r.RTTms, r.MeasuredRTT, r.Viewers, r.DCMBs, r.HTTPMBs, r.DCCPU, r.HTTPCPU, r.CPURatio,
			r.PCHeap/1024, r.PCRSS/1024, r.HostBusyDC, r.HostBusyHTTP, r.OtherBusyDC, r.OtherBusyHTTP)
	}
	if len(rep.Idle) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| binary | idle PCs (held by node / open at viewers) | connect s (retries) | RTT ms | idle | node CPU % | CPU ms per PC-minute | heap/PC KiB | RSS/PC KiB | node RSS MiB |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
		for _, id := range rep.Idle {
			fmt.Fprintf(w, "| %s | %d (%g / %d) | %.1f (%d) | %g | %.0fs | %.1f | %.2f | %.0f | %.0f | %d |\n",
				id.Binary, id.PCs, id.Held, id.Open, id.ConnectS, id.Retries, id.RTTms, id.IdleS, id.CPUPercent, id.CPUmsPerPCMin, id.PCHeap/1024, id.PCRSS/1024, id.RSS>>20)
		}
	}
	fmt.Fprintln(w)
	for _, f := range rep.Floors {
		verdict := "met"
		if !f.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "- floor %s %s (%s): %.4g, %s\n", f.Name, f.Want, f.Where, f.Got, verdict)
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// seederRun holds what every row shares.
type seederRun struct {
	o   seederOptions
	log *slog.Logger
	tmp string
	n   int // rows started, for file names
}

// seederSetup is one node with its viewers behind one emulated link.
type seederSetup struct {
	link    *delayLink
	node    *proc
	viewers *svProc
	admin   string
	token   string
	client  *http.Client
}

func (s *seederSetup) close() {
	if s.viewers != nil {
		s.viewers.quit()
	}
	if s.node != nil {
		s.node.stop()
	}
	if s.link != nil {
		s.link.Close()
	}
}

// adminToken opens the node's /debug/pprof for the bench.
const adminToken = "edgeswarm-bench-seeder-token"

// setup starts the link, the viewers' process (in a namespace of its own,
// across the link) and the node, with maxPeers PeerConnections allowed.
func (r *seederRun) setup(ctx context.Context, label, bin string, rtt time.Duration, viewers int) (s *seederSetup, err error) {
	r.n++
	s = &seederSetup{token: adminToken, client: &http.Client{Timeout: 60 * time.Second}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.link, err = newDelayLink(seederNodeIface, seederNodeIP+"/30", seederViewerIface, rtt); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", seederNodeIP+":0")
	if err != nil {
		return nil, err
	}
	pub := l.Addr().String()
	l.Close()
	adm, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.admin = "http://" + adm
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%02d-%s", r.n, label)
	if s.viewers, err = startViewers(r.tmp, name+"-viewers", exe, "seeder-viewers", "--node", "http://"+pub, "--viewers", strconv.Itoa(viewers),
		"--segments", strconv.Itoa(r.o.Segments), "--inflight", strconv.Itoa(r.o.Inflight), "--rwnd", strconv.FormatInt(mustSize(r.o.RWnd), 10), "--iface", seederViewerIface, "--addr", seederViewerAddr); err != nil {
		return nil, err
	}
	if err := s.link.moveTo(s.viewers.cmd.Process.Pid); err != nil {
		return nil, err
	}
	if _, err := s.viewers.do(ctx, svCommand{Cmd: "net"}); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf("admin_token: %s\nmax_conns_per_ip: 0\ndemo:\n  synthetic: true\n  segment_size: %s\n"+
		"seeder:\n  push_k: 0\n  busy_holders: 0\n  max_peers: %d\n", adminToken, r.o.SegmentSize, max(2000, viewers+100))
	for kv := range strings.SplitSeq(r.o.SeederYAML, ";") {
		if kv = strings.TrimSpace(kv); kv != "" {
			cfg += "  " + kv + "\n"
		}
	}
	cfgPath := filepath.Join(r.tmp, name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if s.node, err = startProc(r.tmp, name+"-node", bin, "--config", cfgPath, "--listen", pub, "--admin", adm,
		"--ice-udp", seederNodeIP+":0", "--cache-size", "1GiB", "--super-peer", "true"); err != nil {
		return nil, err
	}
	if err := s.node.waitReady(ctx, s.client, s.admin+"/readyz", 200, 30*time.Second); err != nil {
		return nil, err
	}
	if err := fillCache(ctx, s.client, "http://"+pub, r.o.CacheFill*1e6); err != nil {
		return nil, s.node.failure(fmt.Errorf("filling the cache: %w", err))
	}
	return s, nil
}

// fillCache fetches VOD segments from the node, rendition after
// rendition, until it has fetched mb bytes: the node's cache then holds
// what a node in service holds, and its garbage collector, whose cycles
// come once the heap has grown by a share of what is live, runs as
// rarely as there.
func fillCache(ctx context.Context, c *http.Client, base string, bytes float64) error {
	var got float64
	for _, rendition := range []string{"low", "mid", "high"} {
		pl := base + "/vod/" + rendition + "/index.m3u8"
		body, err := getBytes(ctx, c, pl)
		if err != nil {
			return err
		}
		for line := range strings.Lines(string(body)) {
			line = strings.TrimSpace(line)
			if got >= bytes {
				return nil
			}
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			b, err := getBytes(ctx, c, resolveURL(pl, line))
			if err != nil {
				return err
			}
			got += float64(len(b))
		}
	}
	if got < bytes {
		return fmt.Errorf("the VOD stream has only %.0f MB", got/1e6)
	}
	return nil
}

// row measures one binary at one RTT with k viewers.
func (r *seederRun) row(ctx context.Context, label, bin string, rtt time.Duration, k int) (seederRow, error) {
	row := seederRow{Binary: label, RTTms: float64(rtt.Milliseconds()), Viewers: k}
	s, err := r.setup(ctx, label, bin, rtt, k)
	if err != nil {
		return row, err
	}
	defer s.close()
	w, err := s.viewers.do(ctx, svCommand{Cmd: "warm"})
	if err != nil {
		return row, s.node.failure(err)
	}
	m0, err := s.memory(ctx)
	if err != nil {
		return row, err
	}
	j, err := s.viewers.do(ctx, svCommand{Cmd: "join"})
	if err != nil {
		return row, s.node.failure(err)
	}
	m1, err := s.memory(ctx)
	if err != nil {
		return row, err
	}
	row.MeasuredRTT, row.SegmentBytes, row.ConnectS = w.RTTms, w.SegmentBytes, j.ConnectS
	row.PCHeap = float64(m1.heap-m0.heap) / float64(k)
	row.PCRSS = float64(m1.rss-m0.rss) / float64(k)
	perRound := float64(k * w.Segments * w.SegmentBytes)
	rounds := max(r.o.Inflight, int(math.Ceil(r.o.MB*1e6/perRound)))
	row.MB = float64(rounds) * perRound / 1e6

	for _, path := range []string{"dc", "http"} {
		metric, sel := "edgeswarm_seeder_sent_bytes_total", ""
		if path == "http" {
			metric, sel = "edgeswarm_bytes_sent_total", `path="http"`
		}
		sent0, err := s.metric(ctx, metric, sel)
		if err != nil {
			return row, err
		}
		var prof chan error
		if path == "dc" && r.o.Profile != "" {
			prof = make(chan error, 1)
			file := filepath.Join(r.o.Profile, fmt.Sprintf("seeder-%s-rtt%d-v%d.pprof", label, rtt.Milliseconds(), k))
			go func() { prof <- s.profile(ctx, file, r.o.ProfileFor) }()
		}
		dg0, _ := s.metric(ctx, "edgeswarm_seeder_udp_datagrams_total", "")
		calls0, _ := s.metric(ctx, "edgeswarm_seeder_udp_send_calls_total", "")
		pid := s.node.cmd.Process.Pid
		cpu0, _ := groupCPU(pid)
		host0, _ := hostBusy()
		drops0 := procstat.UDPRcvbufErrors()
		res, err := s.viewers.do(ctx, svCommand{Cmd: path, Rounds: rounds})
		drops := procstat.UDPRcvbufErrors() - drops0
		cpu1, _ := groupCPU(pid)
		host1, _ := hostBusy()
		if err != nil {
			return row, s.node.failure(fmt.Errorf("%s phase: %w", path, err))
		}
		if prof != nil {
			if err := <-prof; err != nil {
				r.log.Warn("cpu profile", "err", err)
			}
		}
		sent1, err := s.metric(ctx, metric, sel)
		if err != nil {
			return row, err
		}
		if got := sent1 - sent0; int64(got) < res.Bytes {
			return row, fmt.Errorf("%s phase: the node counted %.0f bytes sent, the viewers verified %d", path, got, res.Bytes)
		}
		mb := float64(res.Bytes) / 1e6
		cpuS := (cpu1 - cpu0).Seconds()
		host := (host1 - host0).Seconds() / res.Seconds
		if path == "dc" {
			row.DCMBs, row.DCCPU = mb/res.Seconds, cpuS/mb
			row.UDPDropsViewers, row.UDPDropsNode = res.UDPDrops, drops
			dg1, _ := s.metric(ctx, "edgeswarm_seeder_udp_datagrams_total", "")
			calls1, _ := s.metric(ctx, "edgeswarm_seeder_udp_send_calls_total", "")
			if calls1 > calls0 {
				row.DatagramsPerCall = (dg1 - dg0) / (calls1 - calls0)
			}
			row.HostBusyDC, row.OtherBusyDC = host, host-cpuS/res.Seconds
		} else {
			row.HTTPMBs, row.HTTPCPU = mb/res.Seconds, cpuS/mb
			row.HostBusyHTTP, row.OtherBusyHTTP = host, host-cpuS/res.Seconds
		}
	}
	if row.HTTPCPU > 0 {
		row.CPURatio = row.DCCPU / row.HTTPCPU
	}
	if row.HTTPMBs > 0 {
		row.SpeedRatio = row.DCMBs / row.HTTPMBs
	}
	row.LinkDrops = s.link.Dropped()
	return row, nil
}

// idle holds o.IdlePCs PeerConnections on one node and measures what
// keeping them costs it while nothing is sent.
func (r *seederRun) idle(ctx context.Context, label, bin string) (seederIdle, error) {
	n := r.o.IdlePCs
	id := seederIdle{Binary: label, RTTms: float64(r.o.IdleRTT.Milliseconds()), PCs: n}
	s, err := r.setup(ctx, label, bin, r.o.IdleRTT, n)
	if err != nil {
		return id, err
	}
	defer s.close()
	if _, err := s.viewers.do(ctx, svCommand{Cmd: "warm"}); err != nil {
		return id, s.node.failure(err)
	}
	m0, err := s.memory(ctx)
	if err != nil {
		return id, err
	}
	j, err := s.viewers.do(ctx, svCommand{Cmd: "join"})
	if err != nil {
		return id, s.node.failure(err)
	}
	id.ConnectS, id.Retries = j.ConnectS, j.Retries
	pid := s.node.cmd.Process.Pid
	cpu0, _ := groupCPU(pid)
	host0, _ := hostBusy()
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return id, ctx.Err()
	case <-s.node.done:
		return id, s.node.failure(errors.New("exited while idle"))
	case <-time.After(r.o.Idle):
	}
	el := time.Since(t0)
	cpu1, _ := groupCPU(pid)
	host1, _ := hostBusy()
	m1, err := s.memory(ctx)
	if err != nil {
		return id, err
	}
	if id.Held, err = s.metric(ctx, "edgeswarm_seeder_peer_connections", ""); err != nil {
		return id, err
	}
	o, err := s.viewers.do(ctx, svCommand{Cmd: "open"})
	if err != nil {
		return id, err
	}
	id.Open = o.Open
	cpu := (cpu1 - cpu0).Seconds()
	id.IdleS = el.Seconds()
	id.CPUPercent = 100 * cpu / el.Seconds()
	id.CPUmsPerPCMin = cpu * 1000 / float64(n) / el.Minutes()
	id.PCHeap = float64(m1.heap-m0.heap) / float64(n)
	id.PCRSS = float64(m1.rss-m0.rss) / float64(n)
	id.RSS = m1.rss
	id.HostBusy = (host1 - host0).Seconds() / el.Seconds()
	return id, nil
}

type nodeMemory struct{ rss, heap int64 }

// memory reads the node's RSS from /proc and its live heap (after a
// collection) from its metrics.
func (s *seederSetup) memory(ctx context.Context) (nodeMemory, error) {
	var m nodeMemory
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.node.cmd.Process.Pid))
	if err != nil {
		return m, fmt.Errorf("reading the node's /proc status: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			m.rss = kb << 10
		}
	}
	if _, err := s.get(ctx, s.admin+"/debug/pprof/heap?gc=1"); err != nil {
		return m, fmt.Errorf("forcing a collection on the node: %w", err)
	}
	h, err := s.metric(ctx, "go_memstats_heap_inuse_bytes", "")
	m.heap = int64(h)
	return m, err
}

// metric sums the node's samples of name whose labels contain label.
func (s *seederSetup) metric(ctx context.Context, name, label string) (float64, error) {
	body, err := s.get(ctx, s.admin+"/metrics")
	if err != nil {
		return 0, err
	}
	return sumMetric(string(body), name, label), nil
}

// sumMetric sums the samples of name in a Prometheus text exposition whose
// label set contains label ("" matches every sample).
func sumMetric(text, name, label string) float64 {
	var sum float64
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		labels := ""
		if rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[:end+1], rest[end+1:]
		}
		if label != "" && !strings.Contains(labels, label) {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}

func (s *seederSetup) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return b, err
}

// profile writes a CPU profile of the node over d to file.
func (s *seederSetup) profile(ctx context.Context, file string, d time.Duration) error {
	b, err := s.get(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.admin, int(d.Seconds())))
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// svProc is the viewers' process and its command pipe.
type svProc struct {
	*proc
	in  io.WriteCloser
	out *bufio.Scanner
}

// startViewers starts the viewers' process in a network namespace of its
// own (it sees only what the bench moves into it: the far end of the
// emulated link).
func startViewers(dir, name, bin string, args ...string) (*svProc, error) {
	cmd := exec.Command(bin, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	cmd.SysProcAttr = procAttr()
	if err := inNewNetNS(cmd.SysProcAttr); err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logFile.Name(), done: make(chan struct{})}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sv := &svProc{proc: p, in: in, out: sc}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return sv, nil
}

// do sends one command and waits for its reply.
func (v *svProc) do(ctx context.Context, c svCommand) (svReply, error) {
	var r svReply
	b, _ := json.Marshal(c)
	if _, err := v.in.Write(append(b, '\n')); err != nil {
		return r, v.failure(fmt.Errorf("sending %s: %w", c.Cmd, err))
	}
	got := make(chan error, 1)
	go func() {
		if !v.out.Scan() {
			got <- fmt.Errorf("no reply to %s (%v)", c.Cmd, v.out.Err())
			return
		}
		got <- json.Unmarshal(v.out.Bytes(), &r)
	}()
	select {
	case err := <-got:
		if err != nil {
			return r, v.failure(err)
		}
	case <-ctx.Done():
		return r, ctx.Err()
	}
	if r.Error != "" {
		return r, v.failure(fmt.Errorf("%s: %s", c.Cmd, r.Error))
	}
	return r, nil
}

// quit ends the viewers' process: politely, then by signal.
func (v *svProc) quit() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = v.do(ctx, svCommand{Cmd: "quit"})
	v.in.Close()
	v.stop()
}
