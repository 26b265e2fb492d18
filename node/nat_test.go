package node

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"

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

// TestWelcomeOffersTURN: with turn.enabled, every welcome lists the
// node's relay after its STUN server, with credentials minted for the
// viewer, and the relay admits them.
func TestWelcomeOffersTURN(t *testing.T) {
	netns.RequireLoopbackOnly(t)
	cfg := testConfig("")
	cfg.Seeder.Loopback = true
	cfg.TURN.Enabled = true
	cfg.TURN.Listen = "127.0.0.1:0"
	n := startNode(t, cfg, nil)
	_, _, swarm, ticket := liveRendition(t, n)
	w := welcome(t, n, swarm, ticket)
	servers := w.Config.ICEServers
	if len(servers) != 2 || !strings.HasPrefix(servers[1].URLs[0], "turn:127.0.0.1:") || !strings.HasSuffix(servers[1].URLs[0], "?transport=udp") {
		t.Fatalf("ice_servers %+v, want the node's STUN, then its TURN relay", servers)
	}
	s := servers[1]
	if !strings.HasSuffix(s.Username, ":"+w.PeerID) || s.Credential == "" {
		t.Fatalf("TURN entry without minted credentials: %+v", s)
	}
	uri, err := stun.ParseURI(strings.TrimSuffix(s.URLs[0], "?transport=udp"))
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(uri.Host, strconv.Itoa(uri.Port))
	if err := allocate(t, addr, s.Username, s.Credential); err != nil {
		t.Fatalf("the node's relay refused the welcome's credentials: %v", err)
	}
	if err := allocate(t, addr, s.Username, "forged"); err == nil {
		t.Fatal("the node's relay admitted a wrong credential")
	}
	if got := n.turn.Allocations(); got != 1 {
		t.Errorf("%d allocations, want 1", got)
	}
}

// allocate makes one TURN allocation at addr, closed at the test's end.
func allocate(t *testing.T, addr, user, pass string) error {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	c, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: addr, Username: user, Password: pass,
		Realm: "edgeswarm", Conn: conn, LoggerFactory: quiet, RTO: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	rc, err := c.Allocate()
	if err == nil {
		t.Cleanup(func() { _ = rc.Close() })
	}
	return err
}

func TestTURNConfigKeys(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"relay address unknown", "turn:\n  enabled: true\n", "turn.relay_ip: required"},
		{"from public_ips", "turn:\n  enabled: true\nseeder:\n  public_ips: [203.0.113.7]\n", ""},
		{"same port as ICE", "turn:\n  enabled: true\n  listen: \":3478\"\n  relay_ip: 203.0.113.7\n", "turn.listen"},
		{"bad range", "turn:\n  enabled: true\n  relay_ip: 203.0.113.7\n  relay_port_min: 60000\n  relay_port_max: 50000\n", "turn.relay_port_max"},
		{"off is not checked", "turn:\n  relay_port_min: 0\n", ""},
		{"unknown key", "turn:\n  enable: true\n", "turn.enable: unknown key"},
		{"minted without secret", "signal:\n  ice_servers:\n    - urls: [\"turn:turn.example.com\"]\n", "signal.ice_servers[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			err := cfg.decodeYAML([]byte(tc.yaml), "test.yaml")
			if err == nil {
				err = cfg.Validate()
			}
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
