package node

import (
	"bytes"
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
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
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

// TestWelcomeOffersBuiltInSTUN: the node with its STUN socket on a
// concrete address offers its own STUN server first in every welcome, then
// the operator's servers; the offered server is not on the super-peer's
// ICE address and answers a Binding request with the viewer's address.
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
	if ice := n.seeder.ICEUDPAddr().(*net.UDPAddr); ice.Port == uri.Port {
		t.Fatalf("the offered STUN server %s is the super-peer's ICE address %v", servers[0].URLs[0], ice)
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
	k, from, err := c.ReadFromUDP(b)
	if err != nil {
		t.Fatalf("the offered STUN server did not answer: %v", err)
	}
	if from.Port != uri.Port {
		t.Errorf("answer from %v, want the offered %s", from, servers[0].URLs[0])
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
		func(c *Config) { c.Seeder.ICEUDP, c.Seeder.STUNListen = ":0", ":0" },
		func(c *Config) { c.Seeder.STUN = false },
		func(c *Config) { c.Seeder.STUNListen = "" },
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
	if len(servers) != 2 || !strings.HasPrefix(servers[0].URLs[0], "stun:127.0.0.1:") || !strings.HasPrefix(servers[1].URLs[0], "turn:127.0.0.1:") || !strings.HasSuffix(servers[1].URLs[0], "?transport=udp") {
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

// TestTURNServesSTUN: with turn.listen at seeder.stun_listen (one fixed
// port), the node opens no STUN socket of its own: the welcome lists stun:
// and turn: on the relay's one port, neither on the super-peer's ICE
// address, and the relay answers the Binding request a browser gathers
// with.
func TestTURNServesSTUN(t *testing.T) {
	netns.RequireLoopbackOnly(t)
	cfg := testConfig("")
	cfg.Seeder.Loopback = true
	cfg.TURN.Enabled = true
	cfg.TURN.Listen = freeUDP(t)
	cfg.Seeder.STUNListen = cfg.TURN.Listen
	n := startNode(t, cfg, nil)
	_, _, swarm, ticket := liveRendition(t, n)
	servers := welcome(t, n, swarm, ticket).Config.ICEServers
	if len(servers) != 2 || len(servers[0].URLs) != 1 || servers[0].URLs[0] != "stun:"+cfg.TURN.Listen ||
		servers[1].URLs[0] != "turn:"+cfg.TURN.Listen+"?transport=udp" {
		t.Fatalf("ice_servers %+v, want stun: and turn: on %s", servers, cfg.TURN.Listen)
	}
	if got := n.seeder.STUNURLs(); len(got) != 0 {
		t.Fatalf("the seeder serves STUN at %v beside the relay", got)
	}
	if ice := n.seeder.ICEUDPAddr().String(); ice == cfg.TURN.Listen {
		t.Fatalf("the relay is on the super-peer's ICE address %s", ice)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	to, err := net.ResolveUDPAddr("udp4", cfg.TURN.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDP(req.Raw, to); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1500)
	k, _, err := c.ReadFromUDP(b)
	if err != nil {
		t.Fatalf("the relay did not answer STUN: %v", err)
	}
	ans := &stun.Message{Raw: b[:k]}
	var xa stun.XORMappedAddress
	if err := ans.Decode(); err != nil || ans.TransactionID != req.TransactionID || xa.GetFrom(ans) != nil {
		t.Fatalf("answer %x: %v", b[:k], err)
	}
	if me := c.LocalAddr().(*net.UDPAddr); xa.Port != me.Port || !xa.IP.Equal(me.IP) {
		t.Errorf("mapped %v, want %v", xa, me)
	}
}

// freeUDP returns a loopback host:port that was free a moment ago, for a
// key that must name one fixed port.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	_ = c.Close()
	return addr
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
		{"the STUN address: one socket", "turn:\n  enabled: true\n  relay_ip: 203.0.113.7\n", ""},
		{"the STUN address spelled apart", "turn:\n  enabled: true\n  listen: \"0.0.0.0:3479\"\n  relay_ip: 203.0.113.7\n", ""},
		{"the STUN port on another host", "turn:\n  enabled: true\n  listen: \"127.0.0.1:3479\"\n  relay_ip: 203.0.113.7\n", "seeder.stun_listen"},
		{"STUN beside TURN", "turn:\n  enabled: true\n  relay_ip: 203.0.113.7\nseeder:\n  stun_listen: \":3480\"\n", ""},
		{"STUN on the ICE port", "seeder:\n  stun_listen: \":3478\"\n", "seeder.stun_listen"},
		{"STUN listen not host:port", "seeder:\n  stun_listen: \"3479\"\n", "seeder.stun_listen"},
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

// TestViewersExchangeASegmentThroughTURN: a viewer that may use relay
// candidates only (symmetric NAT, as far as it knows) connects to another
// viewer through the node's TURN relay with the credentials of its
// welcome, fetches a segment, and counts it as relay, never p2p; the node
// counts the relayed bytes.
func TestViewersExchangeASegmentThroughTURN(t *testing.T) {
	netns.RequireLoopbackOnly(t)
	cfg := testConfig("")
	cfg.Seeder.Loopback = true
	cfg.TURN.Enabled = true
	cfg.TURN.Listen = "127.0.0.1:0"
	cfg.TURN.AllowPrivatePeers = true // the other viewer is on loopback
	n := startNode(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, _, swarm, ticket := liveRendition(t, n)

	holder := joinPeer(t, ctx, n, swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: ticket})
	if _, err := holder.WaitReady(ctx, ""); err != nil {
		t.Fatal(err)
	}
	seq, httpBody := pushedSegment(t, ctx, n, holder)

	relayed := joinPeer(t, ctx, n, swarm, testpeer.Options{Ticket: ticket, RelayOnly: true})
	if _, err := relayed.WaitReady(ctx, holder.ID()); err != nil {
		t.Fatalf("relay-only connection to the holder: %v (holder: %v, relayed: %v)", err, holder.Err(), relayed.Err())
	}
	got, err := relayed.Fetch(ctx, holder.ID(), seq)
	if err != nil {
		t.Fatalf("fetch through the relay: %v", err)
	}
	if !bytes.Equal(got, httpBody) {
		t.Fatal("segment through the relay differs from HTTP")
	}
	if st := relayed.Stats(); st.RelayBytes != int64(len(httpBody)) || st.P2PBytes != 0 {
		t.Fatalf("bytes through a relay must count as relay, not p2p: %+v", st)
	}
	if got := sumCounter(t, n, "edgeswarm_turn_relayed_bytes_total"); got < float64(len(httpBody)) {
		t.Errorf("the node counted %v relayed bytes for a %d-byte segment", got, len(httpBody))
	}
}

// sumCounter sums the samples of a counter on the node's registry.
func sumCounter(t *testing.T, n *Node, name string) float64 {
	t.Helper()
	mfs, err := n.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
