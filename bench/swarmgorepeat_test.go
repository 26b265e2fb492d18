package main

import (
	"bytes"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/edgeswarm/edgeswarm/internal/testpeer"
)

// goCase is a case of round r with p2p bytes out of 100 (offload p2p %),
// stalls and start-up p50 (s).
func goCase(sc string, r int, p2p int64, stalls int, startup float64) swarmGoCase {
	return swarmGoCase{Scenario: sc, Round: r, All: swarmGoSummary{HTTP: 100 - p2p, P2P: p2p, Stalls: stalls, StartupS: []float64{startup}}}
}

func TestRepeatCellMedianAndRange(t *testing.T) {
	var c repeatCell
	if got := c.format("%.1f"); got != "–" {
		t.Errorf("no rounds: %q", got)
	}
	c.add(30)
	if got := c.format("%.1f"); got != "30.0" {
		t.Errorf("one round: %q", got)
	}
	c.add(10)
	c.add(20)
	if got := c.format("%.1f"); got != "20.0 (10.0–30.0)" {
		t.Errorf("three rounds: %q", got)
	}
	c.add(40)
	if m := c.median(); m != 25 {
		t.Errorf("median of four %v, want 25", m)
	}
}

// A round where super loses by 20 points beside two where it wins is
// noise; every round agreeing is a verdict, in the right direction for
// figures where less is better.
func TestRepeatVerdictNeedsEveryRound(t *testing.T) {
	mixed := []swarmGoCase{
		goCase("p2p", 0, 40, 5, 0.3), goCase("super", 0, 50, 1, 0.3),
		goCase("p2p", 1, 40, 5, 0.3), goCase("super", 1, 20, 1, 0.3),
		goCase("p2p", 2, 40, 5, 0.3), goCase("super", 2, 48, 1, 0.3),
	}
	off := pairedDiff(mixed, func(c swarmGoCase) float64 { return 100 * c.All.offload() })
	if got := off.format("%+.1f"); got != "+8.0 (-20.0–+10.0)" {
		t.Errorf("offload differences %q", got)
	}
	if v := verdict(off, true, 1); v != "within noise" {
		t.Errorf("offload verdict %q, want within noise", v)
	}
	st := pairedDiff(mixed, func(c swarmGoCase) float64 { return float64(c.All.Stalls) })
	if v := verdict(st, false, 1); v != "better" {
		t.Errorf("4 fewer stalls in every round: %q, want better", v)
	}
	worse := []swarmGoCase{
		goCase("p2p", 0, 40, 0, 0.3), goCase("super", 0, 30, 0, 0.9),
		goCase("p2p", 1, 45, 0, 0.3), goCase("super", 1, 38, 0, 0.8),
	}
	if v := verdict(pairedDiff(worse, func(c swarmGoCase) float64 { return 100 * c.All.offload() }), true, 1); v != "worse" {
		t.Errorf("lower offload in every round: %q, want worse", v)
	}
	if v := verdict(pairedDiff(worse, caseStartupP50), false, 50); v != "worse" {
		t.Errorf("slower start-up in every round: %q, want worse", v)
	}
	// Every round agrees but by less than the least move that counts.
	tiny := []swarmGoCase{goCase("p2p", 0, 40, 0, 0.30), goCase("super", 0, 40, 0, 0.31)}
	if v := verdict(pairedDiff(tiny, caseStartupP50), false, 50); v != "within noise" {
		t.Errorf("10 ms slower: %q, want within noise", v)
	}
}

// Nobody started in one round: that round has no start-up to compare.
func TestRepeatSkipsRoundsWithoutAFigure(t *testing.T) {
	cs := []swarmGoCase{goCase("p2p", 0, 40, 0, 0.3), goCase("super", 0, 40, 0, 0.2), goCase("p2p", 1, 40, 0, 0.3), {Scenario: "super", Round: 1}}
	if p := caseStartupP50(cs[3]); !math.IsNaN(p) {
		t.Fatalf("start-up of nobody %v", p)
	}
	d := pairedDiff(cs, caseStartupP50)
	if len(d.v) != 1 || math.Round(d.v[0]) != -100 {
		t.Errorf("differences %v, want only round 0's -100 ms", d.v)
	}
}

func TestSwarmGoRepeatReport(t *testing.T) {
	o, err := parseSwarmGoFlags([]string{"--net", "broadband", "--scenarios", "http,p2p,super", "--repeat", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Repeat != 2 {
		t.Fatalf("repeat %d", o.Repeat)
	}
	for _, bad := range []string{"0", "21"} {
		if _, err := parseSwarmGoFlags([]string{"--net", "broadband", "--repeat", bad}, io.Discard); err == nil {
			t.Errorf("--repeat %s accepted", bad)
		}
	}
	cs := []swarmGoCase{
		goCase("http", 0, 0, 9, 0.2), goCase("p2p", 0, 40, 5, 0.3), goCase("super", 0, 50, 1, 0.4),
		goCase("http", 1, 0, 7, 0.2), goCase("p2p", 1, 30, 5, 0.3), goCase("super", 1, 45, 2, 0.4),
	}
	// Round 1's super viewers asked others 10 times, 4 of them in vain
	// (late), and the super-peer left 3 segments unpushed.
	cs[5].Homes = []swarmGoHome{{Viewers: []soakViewerResult{{Links: []testpeer.LinkInfo{{Requests: 6, Late: 3}, {Requests: 4, Late: 1}}}}}}
	cs[5].PushPaused = 3
	var b bytes.Buffer
	writeSwarmGoRepeat(&b, o, cs)
	out := b.String()
	for _, want := range []string{
		"over 2 rounds",
		"| http | 0.0 (0.0–0.0) | 8 (7–9) |",
		"| super | 47.5 (45.0–50.0) | 1.5 (1–2) |",
		"| 5 (0–10) | 2 (0–4) | 1.5 (0–3) |",
		"| offload, points | +12.5 (+10.0–+15.0) | better |",
		"| stalls | -3.5 (-4–-3) | better |",
		"| start-up p50, ms | +100 (+100–+100) | worse |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
