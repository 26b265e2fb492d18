package main

import (
	"bytes"
	"fmt"
	"math"
	"slices"
)

// Repeated runs (swarm-go --repeat N): every round plays the scenarios
// once, in order, so that the rounds interleave (http, p2p, super, http,
// p2p, super, ...) and a busy spell of the host falls on every case
// alike. The summary gives each cell as the median over the rounds with
// its range, and compares super with p2p round by round: a difference
// counts as better or worse only when every round agrees on its sign, so
// a cell one noisy round moved reads "within noise".

// repeatCell is one figure of one scenario over the rounds.
type repeatCell struct{ v []float64 }

func (c *repeatCell) add(x float64) { c.v = append(c.v, x) }

// median of the values (the mean of the middle two when even); NaN when
// there are none.
func (c repeatCell) median() float64 {
	if len(c.v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(c.v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func (c repeatCell) spread() (lo, hi float64) {
	if len(c.v) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(c.v), slices.Max(c.v)
}

// format prints the median with its range: "12.3 (10.1–14.0)", or only
// the value for a single round.
func (c repeatCell) format(verb string) string {
	if len(c.v) == 0 {
		return "–"
	}
	m := fmt.Sprintf(verb, c.median())
	if len(c.v) == 1 {
		return m
	}
	lo, hi := c.spread()
	return fmt.Sprintf("%s (%s–%s)", m, fmt.Sprintf(verb, lo), fmt.Sprintf(verb, hi))
}

// repeatRow is one scenario's figures over the rounds.
type repeatRow struct {
	offload, stalls, stallS, startup, egress, busy repeatCell
	late, requests, paused                         repeatCell
}

// caseRequests counts the viewers' requests to other viewers and those
// given up before the last byte (late: the segment turned critical).
func caseRequests(c swarmGoCase) (all, late int) {
	for _, h := range c.Homes {
		for _, v := range h.Viewers {
			for _, l := range v.Links {
				all += l.Requests
				late += l.Late
			}
		}
	}
	return all, late
}

// caseStartupP50 is a case's start-up p50 in ms (NaN when nobody started).
func caseStartupP50(c swarmGoCase) float64 {
	v := slices.Clone(c.All.StartupS)
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	return 1000 * v[min(len(v)-1, int(math.Ceil(0.5*float64(len(v))))-1)]
}

// repeatRows collects the cases by scenario, in the order given.
func repeatRows(scenarios []string, cases []swarmGoCase) map[string]*repeatRow {
	rows := map[string]*repeatRow{}
	for _, sc := range scenarios {
		rows[sc] = &repeatRow{}
	}
	for _, c := range cases {
		r := rows[c.Scenario]
		if r == nil {
			continue
		}
		r.offload.add(100 * c.All.offload())
		r.stalls.add(float64(c.All.Stalls))
		r.stallS.add(c.All.StallS)
		if p := caseStartupP50(c); !math.IsNaN(p) {
			r.startup.add(p)
		}
		r.egress.add(float64(c.NodeHTTP+c.NodeSeed) / (1 << 20))
		r.busy.add(100 * c.HostBusy)
		all, late := caseRequests(c)
		r.requests.add(float64(all))
		r.late.add(float64(late))
		r.paused.add(c.PushPaused)
	}
	return rows
}

// pairedDiff is super minus p2p round by round, for a figure of a case.
func pairedDiff(cases []swarmGoCase, fig func(swarmGoCase) float64) repeatCell {
	byRound := map[int]map[string]float64{}
	for _, c := range cases {
		if byRound[c.Round] == nil {
			byRound[c.Round] = map[string]float64{}
		}
		byRound[c.Round][c.Scenario] = fig(c)
	}
	var d repeatCell
	for r := range len(byRound) {
		m := byRound[r]
		p, okP := m[scenarioP2P]
		s, okS := m[scenarioSuper]
		if okP && okS && !math.IsNaN(p) && !math.IsNaN(s) {
			d.add(s - p)
		}
	}
	return d
}

// verdict names what the paired differences d say, where more is better
// when higherBetter: better or worse only when every round agrees and
// the median moved by at least min.
func verdict(d repeatCell, higherBetter bool, minMove float64) string {
	if len(d.v) == 0 {
		return "–"
	}
	lo, hi := d.spread()
	m := d.median()
	if !higherBetter {
		lo, hi, m = -hi, -lo, -m
	}
	switch {
	case lo > 0 && m >= minMove:
		return "better"
	case hi < 0 && -m >= minMove:
		return "worse"
	}
	return "within noise"
}

// writeSwarmGoRepeat writes the summary of rounds: the median and range
// of every scenario's figures, then super against p2p round by round.
func writeSwarmGoRepeat(b *bytes.Buffer, o swarmGoOptions, cases []swarmGoCase) {
	fmt.Fprintf(b, "\n## over %d rounds (interleaved): median (min–max)\n\n", o.Repeat)
	fmt.Fprintln(b, "| scenario | offload % | stalls | stall s | start-up p50 ms | node egress MiB | viewer requests | given up late | pushes paused | host busy % |")
	fmt.Fprintln(b, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	rows := repeatRows(o.Scenarios, cases)
	for _, sc := range o.Scenarios {
		r := rows[sc]
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, r.offload.format("%.1f"), r.stalls.format("%g"), r.stallS.format("%.1f"),
			r.startup.format("%.0f"), r.egress.format("%.1f"), r.requests.format("%g"), r.late.format("%g"), r.paused.format("%g"), r.busy.format("%.0f"))
	}
	if !slices.Contains(o.Scenarios, scenarioP2P) || !slices.Contains(o.Scenarios, scenarioSuper) {
		return
	}
	off := pairedDiff(cases, func(c swarmGoCase) float64 { return 100 * c.All.offload() })
	st := pairedDiff(cases, func(c swarmGoCase) float64 { return float64(c.All.Stalls) })
	up := pairedDiff(cases, caseStartupP50)
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| super - p2p, round by round | median (min–max) | verdict |")
	fmt.Fprintln(b, "|---|--:|---|")
	fmt.Fprintf(b, "| offload, points | %s | %s |\n", off.format("%+.1f"), verdict(off, true, 1))
	fmt.Fprintf(b, "| stalls | %s | %s |\n", st.format("%+g"), verdict(st, false, 1))
	fmt.Fprintf(b, "| start-up p50, ms | %s | %s |\n", up.format("%+.0f"), verdict(up, false, 50))
}
