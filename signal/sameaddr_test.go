package signal

import (
	"net"
	"slices"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/edgeswarm/edgeswarm/wire"
)

// dialFrom is dial with the connection's source address set to ip (any
// 127.0.0.0/8 address is loopback on Linux), as viewers behind different
// NATs reach the node from different addresses.
func dialFrom(t testing.TB, url, ip string) *wsClient {
	t.Helper()
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return nd.Dial(network, addr)
	}}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dialling from %s: %v", ip, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &wsClient{t: t, c: c}
}

// A viewer is offered sources of its own address (behind its own NAT,
// reachable over the LAN whatever the NAT) even in a swarm where they are
// few among many (a random sample of the swarm would hold almost none), at
// least half of its candidates when there are enough; a viewer elsewhere gets
// no such preference, and a source that left is not offered.
func TestCandidatesPreferSameAddress(t *testing.T) {
	cfg := testConfig()
	cfg.MaxCandidates = 4
	h := newHub(t, cfg, Options{})
	url := serve(t, h)
	tk := h.IssueTicket(swarmA)
	joinFrom := func(ip string, caps wire.Caps) (*wsClient, string, []string) {
		c := dialFrom(t, url, ip)
		id := c.join(swarmA, tk, caps).PeerID
		return c, id, candidatesAfterJoin(c)
	}
	// The first is alone (no candidates, no peer list).
	dialFrom(t, url, "127.0.0.3").join(swarmA, tk, wire.Caps{Upload: true})
	for range 199 {
		joinFrom("127.0.0.3", wire.Caps{Upload: true})
	}
	var home []string
	var homeConns []*wsClient
	for range 3 {
		c, id, _ := joinFrom("127.0.0.2", wire.Caps{Upload: true})
		home, homeConns = append(home, id), append(homeConns, c)
	}
	countHome := func(cands []string) int {
		n := 0
		for _, id := range cands {
			if slices.Contains(home, id) {
				n++
			}
		}
		return n
	}
	for i := range 5 {
		_, _, cands := joinFrom("127.0.0.2", wire.Caps{})
		if len(cands) != cfg.MaxCandidates || countHome(cands) < cfg.MaxCandidates/2 {
			t.Fatalf("home viewer %d got %v: %d of the home's sources %v, want at least %d of %d", i, cands, countHome(cands), home, sameAddrShare(cfg.MaxCandidates), cfg.MaxCandidates)
		}
	}
	// Elsewhere: 3 of 203 sources are the home's; no preference for them.
	got := 0
	for range 5 {
		_, _, cands := joinFrom("127.0.0.4", wire.Caps{})
		got += countHome(cands)
	}
	if got >= 10 {
		t.Errorf("viewers of another address got %d of the home's sources in 20 candidates", got)
	}
	// Two home sources leave (and join again download-only: once the
	// welcome is back, the leave was handled): the one left is the only
	// home candidate.
	for _, c := range homeConns[:2] {
		c.send(&wire.Leave{})
		c.send(&wire.Join{Swarm: swarmA, Ticket: tk})
		for {
			if _, ok := c.recv().(*wire.Welcome); ok {
				break
			}
		}
	}
	_, _, cands := joinFrom("127.0.0.2", wire.Caps{})
	if countHome(cands) != 1 || !slices.Contains(cands, home[2]) {
		t.Fatalf("after two left, a home viewer got %v, want %s among them and no other home source", cands, home[2])
	}
}

// candidatesAfterJoin reads what follows a welcome up to the peer list
// and returns its ids.
func candidatesAfterJoin(c *wsClient) []string {
	c.t.Helper()
	for {
		if p, ok := c.recv().(*wire.Peers); ok {
			return peerIDs(p)
		}
	}
}
