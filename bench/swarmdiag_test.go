package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDiagSection: the viewers' load reasons are summed per case with
// their shares, peer loads by outcome (prefetches included), and the
// median time to a first viewer peer; a run without diagnostics prints
// nothing.
func TestDiagSection(t *testing.T) {
	ms := func(v float64) *float64 { return &v }
	raw := &swarmRaw{Cases: []swarmCase{
		{Scenario: "http", Latency: 3, N: 2, Viewers: []swarmViewer{{Name: "v1"}, {Name: "v2"}}},
		{Scenario: "super", Latency: 3, N: 3, Viewers: []swarmViewer{
			{Name: "v1", Diag: &swarmDiag{
				Loads:       map[string]int{"p2p": 6, "http/no_swarm": 1, "http/critical": 1},
				PeerLoads:   map[string]int{"done": 6, "abandoned/critical": 1, "prefetch done": 2},
				FirstPeerMs: ms(900),
			}},
			{Name: "v2", Diag: &swarmDiag{
				Loads:     map[string]int{"memory": 1, "http/no_source": 1, "http/odd": 0},
				PeerLoads: map[string]int{"prefetch failed/busy": 3},
			}},
			{Name: "v3"},
		}},
	}}
	var b bytes.Buffer
	writeDiagSection(&b, raw)
	out := b.String()
	want := "| super, latency 3, N=3 | 10 | 6 (60 %) | 1 (10 %) | 0 | 1 (10 %) | 0 | 1 (10 %) | 1 (10 %) | 0 | 0 | 0 | 0 | 8 / 1 / 3 | 900 (1 of 2) |"
	if !strings.Contains(out, want) {
		t.Errorf("diag section:\n%s\nwant the row\n%s", out, want)
	}
	if strings.Contains(out, "http, latency 3") {
		t.Errorf("a case without diagnostics has a row:\n%s", out)
	}
	b.Reset()
	writeDiagSection(&b, &swarmRaw{Cases: raw.Cases[:1]})
	if b.Len() != 0 {
		t.Errorf("a run without diagnostics printed:\n%s", b.String())
	}
}
