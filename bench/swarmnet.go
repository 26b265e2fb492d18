package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/netem"
)

// The network profiles of --net (issue 12). lan is loopback, as without
// --net; the others put every viewer in a home of its own behind a NAT
// on a shaped access link (internal/netem).
var netProfiles = []string{"lan", "broadband", "mobile", "mixed", "overload"}

// overloadShare is the node's uplink under the overload profile, as a
// share of what all viewers together need over HTTP.
const overloadShare = 0.5

// Home kinds of the profiles.
const (
	kindBroadband = "broadband"
	kindMobile    = "mobile"
)

// runNet is what the runner gets for --net (bench/swarm/runner.ts RunNet).
type runNet struct {
	Profile  string    `json:"profile"`
	Homes    []runHome `json:"homes"`
	NodeYAML string    `json:"nodeYAML,omitempty"` // appended to the node's config (the TURN relay)
	WANDev   string    `json:"wanDev,omitempty"`
	Overload float64   `json:"overload,omitempty"`
}

type runHome struct {
	Chromium string `json:"chromium"`
	NAT      string `json:"nat"`
	Kind     string `json:"kind"`
	Public   string `json:"public"`
	Mobile   bool   `json:"mobile"`
}

// spread is a number in [0, 1) for home i, evenly spread over the homes
// whatever their count (the golden ratio sequence), so that RTTs cover
// their range at any N.
func spread(i int) float64 {
	_, f := math.Modf(float64(i) * 0.6180339887498949)
	return f
}

// accessLink is one home's link of a kind: the RTT to the node (split
// evenly between the two directions, jitter a tenth of each), the loss on
// each direction, and the rate caps.
func accessLink(kind string, i int) (up, down netem.Link) {
	lo, hi, loss, upRate, downRate := 20.0, 60.0, 0.005, int64(5_000_000), int64(50_000_000)
	if kind == kindMobile {
		lo, hi, loss, upRate, downRate = 80, 150, 0.01, 1_000_000, 10_000_000
	}
	rtt := time.Duration((lo + (hi-lo)*spread(i)) * float64(time.Millisecond))
	one := rtt / 2
	up = netem.Link{Delay: one, Jitter: one / 10, Loss: loss, Rate: upRate}
	down = netem.Link{Delay: one, Jitter: one / 10, Loss: loss, Rate: downRate}
	return up, down
}

// mixedPattern is the mixed profile's homes in order, repeating: 60 %
// broadband behind cone NATs, 20 % broadband behind symmetric NATs, 20 %
// mobile, and every prefix of two or more homes has a cone pair.
var mixedPattern = []struct {
	nat  netem.NAT
	kind string
}{{netem.Cone, kindBroadband}, {netem.Cone, kindBroadband}, {netem.Symmetric, kindBroadband}, {netem.Cone, kindMobile}, {netem.Cone, kindBroadband}}

// netProfile is the emulated internet of a profile for n homes, with each
// home's kind. Mobile homes are behind cone NATs (carrier NATs map
// endpoint-independently, RFC 6888) and download-only.
func netProfile(name string, n int) (netem.Config, []string, error) {
	cfg := netem.Config{Seed: 12}
	var kinds []string
	for i := 0; i < n; i++ {
		nat, kind := netem.Cone, kindBroadband
		switch name {
		case "broadband", "overload":
		case "mobile":
			kind = kindMobile
		case "mixed":
			p := mixedPattern[i%len(mixedPattern)]
			nat, kind = p.nat, p.kind
		default:
			return cfg, nil, fmt.Errorf("--net %q: want one of %s", name, strings.Join(netProfiles, ", "))
		}
		up, down := accessLink(kind, i)
		cfg.Homes = append(cfg.Homes, netem.Home{NAT: nat, Up: up, Down: down})
		kinds = append(kinds, kind)
	}
	return cfg, kinds, cfg.Validate()
}

// startNet builds the emulated internet of the runner's config inside the
// bench's namespace (one home per viewer of the largest N) and a Chromium
// wrapper per home, and points the runner and the node at them: the node
// listens on the wan and its STUN (and with turn its TURN relay) gives
// viewers their candidates.
func startNet(ctx context.Context, cfgPath, profile string, turn bool, log *slog.Logger) (stop func(), err error) {
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	var rc runConfig
	if err := json.Unmarshal(b, &rc); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	homes := slices.Max(rc.Viewers)
	if rc.ChurnS > 0 {
		homes++ // the viewer that joins while the one leaving still plays
	}
	ncfg, kinds, err := netProfile(profile, homes)
	if err != nil {
		return nil, err
	}
	n, err := netem.New(ctx, ncfg, log)
	if err != nil {
		return nil, err
	}
	var cl cleanups
	defer func() {
		if err != nil {
			cl.run()
		}
	}()
	cl.add(func() { _ = n.Close() })
	// The node's own STUN on a port of its own, apart from the ICE port
	// (offered first in every welcome, at the wan address it is bound
	// to), and with turn its TURN relay.
	rn := &runNet{Profile: profile}
	if turn {
		// Every address of the emulated internet is private: the relay
		// must be let relay to them.
		rn.NodeYAML = "turn:\n  enabled: true\n  listen: \"" + n.WANAddr().String() + ":0\"\n  allow_private_peers: true\n"
	}
	if profile == "overload" {
		rn.WANDev, rn.Overload = "wan", overloadShare
	}
	dir := filepath.Dir(cfgPath)
	for i, h := range n.Homes() {
		w := filepath.Join(dir, fmt.Sprintf("chromium-home%d", i))
		script := fmt.Sprintf("#!/bin/sh\nexec nsenter --net=%s -- %s \"$@\"\n", h.NetNS(), shellQuote(rc.Chromium))
		if err := os.WriteFile(w, []byte(script), 0o755); err != nil {
			return nil, err
		}
		rn.Homes = append(rn.Homes, runHome{Chromium: w, NAT: string(h.Config.NAT), Kind: kinds[i], Public: h.Public.String(), Mobile: kinds[i] == kindMobile})
	}
	rc.Net = rn
	wan := n.WANAddr().String()
	rc.NodeArgs = append(rc.NodeArgs, "--listen", wan+":0", "--ice-udp", wan+":0", "--stun-listen", wan+":0")
	if rc.Settings == nil {
		rc.Settings = map[string]any{}
	}
	rc.Settings["net"] = profile
	rc.Settings["net_homes"] = describeHomes(ncfg, kinds)
	rc.Settings["ice_servers"] = "the node's STUN" + map[bool]string{true: " and TURN relay", false: ""}[turn]
	if err := writeJSON(cfgPath, rc); err != nil {
		return nil, err
	}
	log.Info("emulated internet up", "profile", profile, "homes", len(n.Homes()), "node", wan, "turn", turn)
	return cl.run, nil
}

// describeHomes counts the homes by NAT and kind, for the report.
func describeHomes(cfg netem.Config, kinds []string) map[string]int {
	m := map[string]int{}
	for i, h := range cfg.Homes {
		m[string(h.NAT)+" "+kinds[i]]++
	}
	return m
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
