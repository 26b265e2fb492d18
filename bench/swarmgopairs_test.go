package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgeswarm/edgeswarm/internal/testpeer"
)

// Connections are counted by the NAT pair of their two ends, the
// super-peer apart, with the candidate types and bytes of each.
func TestSwarmGoPairs(t *testing.T) {
	homes := []swarmGoHome{
		{NAT: "cone", Kind: "broadband", Viewers: []soakViewerResult{{ID: "a", Links: []testpeer.LinkInfo{
			{ID: "sp", Seeder: true, Ready: true, Local: "srflx", Remote: "host", Bytes: 100},
			{ID: "b", Ready: true, Local: "srflx", Remote: "srflx", Bytes: 50, Requests: 3, Failed: 1, Late: 1},
			{ID: "c"},
		}}}},
		{NAT: "cone", Kind: "mobile", Viewers: []soakViewerResult{{ID: "b", Links: []testpeer.LinkInfo{
			{ID: "a", Ready: true, Local: "srflx", Remote: "srflx"},
		}}}},
		{NAT: "symmetric", Kind: "broadband", Viewers: []soakViewerResult{{ID: "c", Links: []testpeer.LinkInfo{{ID: "a"}}}}},
	}
	p := swarmGoPairs(homes)
	check := func(k string, links, ready int, bytes int64) {
		t.Helper()
		g := p[k]
		if g == nil {
			t.Fatalf("no pair %q in %v", k, p)
		}
		if g.Links != links || g.Ready != ready || g.Bytes != bytes {
			t.Errorf("%s: %+v, want %d links, %d connected, %d bytes", k, *g, links, ready, bytes)
		}
	}
	check("cone broadband -> super-peer", 1, 1, 100)
	check("cone broadband -> cone mobile", 1, 1, 50)
	check("cone broadband -> symmetric broadband", 1, 0, 0)
	check("cone mobile -> cone broadband", 1, 1, 0)
	check("symmetric broadband -> cone broadband", 1, 0, 0)
	if g := p["cone broadband -> cone mobile"]; g.Types["srflx/srflx"] != 1 || g.Late != 1 || g.Requests != 3 {
		t.Errorf("types and requests: %+v", *g)
	}
	var b bytes.Buffer
	writeSwarmGoPairs(&b, swarmGoCase{Scenario: "super", Pairs: p})
	if !strings.Contains(b.String(), "| cone broadband -> symmetric broadband | 1 | 0 |") {
		t.Errorf("table:\n%s", b.String())
	}
}
