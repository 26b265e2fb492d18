package signal

import (
	"sync"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

// testPolicy is the node's policies as the tracker sees them: swarm "/off"
// has viewer P2P off, mobile viewers upload off, holdback as set.
type testPolicy struct {
	mu       sync.Mutex
	rev      uint64
	off      map[string]bool
	holdback float64
}

func (p *testPolicy) Decide(swarm string, mobile bool) (wire.Policy, float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return wire.Policy{Revision: p.rev, P2POff: p.off[swarm], UploadOff: mobile}, p.holdback
}

func (p *testPolicy) set(swarm string, off bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rev++
	p.off[swarm] = off
}

func TestPolicyFollowsWelcomeAndReachesJoinedViewers(t *testing.T) {
	pol := &testPolicy{rev: 1, off: map[string]bool{}}
	cfg := testConfig()
	cfg.Open = true
	h := newHub(t, cfg, Options{Policy: pol})
	url := serve(t, h)

	a := dial(t, url)
	if w := a.join("/live/720p.m3u8", "", wire.Caps{Upload: true}); w.Config.Holdback {
		t.Fatal("held back with holdback 0")
	}
	p, ok := a.recv().(*wire.Policy)
	if !ok || p.Revision != 1 || p.P2POff || p.UploadOff {
		t.Fatalf("after welcome: %#v, want the policy", p)
	}
	mob := dial(t, url)
	mob.join("/live/720p.m3u8", "", wire.Caps{Mobile: true})
	if p, ok := mob.recv().(*wire.Policy); !ok || !p.UploadOff {
		t.Fatalf("mobile: %#v, want upload_off", p)
	}
	// The mobile viewer is download-only: not offered to a new viewer.
	b := dial(t, url)
	b.join("/live/720p.m3u8", "", wire.Caps{Upload: true})
	b.recv() // policy
	if ids := peerIDs(b.recv()); len(ids) != 1 {
		t.Fatalf("candidates %v, want only the desktop viewer", ids)
	}

	pol.set("/live/720p.m3u8", true)
	h.SetPolicy(pol)
	for _, c := range []*wsClient{a, mob, b} {
		// Skip what the joins of others sent (peers).
		for {
			m := c.recv()
			if p, ok := m.(*wire.Policy); ok {
				if !p.P2POff || p.Revision != 2 {
					t.Fatalf("new policy %#v", p)
				}
				break
			}
		}
	}
	// A new join gets the new policy at once, and, with P2P off, nobody
	// is offered to it as a source.
	c := dial(t, url)
	c.join("/live/720p.m3u8", "", wire.Caps{Upload: true})
	if p, ok := c.recv().(*wire.Policy); !ok || !p.P2POff {
		t.Fatalf("new join: %#v", p)
	}
	ps, ok := h.Peers("/live/720p.m3u8")
	if !ok || len(ps) != 4 {
		t.Fatalf("peers %v", ps)
	}
	for _, p := range ps {
		if p.Source {
			t.Fatalf("%s is a source with P2P off", p.ID)
		}
	}
	if sw := h.Swarms(); len(sw) != 1 || sw[0].Viewers != 4 {
		t.Fatalf("swarms %+v", sw)
	}
}

func TestHoldbackAllAndNone(t *testing.T) {
	pol := &testPolicy{rev: 1, off: map[string]bool{}, holdback: 1}
	cfg := testConfig()
	cfg.Open = true
	h := newHub(t, cfg, Options{Policy: pol})
	url := serve(t, h)
	a := dial(t, url)
	if w := a.join("/s.m3u8", "", wire.Caps{Upload: true}); !w.Config.Holdback {
		t.Fatal("holdback 1: welcome without holdback")
	}
	if p, ok := a.recv().(*wire.Policy); !ok || !p.Holdback {
		t.Fatalf("%#v", p)
	}
	// Held back for the whole join, whatever the policies become.
	pol.mu.Lock()
	pol.holdback = 0
	pol.mu.Unlock()
	pol.set("/s.m3u8", true)
	h.SetPolicy(pol)
	if p, ok := a.recv().(*wire.Policy); !ok || !p.Holdback || !p.P2POff {
		t.Fatalf("%#v", p)
	}
	b := dial(t, url)
	if w := b.join("/s.m3u8", "", wire.Caps{Upload: true}); w.Config.Holdback {
		t.Fatal("holdback 0: held back")
	}
	ps, _ := h.Peers("/s.m3u8")
	if len(ps) != 2 || ps[0].Holdback == ps[1].Holdback {
		t.Fatalf("%+v", ps)
	}
}

func TestNoPolicyNoMessage(t *testing.T) {
	cfg := testConfig()
	cfg.Open = true
	h := newHub(t, cfg, Options{})
	url := serve(t, h)
	a := dial(t, url)
	a.join("/s.m3u8", "", wire.Caps{Upload: true})
	b := dial(t, url)
	b.join("/s.m3u8", "", wire.Caps{Upload: true})
	if ids := peerIDs(b.recv()); len(ids) != 1 {
		t.Fatalf("without a policy the next message is peers, got %v", ids)
	}
}

func TestSetTicketsKeepsThePreviousSecretForOneTTL(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newHub(t, testConfig(), Options{Clock: clock})
	old := h.IssueTicket("/s.m3u8")
	if err := h.SetTickets("another-secret-of-16+bytes", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	fresh := h.IssueTicket("/s.m3u8")
	if fresh == old {
		t.Fatal("the new secret issued the old ticket")
	}
	for _, tk := range []string{old, fresh} {
		if err := h.tickets.verify(tk, "/s.m3u8", clock()); err != nil {
			t.Fatalf("right after the change: %v", err)
		}
	}
	mu.Lock()
	now = now.Add(11 * time.Minute) // past the previous TTL (10m)
	mu.Unlock()
	if err := h.tickets.verify(old, "/s.m3u8", clock()); err == nil {
		t.Fatal("the old secret still admits joins after its TTL")
	}
	if err := h.SetTickets("short", time.Minute); err == nil {
		t.Fatal("a short secret was accepted")
	}
	cfg := testConfig()
	cfg.Open = true
	if err := newHub(t, cfg, Options{}).SetTickets("another-secret-of-16+bytes", time.Minute); err == nil {
		t.Fatal("open swarms took a secret")
	}
}
