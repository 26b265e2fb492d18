package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSlopePerHour(t *testing.T) {
	// 2 MiB more every minute: 120 MiB/h; flat: 0; one sample: no slope.
	var up, flat []soakSample
	for i := range 6 {
		up = append(up, soakSample{Minute: float64(i), RSS: int64(100+2*i) << 20})
		flat = append(flat, soakSample{Minute: float64(i), RSS: 100 << 20})
	}
	f := soakMetrics["rss_mib"]
	if got := slopePerHour(up, f); math.Abs(got-120) > 1e-9 {
		t.Errorf("slope of a steady climb = %v, want 120", got)
	}
	if got := slopePerHour(flat, f); got != 0 {
		t.Errorf("slope of a flat line = %v, want 0", got)
	}
	if got := slopePerHour(up[:1], f); !math.IsNaN(got) {
		t.Errorf("slope of one sample = %v, want NaN", got)
	}
}

func TestVPlayerCountsLateSegmentsAsStalls(t *testing.T) {
	t0 := time.Unix(0, 0)
	var p vplayer
	p.add(t0, 2*time.Second)                    // starts playing
	p.add(t0.Add(time.Second), 2*time.Second)   // 3 s ahead
	p.add(t0.Add(5*time.Second), 2*time.Second) // 1 s late: a stall
	if p.stalls != 1 || p.stalled != time.Second {
		t.Fatalf("stalls %d for %v, want 1 for 1s", p.stalls, p.stalled)
	}
	if got := p.ahead(t0.Add(5 * time.Second)); got != 2*time.Second {
		t.Fatalf("ahead after the stall = %v, want 2s", got)
	}
}

