package node

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/wire"
)

// welcome joins swarm on n and returns the welcome.
func welcome(t *testing.T, n *Node, swarm, ticket string) *wire.Welcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.Send(&wire.Join{Swarm: swarm, Ticket: ticket}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := conn.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for welcome: %v", err)
		}
		if w, ok := m.(*wire.Welcome); ok {
			return w
		}
	}
}

// TestWelcomeOffersBuiltInSTUN: the node listening for ICE on a concrete
// address offers its own STUN server first in every welcome, then the
// operator's servers; the offered server answers a Binding request with
// the viewer's address.
func TestWelcomeOffersBuiltInSTUN(t *testing.T) {
	netns.RequireLoopbackOnly(t)
	cfg := testConfig("")
	cfg.Seeder.Loopback = true
	cfg.Signal.ICEServers = []signal.ICEServer{{URLs: []string{"stun:stun.example.com:3478"}}}
	n := startNode(t, cfg, nil)
	_, _, swarm, ticket := liveRendition(t, n)
	w := welcome(t, n, swarm, ticket)
	servers := w.Config.ICEServers
	if len(servers) != 2 || len(servers[0].URLs) != 1 || !strings.HasPrefix(servers[0].URLs[0], "stun:127.0.0.1:") ||
		servers[1].URLs[0] != "stun:stun.example.com:3478" {
		t.Fatalf("ice_servers %+v, want the node's stun:127.0.0.1:PORT, then the configured one", servers)
	}
	uri, err := stun.ParseURI(servers[0].URLs[0])
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if _, err := c.WriteToUDP(req.Raw, &net.UDPAddr{IP: net.ParseIP(uri.Host), Port: uri.Port}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1500)
	k, _, err := c.ReadFromUDP(b)
	if err != nil {
		t.Fatalf("the offered STUN server did not answer: %v", err)
	}
	ans := &stun.Message{Raw: b[:k]}
	var xa stun.XORMappedAddress
	if err := ans.Decode(); err != nil || ans.TransactionID != req.TransactionID || xa.GetFrom(ans) != nil {
		t.Fatalf("answer %x: %v", b[:k], err)
	}
	if me := c.LocalAddr().(*net.UDPAddr); xa.Port != me.Port || !xa.IP.Equal(me.IP) {
		t.Errorf("mapped %v, want %v", xa, me)
	}

	// Without a known public address (wildcard listen, no public_ips),
	// or with STUN off, the node offers no STUN server of its own.
	for _, change := range []func(*Config){
		func(c *Config) { c.Seeder.ICEUDP = ":0" },
		func(c *Config) { c.Seeder.STUN = false },
	} {
		cfg := testConfig("")
		cfg.Seeder.Loopback = true
		change(&cfg)
		n := startNode(t, cfg, nil)
		_, _, swarm, ticket := liveRendition(t, n)
		if got := welcome(t, n, swarm, ticket).Config.ICEServers; len(got) != 0 {
			t.Errorf("ice_servers %+v, want none", got)
		}
	}
}
