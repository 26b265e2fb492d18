package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// swarmDiag is what an edgeswarm viewer's page recorded of the client's
// load and peer-load events (bench/swarm/page.ts DiagResult): the
// player's loads by "source" or "http/why", the peer loads by
// "[prefetch ]outcome[/reason]", and the time to its first ready viewer
// peer and super-peer (ms after the page started; nil: none).
type swarmDiag struct {
	Loads       map[string]int `json:"loads"`
	PeerLoads   map[string]int `json:"peerLoads"`
	FirstPeerMs *float64       `json:"firstPeerMs"`
	FirstSeedMs *float64       `json:"firstSeedMs"`
}

// diagLoadColumns are the player-load keys of the diag table, in order;
// any other key is counted under "other".
var diagLoadColumns = []string{"p2p", "memory", "http/startup", "http/no_swarm", "http/no_digest", "http/no_source", "http/critical", "http/abandoned", "http/failed", "http/risk"}

// writeDiagSection prints, per case whose viewers recorded diagnostics,
// where the player's segment loads came from and why they went over HTTP,
// the peer loads by outcome, and the median time to a first viewer peer.
// Nothing is printed for a raw file without them (HTTP only, older runs).
func writeDiagSection(b *bytes.Buffer, raw *swarmRaw) {
	type row struct {
		label      string
		loads      map[string]int
		peer       map[string]int
		firstPeer  []float64
		total      int
		other      int
		viewersAll int
	}
	var rows []row
	for i := range raw.Cases {
		c := &raw.Cases[i]
		r := row{label: fmt.Sprintf("%s, latency %d, N=%d", c.Scenario, c.Latency, c.N), loads: map[string]int{}, peer: map[string]int{}}
		for _, v := range c.Viewers {
			if v.Diag == nil {
				continue
			}
			r.viewersAll++
			for k, n := range v.Diag.Loads {
				r.total += n
				if slices.Contains(diagLoadColumns, k) {
					r.loads[k] += n
				} else {
					r.other += n
				}
			}
			for k, n := range v.Diag.PeerLoads {
				r.peer[strings.TrimPrefix(strings.SplitN(k, "/", 2)[0], "prefetch ")] += n
			}
			if v.Diag.FirstPeerMs != nil {
				r.firstPeer = append(r.firstPeer, *v.Diag.FirstPeerMs)
			}
		}
		if r.viewersAll > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(b, "### Where the segments came from (edgeswarm viewers)")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "The player's segment loads, summed over the viewers, by source and, over HTTP, why not from a peer (the client's load events): startup (the first segment never waits), no_swarm (not joined yet), no_digest (nobody had fetched it), no_source (no peer held it before the wait ran out), critical (already due when asked), abandoned (a peer load reached its deadline; its bytes count as p2p), failed, risk (the risk mode allows no peer load). Then the peer loads by outcome, prefetches included, and the median time to a first viewer peer.")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| case | loads | "+strings.Join(diagLoadColumns, " | ")+" | other | peer loads done / abandoned / failed | first viewer peer p50 ms (viewers) |")
	fmt.Fprintln(b, "|---|--:|"+strings.Repeat("--:|", len(diagLoadColumns)+3))
	for _, r := range rows {
		cells := make([]string, 0, len(diagLoadColumns))
		for _, k := range diagLoadColumns {
			cells = append(cells, diagShare(r.loads[k], r.total))
		}
		first := "–"
		if len(r.firstPeer) > 0 {
			slices.Sort(r.firstPeer)
			first = fmt.Sprintf("%.0f (%d of %d)", r.firstPeer[len(r.firstPeer)/2], len(r.firstPeer), r.viewersAll)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %d / %d / %d | %s |\n", r.label, r.total, strings.Join(cells, " | "), diagShare(r.other, r.total),
			r.peer["done"], r.peer["abandoned"], r.peer["failed"], first)
	}
	fmt.Fprintln(b)
}

// diagShare is n and its share of total, as a table cell.
func diagShare(n, total int) string {
	if n == 0 || total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.0f %%)", n, 100*float64(n)/float64(total))
}