func TestSoakFlags(t *testing.T) {
	o, err := parseSoakFlags([]string{"--duration", "6m"}, io.Discard)
	if err != nil || o.Viewers != 30 || o.Warmup != 2*time.Minute || o.Sample != time.Minute {
		t.Fatalf("defaults: %+v, %v; want 30 viewers, two minutes of warm-up (a third), sampled each minute", o, err)
	}
	for _, bad := range [][]string{{"--viewers", "0"}, {"--duration", "10s"}, {"--cache-size", "lots"}, {"extra"}} {
		if _, err := parseSoakFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSoakReportAndPlots(t *testing.T) {
	rep := &soakReport{Settings: map[string]any{"viewers": 2, "duration": "3m0s", "churn": "20s", "sample": "1m0s", "warmup": "1m0s", "cache_size": "128MiB", "p2p": true}}
	for i, g := range []int{20, 300, 305, 300, 21} {
		phase := "watching"
		switch i {
		case 0:
			phase = "baseline"
		case 4:
			phase = "after"
		}
		rep.Samples = append(rep.Samples, soakSample{Minute: float64(i), Phase: phase, Goroutines: g, FDs: 10, RSS: 50 << 20, Heap: 20 << 20})
	}
	rep.Slopes = map[string]float64{"goroutines": 0, "fds": 0, "rss_mib": 0, "heap_mib": math.NaN()}
	var md bytes.Buffer
	if err := rep.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 4.0 | after | 0 |", "node Go heap in use: n/a", "Verdict: nothing leaked."} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, p := range soakPlots {
		var svg bytes.Buffer
		if err := plotSoak(&svg, rep, p); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(svg.String(), `class="sample"`); n != 4 || !strings.Contains(svg.String(), `data-phase="after"`) {
			t.Errorf("%s plot: %d samples drawn, want 4 and the after point", p.name, n)
		}
	}
}

func TestSoakBrowserFlags(t *testing.T) {
	o, err := parseSoakFlags(nil, io.Discard)
	if err != nil || o.Browsers != 2 || o.Chromium != "/usr/bin/chromium" {
		t.Fatalf("defaults: %+v, %v; want 2 browsers of Debian's Chromium", o, err)
	}
	if o, err := parseSoakFlags([]string{"--browsers", "0"}, io.Discard); err != nil || o.Browsers != 0 {
		t.Fatalf("--browsers 0 (Go viewers only): %+v, %v", o, err)
	}
	for _, bad := range []string{"-1", "21", "two"} {
		if _, err := parseSoakFlags([]string{"--browsers", bad}, io.Discard); err == nil {
			t.Errorf("--browsers %s accepted", bad)
		}
	}
}

func TestSoakRunConfig(t *testing.T) {
	o, err := parseSoakFlags([]string{"--browsers", "3", "--sample", "30s", "--duration", "4m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rc := soakRunConfig(o, "/bin/edgeswarm", "http://127.0.0.1:4000", "page.js", "out.json")
	if rc.Attach == nil || rc.Attach.Base != "http://127.0.0.1:4000" || rc.Attach.ProgressS != 30 {
		t.Fatalf("attach = %+v, want the soak's node and a progress line per sample", rc.Attach)
	}
	if !slices.Equal(rc.Viewers, []int{3}) || !slices.Equal(rc.Scenarios, []string{scenarioSuper}) || len(rc.Latencies) != 1 || rc.ChurnS != 0 || rc.Mode != "virtual" {
		t.Fatalf("one case of 3 browsers with the super-peer, no churn, virtual player: %+v", rc)
	}
	// The runner reads these keys (bench/swarm/runner.ts RunConfig.attach).
	b, err := json.Marshal(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"attach":{"base":"http://127.0.0.1:4000","progressS":30}`) {
		t.Errorf("runner config lacks the attach section: %s", b)
	}
	o.P2P = false
	if rc := soakRunConfig(o, "", "", "", ""); !slices.Equal(rc.Scenarios, []string{scenarioP2P}) {
		t.Errorf("without the super-peer, scenario %v, want p2p (edgeswarm.js among the browsers)", rc.Scenarios)
	}
	// The swarm benchmark's config has no attach section: its runner starts a node per case.
	if b, _ := json.Marshal(runConfig{}); strings.Contains(string(b), "attach") {
		t.Errorf("swarm config carries attach: %s", b)
	}
}

// fakeRunner starts a shell that stands for the browser runner: script
// runs with OUT set to where results go.
func fakeRunner(t *testing.T, script string) *soakBrowsers {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "raw.json")
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "OUT="+out, "RAW="+filepath.Join("testdata", "soak-browsers-raw.json"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := startCmd(dir, "browsers", cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return &soakBrowsers{p: p, stdin: stdin, out: out}
}

func TestSoakBrowsersStop(t *testing.T) {
	ctx := context.Background()
	t.Run("writes its results once stdin ends", func(t *testing.T) {
		// Like the runner: watch until stdin ends, then write the results.
		b := fakeRunner(t, `cat >/dev/null && cp "$RAW" "$OUT"`)
		c, chromium, err := b.stop(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if chromium != "Chromium 131.0.6778.204" || len(c.Viewers) != 2 || c.Viewers[0].Bytes.Seed != 4000000 || len(c.Errors) != 1 {
			t.Fatalf("read %q %+v", chromium, c)
		}
	})
	t.Run("exited early", func(t *testing.T) {
		b := fakeRunner(t, `echo "Chromium does not start" >&2; exit 2`)
		<-b.p.done
		if _, _, err := b.stop(ctx); err == nil || !strings.Contains(err.Error(), "exited while the viewers watched") || !strings.Contains(err.Error(), "Chromium does not start") {
			t.Fatalf("err = %v, want the early exit and the runner's log", err)
		}
	})
	t.Run("bad results", func(t *testing.T) {
		b := fakeRunner(t, `cat >/dev/null && echo '{"started": "x"}' > "$OUT"`)
		if _, _, err := b.stop(ctx); err == nil || !strings.Contains(err.Error(), "swarm raw file") {
			t.Fatalf("err = %v, want the raw file refused", err)
		}
	})
}

func TestSoakReportBrowsers(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "soak-browsers-raw.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := readSwarmRaw(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep := &soakReport{
		Settings: map[string]any{"viewers": 1, "browsers": 2, "duration": "4m0s", "churn": "20s", "sample": "30s", "warmup": "1m0s", "cache_size": "32MiB", "p2p": true},
		Samples:  []soakSample{{Phase: "baseline"}},
		Viewers:  []soakViewerResult{{Segments: 60, HTTP: 3 << 20, Seed: 1 << 20, Stalls: 2, StallS: 1.5, WatchedS: 240}},
		Browsers: raw.Cases[0].Viewers, BrowserErrors: raw.Cases[0].Errors, Browser: "Chromium 131, edgeswarm.js (super), virtual player",
		Slopes: map[string]float64{},
	}
	var md bytes.Buffer
	if err := rep.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Soak: 1 Go viewers and 2 browsers for 4m0s",
		"| Go (testpeer) | 1 | 4.0 | 2 | 1.5 | 0 | 3.0 MiB | 0 B | 1.0 MiB | 25 % |",
		"| Chromium | 2 | 3.9 | 1 | 0.8 | 1 |",
		"| v1 | 1.5 | 3.9 | 1 | 0.8 | 2 | 0 |",
		"| v2 | never played |",
		"pageerror: boom / bang |", // a pipe would break the table
		"Browser runner: v3 did not open: timeout",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	// Go viewers only: no browser row or table.
	rep.Settings["browsers"], rep.Browsers, rep.BrowserErrors = 0, nil, nil
	md.Reset()
	if err := rep.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "Chromium") || strings.Contains(md.String(), "browsers for") {
		t.Errorf("Go-only report mentions browsers:\n%s", md.String())
	}
}
