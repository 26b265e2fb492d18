package main

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// swarmCaseNet is a --net case's network: the profile, and the cap on the
// node's uplink (overload; 0: none).
type swarmCaseNet struct {
	Profile    string  `json:"profile"`
	WANRateBps float64 `json:"wan_rate_bps"`
}

// swarmConn is one peer connection as the viewer's page saw it.
type swarmConn struct {
	State       string   `json:"state"` // connected (at some point), failed, or how it ended otherwise
	Local       string   `json:"local,omitempty"`
	Remote      string   `json:"remote,omitempty"`
	RemoteAddrs []string `json:"remoteAddrs"`
}

// netNodeAddr is the node's address on the emulated wan (internal/netem).
const netNodeAddr = "10.0.0.1"

// netOf is the --net profile of a run ("" for loopback).
func netOf(raw *swarmRaw) string {
	p, _ := raw.Settings["net"].(string)
	if p == "lan" {
		return ""
	}
	return p
}

// netPair is one kind of peer connection: the viewer's NAT and whom it
// tried to reach (the node's super-peer, or a viewer behind a NAT).
type netPair struct{ from, to string }

type netPairStats struct {
	attempts, connected int
	types               map[string]int // "local/remote" candidate types of the connected ones
}

// netPairs counts a case's peer connections by NAT pair, each end
// counting its own: a viewer's NAT, and the NAT of the viewer whose
// public address was among the remote candidates (or the node).
func netPairs(c *swarmCase) map[netPair]*netPairStats {
	nat := map[string]string{}
	for _, v := range c.Viewers {
		if v.Public != "" {
			nat[v.Public] = v.NAT
		}
	}
	out := map[netPair]*netPairStats{}
	for _, v := range c.Viewers {
		if v.NAT == "" {
			continue
		}
		for _, cn := range v.Conns {
			to := "unknown (no public candidate)"
			for _, a := range cn.RemoteAddrs {
				if a == netNodeAddr {
					to = "node"
				} else if n, ok := nat[a]; ok {
					to = n
					break
				}
			}
			k := netPair{v.NAT, to}
			if out[k] == nil {
				out[k] = &netPairStats{types: map[string]int{}}
			}
			s := out[k]
			s.attempts++
			if cn.State == "connected" {
				s.connected++
				s.types[orUnknown(cn.Local)+"/"+orUnknown(cn.Remote)]++
			}
		}
	}
	return out
}

// writeNetSection prints, per --net case with P2P, the peer connections
// by NAT pair: attempts, how many connected, and over which candidate
// types; and the node's uplink cap where there was one.
func writeNetSection(b *bytes.Buffer, raw *swarmRaw) {
	if netOf(raw) == "" {
		return
	}
	fmt.Fprintf(b, "### Peer connections by NAT pair (--net %s)\n\n", netOf(raw))
	fmt.Fprintln(b, "Each end counts its own connections; a viewer behind a symmetric NAT shows up to its peers as \"unknown\" when no candidate of it carried its router's address.")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| case | viewer NAT | to | attempts | connected | selected candidates (local/remote) |")
	fmt.Fprintln(b, "|---|---|---|--:|--:|---|")
	wrote := false
	for i := range raw.Cases {
		c := &raw.Cases[i]
		pairs := netPairs(c)
		keys := make([]netPair, 0, len(pairs))
		for k := range pairs {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b netPair) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
		label := fmt.Sprintf("%s, latency %d, N=%d", c.Scenario, c.Latency, c.N)
		if c.Net != nil && c.Net.WANRateBps > 0 {
			label += fmt.Sprintf(", node uplink %.2f Mbit/s", c.Net.WANRateBps/1e6)
		}
		for _, k := range keys {
			s := pairs[k]
			var types []string
			for t, n := range s.types {
				types = append(types, fmt.Sprintf("%s ×%d", t, n))
			}
			slices.Sort(types)
			fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %s |\n", label, k.from, k.to, s.attempts, s.connected, strings.Join(types, ", "))
			wrote = true
		}
	}
	if !wrote {
		fmt.Fprintln(b, "| – | | | 0 | 0 | no peer connection (HTTP only) |")
	}
	fmt.Fprintln(b)
}

// The floors of issue 12 for the --net profiles.
const (
	netMixedOffload     = 0.70 // mixed, N >= 20 browsers
	netStartupSlackMs   = 300.0
	netOverloadStallDiv = 5.0 // overload: P2P viewers stall at least this many times less
)

// netFloors judges super against http of the same latency, mode and N in
// a --net run: no more stalls, start-up p50 at most 300 ms later; in
// mixed at N >= 20 an offload of 70 %; in overload, HTTP-only viewers
// stall and P2P viewers at least five times less.
func netFloors(profile string, rows []swarmRow) []floorCheck {
	type key struct {
		scenario, mode string
		latency, n     int
	}
	by := map[key]*swarmRow{}
	for i := range rows {
		r := &rows[i]
		by[key{r.Scenario, r.Mode, r.Latency, r.N}] = r
	}
	var out []floorCheck
	for i := range rows {
		sup := &rows[i]
		if sup.Scenario != scenarioSuper {
			continue
		}
		name := func(what string) string {
			return fmt.Sprintf("%s, latency %d %s, N=%d: %s", profile, sup.Latency, sup.Mode, sup.N, what)
		}
		if profile == "mixed" && sup.N >= 20 {
			out = append(out, floorCheck{Name: name("super offload"), Want: ">= " + pct(netMixedOffload), Got: pct(sup.Offload), Pass: sup.Offload >= netMixedOffload})
		}
		http := by[key{scenarioHTTP, sup.Mode, sup.Latency, sup.N}]
		if http == nil {
			out = append(out, floorCheck{Name: name("super against http"), Want: "http in the same run", Got: "http not run", Skipped: true})
			continue
		}
		if profile == "overload" {
			out = append(out, floorCheck{Name: name("http stalls"), Want: "> 0 (the node's uplink is too small)", Got: fmt.Sprint(http.Stalls), Pass: http.Stalls > 0})
			got := fmt.Sprintf("%d against http %d", sup.Stalls, http.Stalls)
			if sup.Stalls > 0 {
				got += fmt.Sprintf(" (%.1fx less)", float64(http.Stalls)/float64(sup.Stalls))
			}
			out = append(out, floorCheck{Name: name("super stalls"), Want: fmt.Sprintf("<= http / %.0f", netOverloadStallDiv), Got: got,
				Pass: float64(sup.Stalls)*netOverloadStallDiv <= float64(http.Stalls)})
			continue
		}
		out = append(out, floorCheck{Name: name("super stalls <= http"), Want: fmt.Sprintf("<= %d", http.Stalls), Got: fmt.Sprint(sup.Stalls), Pass: sup.Stalls <= http.Stalls})
		want := http.StartupP50 + netStartupSlackMs
		out = append(out, floorCheck{Name: name("super startup p50"), Want: fmt.Sprintf("<= %.0f ms (http %.0f + 300)", want, http.StartupP50),
			Got: fmt.Sprintf("%.0f ms", sup.StartupP50), Pass: sup.StartupP50 <= want && sup.NeverPlayed <= http.NeverPlayed})
	}
	return out
}
