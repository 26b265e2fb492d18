package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSwarmGoScenarioFlags(t *testing.T) {
	o, err := parseSwarmGoFlags([]string{"--net", "broadband", "--scenarios", "http,p2p,super", "--latency", "1", "--segment-duration", "1s",
		"--uplink", "8e5", "--download-only", "0.5", "--churn", "5s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Scenarios, []string{"http", "p2p", "super"}) || o.Latency != 1 || o.Uplink != 8e5 || o.DownloadOnly != 0.5 || o.Churn != 5*time.Second {
		t.Fatalf("parsed %+v", o)
	}
	// 525 kbit/s for 1 s: 65625 bytes a segment.
	if got := strings.Join(o.originArgs(), " "); got != "--synthetic --segment-duration 1s --segment-size 65625" {
		t.Errorf("origin flags %q", got)
	}
	if a := strings.Join(o.homeArgs(2, 4, 20, 5*time.Second), " "); !strings.Contains(a, "--behind 1 --index 2 --homes 4 --fleet 20") || !strings.Contains(a, "--churn 5s --churn-from 5s") {
		t.Errorf("home flags %q", a)
	}
	for _, bad := range [][]string{
		{"--latency", "0"}, {"--download-only", "1.5"}, {"--churn", "500ms"}, {"--churn", "2m"}, {"--segment-duration", "100ms"},
		{"--uplink", "10"}, {"--scenarios", "p2pml"},
	} {
		if _, err := parseSwarmGoFlags(append([]string{"--net", "broadband"}, bad...), io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// Half download-only is every second viewer in join order; a quarter, one
// in four.
func TestDownloadOnlySpreadsEvenly(t *testing.T) {
	for _, tc := range []struct {
		share float64
		want  int
	}{{0, 0}, {0.5, 10}, {0.25, 5}, {1, 20}} {
		n := 0
		for g := range 20 {
			if downloadOnly(g, tc.share) {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("share %v: %d of 20 download-only, want %d", tc.share, n, tc.want)
		}
	}
	if downloadOnly(0, 0.5) || !downloadOnly(1, 0.5) {
		t.Error("half: the first viewer uploads, the second does not")
	}
}

// With churn, a fleet of 3 replaces one viewer per interval in join
// order; each replacement is a new session in the same slot.
func TestChurnSessions(t *testing.T) {
	s := time.Second
	got := sessions(1, 3, 1*s, 20*s, 2*s, 2*s) // viewer 1 joins at 1 s; churn from 2 s every 2 s
	want := [][2]time.Duration{{1 * s, 6 * s}, {6 * s, 12 * s}, {12 * s, 18 * s}, {18 * s, 21 * s}}
	if !slices.Equal(got, want) {
		t.Errorf("sessions %v, want %v", got, want)
	}
	if got := sessions(0, 3, 0, 10*s, 0, 0); !slices.Equal(got, [][2]time.Duration{{0, 10 * s}}) {
		t.Errorf("no churn: %v", got)
	}
}

func TestSwarmGoStartup(t *testing.T) {
	s := swarmGoSummary{StartupS: []float64{0.4, 0.1, 0.2, 0.3}}
	if got := s.startup(); got != "200 / 400" {
		t.Errorf("start-up %q", got)
	}
	if got := (swarmGoSummary{}).startup(); got != "–" {
		t.Errorf("nobody started: %q", got)
	}
}

// With churn, the swarm runner reports the viewers that left beside those
// watching: more than n, bounded by one per churn interval.
func TestSwarmCaseWithChurnReportsTheViewersWhoLeft(t *testing.T) {
	c := swarmCase{Scenario: scenarioSuper, Mode: "video", Latency: 3, N: 2, WatchS: 40,
		Viewers: []swarmViewer{{Name: "v1"}, {Name: "v2"}, {Name: "v3"}, {Name: "v4"}}}
	if err := c.validate(0); err == nil || !strings.Contains(err.Error(), "4 viewers reported for n=2") {
		t.Errorf("without churn: %v", err)
	}
	if err := c.validate(10); err != nil {
		t.Errorf("churn every 10 s in 40 s: %v", err)
	}
	c.Viewers = append(c.Viewers, swarmViewer{Name: "v5"})
	if err := c.validate(40); err == nil {
		t.Error("churn every 40 s in 40 s: 5 viewers for n=2 accepted")
	}
}
