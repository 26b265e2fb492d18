//go:build linux

package node

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/wire"
)

// BenchmarkTelemetry measures what viewer telemetry costs the node: N
// viewers (EDGESWARM_TELEMETRY_VIEWERS, default 10000) join swarms of 100
// over WebSocket and stay connected while, in alternating windows, they
// are idle (the baseline: pings only) or each sends a full stats report
// with telemetry every 10 s (the default interval, each viewer at its own
// phase). EDGESWARM_TELEMETRY_SECONDS (default 60) is the time of each
// kind, split into EDGESWARM_TELEMETRY_ROUNDS (default 3) idle windows and
// as many telemetry windows taken in turn, so that a host whose load
// drifts weighs on both kinds alike. The node's CPU time in each kind of
// window (getrusage) gives the CPU per viewer that telemetry adds, and per
// report; its live heap after the reports, against the heap with the same
// viewers before any report, the memory per viewer. The viewers run in a
// child process (this test binary again), so the figures are the node's
// alone; the host's CPU busy in each kind of window is printed beside
// them. EDGESWARM_TELEMETRY_CPUPROFILE names a file for a CPU profile of
// the first telemetry window; the first idle window's goes to the same name
// with .idle appended.
//
//	go test ./node -run '^$' -bench Telemetry -benchtime 1x
func BenchmarkTelemetry(b *testing.B) {
	n := benchEnv("EDGESWARM_TELEMETRY_VIEWERS", 10000)
	total := time.Duration(benchEnv("EDGESWARM_TELEMETRY_SECONDS", 60)) * time.Second
	rounds := benchEnv("EDGESWARM_TELEMETRY_ROUNDS", 3)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < uint64(n)+200 {
		b.Fatalf("open file limit %d is below %d viewers; raise it with ulimit -n", lim.Cur, n)
	}
	// Both read models of the signaling hub, one after the other in the
	// same run (the goroutines' profiles get .goroutines appended): pollers (signal.pollers, the default) and a goroutine per
	// connection (signal.pollers 0, the model before them).
	// EDGESWARM_TELEMETRY_MODELS (default "pollers,goroutines") lists
	// them in the order to run, repeats allowed.
	models := os.Getenv("EDGESWARM_TELEMETRY_MODELS")
	if models == "" {
		models = "pollers,goroutines"
	}
	for m := range strings.SplitSeq(models, ",") {
		pollers := signal.DefaultConfig().Pollers
		switch m {
		case "pollers":
		case "goroutines":
			pollers = 0
		default:
			b.Fatalf("EDGESWARM_TELEMETRY_MODELS: %q is neither pollers nor goroutines", m)
		}
		b.Run(m, func(b *testing.B) {
			for b.Loop() {
				runTelemetryBench(b, n, total, rounds, pollers)
			}
		})
	}
}

const benchSwarmSize = 100

