package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Server names as they appear in tables and JSON.
const (
	serverNode    = "edgeswarm"
	serverNginx   = "nginx"
	serverVarnish = "varnish"
	serverNodeB   = "edgeswarm-b" // --compare-node-bin
)

// cacheReport is the JSON the cache benchmark writes.
type cacheReport struct {
	Started     time.Time        `json:"started"`
	Host        hostInfo         `json:"host"`
	Settings    cacheSettings    `json:"settings"`
	NginxConfig string           `json:"nginx_config"`
	VarnishVCL  string           `json:"varnish_vcl,omitempty"`
	Workloads   []workloadReport `json:"workloads"`
	Floors      []floorResult    `json:"floors"`
	Pass        bool             `json:"pass"`
}

type hostInfo struct {
	CPUs    int    `json:"cpus"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Nginx   string `json:"nginx"`
	Varnish string `json:"varnish,omitempty"`
	Wrk     string `json:"wrk"`
	// NodeGOMAXPROCS is the node's GOMAXPROCS, from its metrics: how
	// many threads run its Go code at once, against nginx's
	// worker_processes auto (one per CPU) and Varnish's thread per
	// connection. All share the same CPUs.
	NodeGOMAXPROCS int `json:"node_gomaxprocs,omitempty"`
	// NodeBGOMAXPROCS is the second node's (--compare-node-bin,
	// --compare-node-env), 0 without one.
	NodeBGOMAXPROCS int `json:"node_b_gomaxprocs,omitempty"`
}

type cacheSettings struct {
	Duration      string `json:"duration"`
	Warmup        string `json:"warmup"`
	Connections   int    `json:"connections"`
	Threads       int    `json:"threads"`
	Rounds        int    `json:"rounds"`
	Segments      int    `json:"segments"`
	SegmentSize   string `json:"segment_size"`
	CacheSize     string `json:"cache_size"`
	NodeBin       string `json:"node_bin,omitempty"` // empty: built from the module
	CompareBin    string `json:"compare_node_bin,omitempty"`
	NginxSendfile bool   `json:"nginx_sendfile"`

	// The environment added to each node's (--node-env,
	// --compare-node-env).
	NodeEnv    []string `json:"node_env,omitempty"`
	CompareEnv []string `json:"compare_node_env,omitempty"`
}

// workloadReport holds one workload's runs on every server.
type workloadReport struct {
	Name        string         `json:"name"`
	Paths       []string       `json:"paths"`
	ObjectBytes int64          `json:"object_bytes"` // mean body size
	Servers     []serverReport `json:"servers"`      // node first, then nginx, then Varnish
	// Baseline is the better of the other servers on the workload's
	// throughput metric (req/s for playlists, MB/s for segments); Ratio is
	// the node's medians over the baseline's, and what the floors judge.
	Baseline string `json:"baseline"`
	Ratio    ratios `json:"ratio"`
	// CPUBound is the throughput ratio over the baseline that the CPU
	// figures allow where the server and the load generator fill every
	// CPU: (baseline's CPU/req + its load generator's) / (the node's +
	// its load generator's), medians. It moves far less with the host's
	// other load than the measured ratio; 0 when a figure is missing.
	CPUBound  float64           `json:"cpu_bound_ratio,omitempty"`
	Ratios    map[string]ratios `json:"ratios"` // node / each other server
	WarmAfter map[string]bool   `json:"still_warm_after_runs"`

	// CPUBoundB is CPUBound for the second node (edgeswarm-b), 0 without
	// one.
	CPUBoundB float64 `json:"cpu_bound_ratio_b,omitempty"`
}

// serverReport is one server's runs of a workload and their per-metric
// medians.
type serverReport struct {
	Name   string     `json:"name"`
	Median runStats   `json:"median"`
	Runs   []runStats `json:"runs"`
}

type ratios struct {
	ReqPerSec float64 `json:"req_per_sec"`
	MBPerSec  float64 `json:"mb_per_sec"`
	P50       float64 `json:"p50"`
	P99       float64 `json:"p99"`
	CPU       float64 `json:"server_cpu_per_req"` // lower is better
}

// floor is a bound the node must meet against the workload's baseline (the
// better of nginx and Varnish).
type floor struct {
	Workload string
	Metric   string  // "req/s", "MB/s" or "p99"
	AtLeast  bool    // the ratio must be >= Ratio, else <= Ratio
	Ratio    float64 // node / baseline
}

// cacheFloors are the cache benchmark's acceptance floors.
func cacheFloors() []floor {
	return []floor{
		{Workload: "playlists", Metric: "req/s", AtLeast: true, Ratio: 1.3},
		{Workload: "playlists", Metric: "p99", AtLeast: false, Ratio: 1.0},
		{Workload: "segments", Metric: "MB/s", AtLeast: true, Ratio: 1.1},
		{Workload: "segments", Metric: "p99", AtLeast: false, Ratio: 1.0},
	}
}

func (f floor) String() string {
	if f.AtLeast {
		return fmt.Sprintf("%s: %s >= %.2fx best", f.Workload, f.Metric, f.Ratio)
	}
	return fmt.Sprintf("%s: %s <= %.2fx best", f.Workload, f.Metric, f.Ratio)
}

type floorResult struct {
	Floor    string  `json:"floor"`
	Baseline string  `json:"baseline"` // the server the ratio is against
	Ratio    float64 `json:"ratio"`
	Pass     bool    `json:"pass"`
	Reason   string  `json:"reason,omitempty"`
	// RoundsMet counts the rounds in which the node's run met the floor
	// against the baseline's run of the same round (the two ran one after
	// the other), out of Rounds: whether a floor holds across rounds or
	// only in the median.
	RoundsMet int `json:"rounds_met"`
	Rounds    int `json:"rounds"`
}

// check evaluates f against the workload reports; a workload that was not
// run is not judged (ok is false).
func (f floor) check(ws []workloadReport) (r floorResult, ok bool) {
	for _, w := range ws {
		if w.Name != f.Workload {
			continue
		}
		r = floorResult{Floor: f.String(), Baseline: w.Baseline}
		switch f.Metric {
		case "req/s":
			r.Ratio = w.Ratio.ReqPerSec
		case "MB/s":
			r.Ratio = w.Ratio.MBPerSec
		case "p99":
			r.Ratio = w.Ratio.P99
		}
		metric := func(s runStats) float64 { return s.P99Ms }
		switch f.Metric {
		case "req/s":
			metric = func(s runStats) float64 { return s.ReqPerSec }
		case "MB/s":
			metric = func(s runStats) float64 { return s.MBPerSec }
		}
		meets := func(x float64) bool {
			if f.AtLeast {
				return x >= f.Ratio
			}
			return x <= f.Ratio
		}
		r.Pass = meets(r.Ratio)
		if node, base := w.server(serverNode), w.server(w.Baseline); node != nil && base != nil {
			r.Rounds = min(len(node.Runs), len(base.Runs))
			for i := range r.Rounds {
				if b := metric(base.Runs[i]); b > 0 && meets(metric(node.Runs[i])/b) {
					r.RoundsMet++
				}
			}
		}
		for _, s := range w.Servers {
			for i, run := range s.Runs {
				if n := run.Errors.total(); n > 0 {
					r.Pass = false
					r.Reason = fmt.Sprintf("%s had %d errors in run %d", s.Name, n, i+1)
				}
			}
		}
		return r, true
	}
	return floorResult{}, false
}

// server returns the named server's report, or nil.
func (w *workloadReport) server(name string) *serverReport {
	for i := range w.Servers {
		if w.Servers[i].Name == name {
			return &w.Servers[i]
		}
	}
	return nil
}

// summarize computes the medians and ratios of a workload whose runs are
// filled in.
func (w *workloadReport) summarize() {
	for i := range w.Servers {
		w.Servers[i].Median = medianStats(w.Servers[i].Runs)
	}
	if len(w.Servers) < 2 {
		return
	}
	n := w.Servers[0].Median
	throughput := func(s runStats) float64 { return s.MBPerSec }
	if w.Name == "playlists" {
		throughput = func(s runStats) float64 { return s.ReqPerSec }
	}
	w.Ratios = make(map[string]ratios, len(w.Servers)-1)
	best := -1
	for i, sv := range w.Servers[1:] {
		x := sv.Median
		w.Ratios[sv.Name] = ratios{
			ReqPerSec: ratio(n.ReqPerSec, x.ReqPerSec),
			MBPerSec:  ratio(n.MBPerSec, x.MBPerSec),
			P50:       ratio(n.P50Ms, x.P50Ms),
			P99:       ratio(n.P99Ms, x.P99Ms),
			CPU:       ratio(n.CPUUsPerReq, x.CPUUsPerReq),
		}
		if sv.Name != serverNginx && sv.Name != serverVarnish {
			continue // a second build of the node, or a --tls server: compared, never a baseline
		}
		if best < 0 || throughput(x) > throughput(w.Servers[1+best].Median) {
			best = i
		}
	}
	if best < 0 {
		return
	}
	w.Baseline = w.Servers[1+best].Name
	w.Ratio = w.Ratios[w.Baseline]
	b := w.Servers[1+best].Median
	w.CPUBound = cpuBound(b, n)
	for _, sv := range w.Servers[1:] {
		if sv.Name == serverNodeB {
			w.CPUBoundB = cpuBound(b, sv.Median)
		}
	}
}

// cpuBound is (base's CPU/req + its load generator's) / (n's + its load
// generator's), 0 when a figure is missing.
func cpuBound(base, n runStats) float64 {
	if n.CPUUsPerReq > 0 && n.WrkCPUUsPerReq > 0 && base.CPUUsPerReq > 0 && base.WrkCPUUsPerReq > 0 {
		return (base.CPUUsPerReq + base.WrkCPUUsPerReq) / (n.CPUUsPerReq + n.WrkCPUUsPerReq)
	}
	return 0
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// medianStats takes the median of every metric on its own, so one noisy
// run moves no figure, and sums the errors.
func medianStats(runs []runStats) runStats {
	if len(runs) == 0 {
		return runStats{}
	}
	pick := func(f func(runStats) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return median(v)
	}
	m := runStats{
		Requests:       int64(pick(func(r runStats) float64 { return float64(r.Requests) })),
		Bytes:          int64(pick(func(r runStats) float64 { return float64(r.Bytes) })),
		DurationSec:    pick(func(r runStats) float64 { return r.DurationSec }),
		ReqPerSec:      pick(func(r runStats) float64 { return r.ReqPerSec }),
		MBPerSec:       pick(func(r runStats) float64 { return r.MBPerSec }),
		P50Ms:          pick(func(r runStats) float64 { return r.P50Ms }),
		P75Ms:          pick(func(r runStats) float64 { return r.P75Ms }),
		P90Ms:          pick(func(r runStats) float64 { return r.P90Ms }),
		P99Ms:          pick(func(r runStats) float64 { return r.P99Ms }),
		CPUUsPerReq:    pick(func(r runStats) float64 { return r.CPUUsPerReq }),
		WrkCPUSec:      pick(func(r runStats) float64 { return r.WrkCPUSec }),
		WrkCPUUsPerReq: pick(func(r runStats) float64 { return r.WrkCPUUsPerReq }),
		ServerProcs:    int(pick(func(r runStats) float64 { return float64(r.ServerProcs) })),
		ServerThreads:  int(pick(func(r runStats) float64 { return float64(r.ServerThreads) })),
		OtherCPUs:      pick(func(r runStats) float64 { return r.OtherCPUs }),
	}
	for _, r := range runs {
		m.Errors.Connect += r.Errors.Connect
		m.Errors.Read += r.Errors.Read
		m.Errors.Write += r.Errors.Write
		m.Errors.Timeout += r.Errors.Timeout
		m.Errors.Status += r.Errors.Status
	}
	return m
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// writeMarkdown prints the side-by-side table and the floors.
func (r *cacheReport) writeMarkdown(w io.Writer) {
	s := r.Settings
	others := []string{serverNginx + " proxy_cache"}
	if r.Host.Varnish != "" {
		others = append(others, serverVarnish)
	}
	fmt.Fprintf(w, "## edgeswarm vs %s: cache hits\n\n", strings.Join(others, " vs "))
	sendfile := "sendfile on"
	if !s.NginxSendfile {
		sendfile = "sendfile off"
	}
	varnish := ""
	if r.Host.Varnish != "" {
		varnish = "; " + r.Host.Varnish + " (malloc)"
	}
	fmt.Fprintf(w, "wrk --latency, %d connections, %d threads, %s per run, median of %d round%s (alternating order); %d CPUs; %s (%s)%s; %s\n\n",
		s.Connections, s.Threads, s.Duration, s.Rounds, plural(s.Rounds), r.Host.CPUs, r.Host.Nginx, sendfile, varnish, r.Host.Wrk)
	fmt.Fprintln(w, "| workload | server | req/s | MB/s | p50 | p99 | server CPU/req | other CPUs busy | errors |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, wl := range r.Workloads {
		label := fmt.Sprintf("%s (%d URL%s, %s each)", wl.Name, len(wl.Paths), plural(len(wl.Paths)), formatBytes(wl.ObjectBytes))
		for _, sv := range wl.Servers {
			m := sv.Median
			fmt.Fprintf(w, "| %s | %s | %.0f | %.1f | %s | %s | %s | %.2f | %d |\n",
				label, sv.Name, m.ReqPerSec, m.MBPerSec, formatMs(m.P50Ms), formatMs(m.P99Ms), formatCPU(m.CPUUsPerReq), m.OtherCPUs, m.Errors.total())
			label = ""
		}
		for _, sv := range wl.Servers[min(1, len(wl.Servers)):] {
			rt := wl.Ratios[sv.Name]
			mark := ""
			if sv.Name == wl.Baseline && len(wl.Servers) > 2 {
				mark = " (best)"
			}
			fmt.Fprintf(w, "| | %s / %s%s | %.2fx | %.2fx | %.2fx | %.2fx | %s | | |\n",
				serverNode, sv.Name, mark, rt.ReqPerSec, rt.MBPerSec, rt.P50, rt.P99, formatRatio(rt.CPU))
		}
	}
	r.writeRounds(w)
	for _, wl := range r.Workloads {
		for _, sv := range wl.Servers {
			if warm, ok := wl.WarmAfter[sv.Name]; ok && !warm {
				fmt.Fprintf(w, "\nWARNING: %s no longer served every %s URL from cache after the runs.\n", sv.Name, wl.Name)
			}
		}
	}
	if busy := r.busiestHost(); busy > busyHost {
		fmt.Fprintf(w, "\nNOTE: up to %.2f CPUs of the host were busy with other work during a run: throughput and latency then say more about how the\n"+
			"kernel shared the CPUs than about the servers (under such load Varnish has kept far more CPU than the node or nginx).\n"+
			"Rerun on a quiet host to judge the floors; server CPU/req moves least.\n", busy)
	}
	for _, wl := range r.Workloads {
		if wl.CPUBound > 0 {
			fmt.Fprintf(w, "\nCPU-bound %s: with the server and wrk filling every CPU, %s / %s would be %.2fx "+
				"((%s + its wrk CPU/req) / (%s + its wrk CPU/req)).\n", wl.Name, serverNode, wl.Baseline, wl.CPUBound, wl.Baseline, serverNode)
		}
		if wl.CPUBoundB > 0 {
			fmt.Fprintf(w, "CPU-bound %s: %s / %s would be %.2fx.\n", wl.Name, serverNodeB, wl.Baseline, wl.CPUBoundB)
		}
	}
	if len(r.Floors) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| floor | best | edgeswarm / best | result | rounds met |")
	fmt.Fprintln(w, "|---|---|--:|---|--:|")
	for _, f := range r.Floors {
		res := "PASS"
		if !f.Pass {
			res = "FAIL"
			if f.Reason != "" {
				res += " (" + f.Reason + ")"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %.2fx | %s | %d/%d |\n", f.Floor, f.Baseline, f.Ratio, res, f.RoundsMet, f.Rounds)
	}
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s\n", verdict)
}

// writeRounds prints every round's throughput, p99 and other CPUs busy
// per server, in the order the rounds ran: the spread behind each median.
// Beside them the load generator's CPU per request and the server's
// threads (medians over the rounds), the budget each had before the
// kernel's scheduler.
func (r *cacheReport) writeRounds(w io.Writer) {
	fmt.Fprintln(w)
	budget := fmt.Sprintf("every server may run on all %d CPUs", r.Host.CPUs)
	if r.Host.NodeGOMAXPROCS > 0 {
		node := fmt.Sprintf("edgeswarm with GOMAXPROCS %d", r.Host.NodeGOMAXPROCS)
		if r.Host.NodeBGOMAXPROCS > 0 {
			node += fmt.Sprintf(" (%s %d)", serverNodeB, r.Host.NodeBGOMAXPROCS)
		}
		budget += ": " + node + ", nginx one worker per CPU, Varnish a thread per connection"
	}
	fmt.Fprintf(w, "Every round, in the order run; %s.\n\n", budget)
	fmt.Fprintln(w, "| workload | server | throughput by round | p99 by round | other CPUs busy by round | load generator CPU/req | processes / threads |")
	fmt.Fprintln(w, "|---|---|---|---|---|--:|--:|")
	for _, wl := range r.Workloads {
		unit, throughput := "MB/s", func(s runStats) float64 { return s.MBPerSec }
		if wl.Name == "playlists" {
			unit, throughput = "req/s", func(s runStats) float64 { return s.ReqPerSec }
		}
		label := wl.Name
		for _, sv := range wl.Servers {
			var tp, p99, other []string
			for _, run := range sv.Runs {
				tp = append(tp, fmt.Sprintf("%.0f", throughput(run)))
				p99 = append(p99, fmt.Sprintf("%.1f", run.P99Ms))
				other = append(other, fmt.Sprintf("%.2f", run.OtherCPUs))
			}
			tasks := "n/a"
			if m := sv.Median; m.ServerThreads > 0 {
				tasks = fmt.Sprintf("%d / %d", m.ServerProcs, m.ServerThreads)
			}
			fmt.Fprintf(w, "| %s | %s | %s %s | %s ms | %s | %s | %s |\n", label, sv.Name,
				strings.Join(tp, " · "), unit, strings.Join(p99, " · "), strings.Join(other, " · "), formatCPU(sv.Median.WrkCPUUsPerReq), tasks)
			label = ""
		}
	}
}

// busyHost is the median "other CPUs busy" above which a run's figures are
// the neighbours' as much as the servers'.
const busyHost = 0.25

// busiestHost is the largest median "other CPUs busy" of any server.
func (r *cacheReport) busiestHost() float64 {
	var most float64
	for _, wl := range r.Workloads {
		for _, sv := range wl.Servers {
			most = max(most, sv.Median.OtherCPUs)
		}
	}
	return most
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// formatCPU prints CPU time per request; 0 means not measured.
func formatCPU(us float64) string {
	if us == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f µs", us)
}

func formatRatio(r float64) string {
	if r == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", r)
}

func formatMs(ms float64) string {
	if ms < 1 {
		return fmt.Sprintf("%.0f µs", ms*1e3)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// parseSize reads sizes as the node's flags write them: "1MiB", "4GiB",
// "512KiB", "1.5MB" (KB, MB, GB are powers of 1000), or plain bytes.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(unicode.IsDigit(r) || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	}[strings.ToLower(unit)]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || v <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes like 1MiB or 4GiB", s)
	}
	return int64(v * mult), nil
}
