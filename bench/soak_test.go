package main

import (
	"bytes"
	"io"
	"math"
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