func runTelemetryBench(b *testing.B, n int, total time.Duration, rounds, pollers int) {
	cfg := testConfig("")
	cfg.Signal.Pollers = pollers
	cfg.SuperPeer = false
	cfg.Signal.Open = true
	cfg.Signal.JoinTimeout = time.Minute
	// Pings every 20 s as deployed, but a viewer process starved on a
	// saturated host may answer late: a minute before one is dropped.
	cfg.Signal.PongTimeout = time.Minute
	cfg.MaxConnsPerIP = 0
	nd := startNode(b, cfg, nil)
	swarms := (n + benchSwarmSize - 1) / benchSwarmSize
	stream := func(i int) string { return fmt.Sprintf("/live/c%d/master.m3u8", i%20) }
	for s := range swarms {
		key := fmt.Sprintf("/live/c%d/s%d.m3u8", s%20, s)
		nd.stats.AddPlaylist(stream(s), true)
		nd.stats.AddPlaylist(key, false)
		// Digests let the viewers claim P2P bytes as real ones would.
		for seg := range 40 {
			seq := uint64(seg)
			nd.hub.PublishDigest(key, wire.SegmentDigest{Key: fmt.Sprintf("/live/c%d/s%d/%d.ts", s%20, s, seg), Seq: &seq, Size: 1 << 20,
				SHA256: strings.Repeat("ab", 32)})
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTelemetryBenchViewers$", "-test.v")
	cmd.Env = append(os.Environ(), "EDGESWARM_TELEMETRY_ADDR="+nd.Addr(), "EDGESWARM_TELEMETRY_VIEWERS="+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	expect := func(word string) string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, word) {
				return l
			}
		}
		b.Fatalf("viewers ended before %q: %v", word, lines.Err())
		return ""
	}
	expect("connected")
	idleHeap := liveHeap()
	// Profiles of the first idle and telemetry windows, to be compared
	// with go tool pprof -diff_base.
	var prof, idleProf *os.File
	if path := os.Getenv("EDGESWARM_TELEMETRY_CPUPROFILE"); path != "" {
		if pollers == 0 {
			path += ".goroutines" // the profiles of the other read model
		}
		for _, p := range []struct {
			f    **os.File
			path string
		}{{&prof, path}, {&idleProf, path + ".idle"}} {
			f, err := os.Create(p.path)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = f.Close() }()
			*p.f = f
		}
	}
	profile := func(f *os.File) { _ = pprof.StartCPUProfile(f) }
	// Each window should last a whole number of ping intervals (20 s), so
	// that every viewer's pings fall alike in both kinds: with 10 s
	// windows those of viewers that connected together fell in the same
	// kind of window every round (the idle windows then cost a quarter of
	// their usual CPU, and the figure about doubled).
	window := total / time.Duration(rounds)
	var idle, busy time.Duration
	var idleUse, busyUse procUsage
	var idleHost, busyHost [2]uint64
	measure := func(cpu *time.Duration, use *procUsage, host *[2]uint64) {
		u0, h0 := rusage(), hostTicks()
		time.Sleep(window)
		u1, h1 := rusage(), hostTicks()
		*cpu += u1.user + u1.sys - u0.user - u0.sys
		use.add(u1, u0)
		host[0] += h1[0] - h0[0]
		host[1] += h1[1] - h0[1]
	}
	reports0 := testutilCounter(nd, "signal")
	for i := range rounds {
		if i == 0 && idleProf != nil {
			profile(idleProf)
		}
		measure(&idle, &idleUse, &idleHost) // what the connections cost without telemetry
		if i == 0 && idleProf != nil {
			pprof.StopCPUProfile()
		}
		_, _ = io.WriteString(stdin, "go\n")
		if i == 0 && prof != nil {
			// Where the node's time per report goes: the first telemetry window.
			profile(prof)
		}
		measure(&busy, &busyUse, &busyHost)
		if i == 0 && prof != nil {
			pprof.StopCPUProfile()
		}
		_, _ = io.WriteString(stdin, "pause\n")
	}
	reportedHeap := liveHeap() // the viewers are still connected
	reports := testutilCounter(nd, "signal") - reports0
	// Every viewer stays connected and every report counts: a dropped
	// viewer or a rejected report would make the figures look cheaper.
	for what, c := range map[string]map[string]float64{
		"disconnected": counterBy(nd, "edgeswarm_signal_disconnects_total", "reason"),
		"rejected":     counterBy(nd, "edgeswarm_signal_reports_rejected_total", "reason"),
	} {
		for reason, v := range c {
			if v > 0 {
				b.Errorf("%.0f viewers' reports %s (%s)", v, what, reason)
			}
		}
	}
	_, _ = io.WriteString(stdin, "stop\n")
	report := expect("done")

	perViewerCore := (busy - idle).Seconds() / total.Seconds() / float64(n)
	perViewerMem := float64(int64(reportedHeap)-int64(idleHeap)) / float64(n)
	perReport := time.Duration(0)
	if reports > 0 {
		perReport = time.Duration(float64(busy-idle) / reports)
	}
	b.ReportMetric(perViewerCore*100, "%core/viewer")
	b.ReportMetric(perViewerCore*100*float64(n), "%core")
	b.ReportMetric(perViewerMem, "B/viewer")
	b.ReportMetric(float64(perReport.Nanoseconds())/1e3, "µs/report")
	b.ReportMetric(reports/total.Seconds(), "reports/s")
	if reports > 0 {
		// Where the time per report goes: user and kernel, and how often
		// the node's threads gave up their CPU (waiting for work, or made to).
		b.Logf("per report: user %.1f µs, system %.1f µs, %.2f voluntary and %.2f involuntary context switches",
			(busyUse.user-idleUse.user).Seconds()*1e6/reports, (busyUse.sys-idleUse.sys).Seconds()*1e6/reports,
			float64(busyUse.vcsw-idleUse.vcsw)/reports, float64(busyUse.ivcsw-idleUse.ivcsw)/reports)
	}
	b.Logf("%d viewers, %d swarms, %d rounds of %v idle and %v telemetry: node CPU idle %.2f s, with telemetry %.2f s (%.0f reports accepted, %.1f/s, %.1f µs each); telemetry from %d viewers %.2f %% of one core, %.0f B of heap per viewer (live heap %d -> %d B); host busy %.0f %% idle / %.0f %% telemetry of %d CPUs; viewers: %s",
		n, (n+benchSwarmSize-1)/benchSwarmSize, rounds, window, window, idle.Seconds(), busy.Seconds(), reports, reports/total.Seconds(), float64(perReport.Nanoseconds())/1e3,
		n, perViewerCore*100*float64(n), perViewerMem, idleHeap, reportedHeap, 100*busyShare([2]uint64{}, idleHost), 100*busyShare([2]uint64{}, busyHost), runtime.NumCPU(), report)
}

