package main

import (
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/netem"
)

// TestNetProfiles: the profiles give the links, NATs and shares.
func TestNetProfiles(t *testing.T) {
	cfg, kinds, err := netProfile("mixed", 20)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for i, h := range cfg.Homes {
		count[string(h.NAT)+" "+kinds[i]]++
		rtt := h.Up.Delay + h.Down.Delay
		lo, hi, up, down, loss := 20*time.Millisecond, 60*time.Millisecond, int64(5e6), int64(50e6), 0.005
		if kinds[i] == kindMobile {
			lo, hi, up, down, loss = 80*time.Millisecond, 150*time.Millisecond, 1e6, 10e6, 0.01
			if h.NAT != netem.Cone {
				t.Errorf("home %d: mobile behind %s", i, h.NAT)
			}
		}
		if rtt < lo || rtt > hi || h.Up.Rate != up || h.Down.Rate != down || h.Up.Loss != loss || h.Down.Loss != loss {
			t.Errorf("home %d (%s): RTT %v, up %d, down %d, loss %v/%v", i, kinds[i], rtt, h.Up.Rate, h.Down.Rate, h.Up.Loss, h.Down.Loss)
		}
	}
	if count["cone broadband"] != 12 || count["symmetric broadband"] != 4 || count["cone mobile"] != 4 {
		t.Errorf("mixed N=20: %v, want 12 cone broadband, 4 symmetric broadband, 4 mobile", count)
	}
	if first := cfg.Homes[:2]; first[0].NAT != netem.Cone || first[1].NAT != netem.Cone {
		t.Error("the first two homes of mixed are not a cone pair")
	}
	if _, _, err := netProfile("dialup", 2); err == nil {
		t.Error("an unknown profile was accepted")
	}
	if _, err := parseSwarmFlags([]string{"--net", "lan", "--turn"}, testWriter{t}); err == nil {
		t.Error("--turn without a --net profile was accepted")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// TestNetPairsAndFloors: connections are classified by the NATs of both
// ends, and the overload floor wants HTTP-only to stall and P2P to stall
// five times less.
func TestNetPairsAndFloors(t *testing.T) {
	zero, one, two := 0, 1, 2
	c := &swarmCase{Viewers: []swarmViewer{
		{Home: &zero, NAT: "cone", Public: "10.0.0.2", Conns: []swarmConn{
			{State: "connected", Local: "srflx", Remote: "host", RemoteAddrs: []string{"10.0.0.1"}},
			{State: "connected", Local: "srflx", Remote: "srflx", RemoteAddrs: []string{"192.168.1.2", "10.0.0.3"}},
			{State: "failed", RemoteAddrs: []string{"10.0.0.4"}},
		}},
		{Home: &one, NAT: "cone", Public: "10.0.0.3"},
		{Home: &two, NAT: "symmetric", Public: "10.0.0.4"},
	}}
	p := netPairs(c)
	if s := p[netPair{"cone", "node"}]; s == nil || s.connected != 1 || s.types["srflx/host"] != 1 {
		t.Errorf("cone to node: %+v", s)
	}
	if s := p[netPair{"cone", "cone"}]; s == nil || s.attempts != 1 || s.types["srflx/srflx"] != 1 {
		t.Errorf("cone to cone: %+v", s)
	}
	if s := p[netPair{"cone", "symmetric"}]; s == nil || s.attempts != 1 || s.connected != 0 {
		t.Errorf("cone to symmetric: %+v", s)
	}
	rows := []swarmRow{
		{Scenario: scenarioHTTP, Mode: "virtual", Latency: 3, N: 10, Stalls: 20},
		{Scenario: scenarioSuper, Mode: "virtual", Latency: 3, N: 10, Stalls: 5},
	}
	f := netFloors("overload", rows)
	if len(f) != 2 || !f[0].Pass || f[1].Pass {
		t.Errorf("overload, http 20 stalls, super 5: %+v (want http stalls PASS, 4x less FAIL)", f)
	}
	rows[1].Stalls = 4
	if f := netFloors("overload", rows); !f[1].Pass {
		t.Errorf("overload, 5x less: %+v", f[1])
	}
}