func testutilCounter(nd *Node, via string) float64 {
	return counterBy(nd, "edgeswarm_telemetry_reports_total", "via")[via]
}

// counterBy returns the values of a counter by one label.
func counterBy(nd *Node, name, label string) map[string]float64 {
	out := map[string]float64{}
	mfs, err := nd.metrics.reg.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// procUsage is what getrusage says of this process (the node; the viewers
// are a child, not counted).
type procUsage struct {
	user, sys   time.Duration
	vcsw, ivcsw int64
}

func rusage() procUsage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return procUsage{user: time.Duration(ru.Utime.Nano()), sys: time.Duration(ru.Stime.Nano()), vcsw: ru.Nvcsw, ivcsw: ru.Nivcsw}
}

// add adds b-a to u.
func (u *procUsage) add(b, a procUsage) {
	u.user += b.user - a.user
	u.sys += b.sys - a.sys
	u.vcsw += b.vcsw - a.vcsw
	u.ivcsw += b.ivcsw - a.ivcsw
}

// hostTicks returns the busy and total jiffies of all CPUs (/proc/stat).
func hostTicks() [2]uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return [2]uint64{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var total, idle uint64
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return [2]uint64{total - idle, total}
}

func busyShare(a, b [2]uint64) float64 {
	if b[1] <= a[1] {
		return 0
	}
	return float64(b[0]-a[0]) / float64(b[1]-a[1])
}

// TestTelemetryBenchViewers is the viewers' side of BenchmarkTelemetry;
// it fails unless the benchmark started it.
func TestTelemetryBenchViewers(t *testing.T) {
	addr := os.Getenv("EDGESWARM_TELEMETRY_ADDR")
	if addr == "" {
		t.Skip("the viewers of BenchmarkTelemetry; run by it")
	}
	n := benchEnv("EDGESWARM_TELEMETRY_VIEWERS", 10000)
	url := "ws://" + addr + wire.SignalPath
	dialer := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: time.Minute}
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	var next, failed atomic.Int64
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, _, err := dialer.Dial(url, nil)
				if err != nil {
					failed.Add(1)
					continue
				}
				s := i / benchSwarmSize
				j, _ := wire.Encode(&wire.Join{Swarm: fmt.Sprintf("/live/c%d/s%d.m3u8", s%20, s), Caps: wire.Caps{Upload: true}})
				_ = c.WriteMessage(websocket.TextMessage, j)
				conns[i] = c
				// Read (and answer pings) in the background from now on.
				go func() {
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							return
						}
					}
				}()
			}
		})
	}
	wg.Wait()
	fmt.Printf("connected %d (%d failed)\n", n, failed.Load())
	// The parent says go and pause in turn, then stop.
	in := bufio.NewScanner(os.Stdin)
	var sending atomic.Bool
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for in.Scan() {
			switch in.Text() {
			case "go":
				sending.Store(true)
			case "pause":
				sending.Store(false)
			case "stop":
				return
			}
		}
	}()
	var sent, errs atomic.Int64
	uas := []string{"chrome", "firefox", "safari", "edge"}
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Go(func() {
			st := wire.Stats{StartupMs: uint64(200 + i%800), Bitrate: 2_500_000, Browser: uas[i%len(uas)], BrowserMajor: 131,
				Mobile: i%5 == 0, WebRTC: true, Upload: i%5 != 0, Group: wire.GroupP2P, Stream: fmt.Sprintf("/live/c%d/master.m3u8", (i/benchSwarmSize)%20)}
			if i%10 == 0 {
				st.Group = wire.GroupHoldback
			}
			// Each viewer reports at its own phase of the interval.
			t := time.NewTimer(time.Duration(rand.Int64N(int64(10 * time.Second))))
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				t.Reset(10 * time.Second)
				if !sending.Load() {
					continue
				}
				st.HTTPBytes += 300_000
				if st.Group == wire.GroupP2P {
					st.P2PBytes += 600_000
					st.SeedBytes += 100_000
					st.UploadBytes += 500_000
					st.Peers = 4
				}
				st.WatchMs += 9_800
				st.LiveMs = 7000
				if rand.IntN(20) == 0 {
					st.Stalls++
					st.StallMs += 200
				}
				b, err := wire.Encode(&st)
				if err == nil {
					err = c.WriteMessage(websocket.TextMessage, b)
				}
				if err != nil {
					errs.Add(1)
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait() // until stop
	fmt.Printf("done: %d reports sent, %d write errors\n", sent.Load(), errs.Load())
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
}
