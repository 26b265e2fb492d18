package turn

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/wire"
)

// Every test here relays real UDP: inside a namespace with only loopback.
func TestMain(m *testing.M) { os.Exit(netns.Run(m)) }

const secret = "turn-secret-for-tests-0123"

type relay struct {
	s     *Server
	addr  string // host:port of the listener
	clock *fakeclock.Clock
	reg   *prometheus.Registry
}

// newRelay starts a relay on loopback that lets viewers relay to
// loopback peers (everything here is on loopback).
func newRelay(t *testing.T, cfg Config) *relay {
	t.Helper()
	cfg.AllowPrivatePeers = true
	return startRelay(t, cfg)
}

func startRelay(t *testing.T, cfg Config) *relay {
	t.Helper()
	netns.RequireLoopbackOnly(t)
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Enabled, cfg.Listen = true, u.LocalAddr().String()
	r := &relay{addr: u.LocalAddr().String(), clock: fakeclock.New(time.Now()), reg: prometheus.NewRegistry()}
	lo := netip.MustParseAddr("127.0.0.1")
	if r.s, err = New(cfg, secret, Options{UDP: u, RelayIP: lo, RelayBind: lo, Clock: r.clock.Now, Registerer: r.reg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// credential mints what signal would send peer id in its welcome.
func (r *relay) credential(id string, ttl time.Duration) (string, string) {
	return wire.TURNCredential([]byte(secret), id, r.clock.Now().Add(ttl))
}

// client is a viewer's TURN client with one allocation.
type client struct {
	c     *pionturn.Client
	relay net.PacketConn
}

func (r *relay) allocate(t *testing.T, user, pass string) (*client, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	c, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: r.addr, Username: user, Password: pass,
		Realm: "edgeswarm", Conn: conn, LoggerFactory: quiet, RTO: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	rc, err := c.Allocate()
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = rc.Close() })
	return &client{c: c, relay: rc}, nil
}

func TestCredentials(t *testing.T) {
	r := newRelay(t, DefaultConfig())
	user, pass := r.credential("p1", time.Hour)
	if _, err := r.allocate(t, user, pass); err != nil {
		t.Fatalf("minted credential refused: %v", err)
	}
	if _, err := r.allocate(t, user, pass+"x"); err == nil {
		t.Error("wrong credential admitted")
	}
	forged := strings.Replace(user, ":p1", ":p2", 1)
	if _, err := r.allocate(t, forged, pass); err == nil {
		t.Error("another viewer's username with p1's credential admitted")
	}
	old, oldPass := r.credential("p3", -time.Second)
	if _, err := r.allocate(t, old, oldPass); err == nil {
		t.Error("expired credential admitted")
	}
	if got := testutil.ToFloat64(r.s.m.expired); got < 1 {
		t.Errorf("refused_total{expired} = %v", got)
	}
	if r.s.Allocations() != 1 {
		t.Errorf("%d allocations, want 1", r.s.Allocations())
	}
}

func TestAllocationQuota(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ViewerAllocations, cfg.MaxAllocations = 2, 3
	r := newRelay(t, cfg)
	u1, p1 := r.credential("p1", time.Hour)
	for i := range 2 {
		if _, err := r.allocate(t, u1, p1); err != nil {
			t.Fatalf("allocation %d of p1: %v", i+1, err)
		}
	}
	if _, err := r.allocate(t, u1, p1); err == nil || !strings.Contains(err.Error(), "486") {
		t.Errorf("third allocation of p1: %v, want 486 Allocation Quota Reached", err)
	}
	u2, p2 := r.credential("p2", time.Hour)
	if _, err := r.allocate(t, u2, p2); err != nil {
		t.Fatalf("another viewer refused: %v", err)
	}
	u3, p3 := r.credential("p3", time.Hour)
	if _, err := r.allocate(t, u3, p3); err == nil {
		t.Error("allocation beyond max_allocations admitted")
	}
	if got := testutil.ToFloat64(r.s.m.quotaRefused); got != 2 {
		t.Errorf("refused_total{quota} = %v, want 2", got)
	}
}

// sink is a viewer's peer: a plain UDP socket the relay sends to.
type sink struct {
	t *testing.T
	c *net.UDPConn
}

func newSink(t *testing.T) *sink {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &sink{t: t, c: c}
}

// until reads packets until one equals last and returns how many came
// before it.
func (s *sink) until(last []byte) int {
	s.t.Helper()
	b := make([]byte, 2048)
	n := 0
	for {
		_ = s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, _, err := s.c.ReadFromUDP(b)
		if err != nil {
			s.t.Fatalf("after %d packets: %v", n, err)
		}
		if bytes.Equal(b[:k], last) {
			return n
		}
		n++
	}
}

// relayed sends count packets of size bytes from a viewer with the given
// budgets to a peer, then a marker from another viewer, and returns how
// many packets reached the peer before the marker: the relay forwards in
// the order it reads its one socket.
func relayed(t *testing.T, cfg Config, count, size int) (int, *relay) {
	r := newRelay(t, cfg)
	u1, p1 := r.credential("p1", time.Hour)
	a, err := r.allocate(t, u1, p1)
	if err != nil {
		t.Fatal(err)
	}
	u2, p2 := r.credential("p2", time.Hour)
	b, err := r.allocate(t, u2, p2)
	if err != nil {
		t.Fatal(err)
	}
	peer := newSink(t)
	// Permissions first: a client sends data before its CreatePermission
	// completes, and the relay drops what arrives without one.
	for _, c := range []*client{a, b} {
		if err := c.c.CreatePermission(peer.c.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	for range count {
		if _, err := a.relay.WriteTo(bytes.Repeat([]byte{'a'}, size), peer.c.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	marker := []byte("marker")
	if _, err := b.relay.WriteTo(marker, peer.c.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	return peer.until(marker), r
}

func TestViewerByteQuota(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ViewerBytes, cfg.ViewerBps = 3500, 0
	got, r := relayed(t, cfg, 10, 1000)
	if got != 3 {
		t.Errorf("%d packets of 1000 bytes relayed under a 3500-byte quota, want 3", got)
	}
	if d := testutil.ToFloat64(r.s.m.dropQuota); d != 7000 {
		t.Errorf("dropped_bytes_total{quota} = %v, want 7000", d)
	}
	// The relay counts a packet after its write returns, which may be
	// after the sink read it: wait for the count to reach what was sent.
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(r.s.m.toPeer) < 3000+6 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if s := testutil.ToFloat64(r.s.m.toPeer); s != 3000+6 {
		t.Errorf("relayed_bytes_total{to_peer} = %v, want 3006", s)
	}
}

func TestViewerRate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ViewerBps = 64 << 10 // burst 64 KiB; the clock stands still
	// 50 packets, few enough for the relay's socket buffer under -race.
	const count, size = 50, 1400
	got, r := relayed(t, cfg, count, size)
	if want := (64 << 10) / size; got != want {
		t.Errorf("%d packets of %d bytes relayed at once under a 64 KiB/s budget, want %d", got, size, want)
	}
	if d := testutil.ToFloat64(r.s.m.dropRate); d != float64((count-(64<<10)/size)*size) {
		t.Errorf("dropped_bytes_total{rate} = %v, want %d", d, (count-(64<<10)/size)*size)
	}
}

// TestPeersPairThroughRelay: two pion peers that may use relay
// candidates only (ICETransportPolicy relay) connect through the relay
// with credentials minted as signal mints them, and exchange data; the
// relay counts the bytes.
func TestPeersPairThroughRelay(t *testing.T) {
	r := newRelay(t, DefaultConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	newPC := func(id string) *webrtc.PeerConnection {
		user, pass := r.credential(id, time.Hour)
		pc, err := api.NewPeerConnection(webrtc.Configuration{
			ICETransportPolicy: webrtc.ICETransportPolicyRelay,
			ICEServers:         []webrtc.ICEServer{{URLs: []string{"turn:" + r.addr + "?transport=udp"}, Username: user, Credential: pass}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.GracefulClose() })
		return pc
	}
	a, b := newPC("pa"), newPC("pb")
	got := make(chan []byte, 16)
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { got <- m.Data })
	})
	dc, err := a.CreateDataChannel("data", nil)
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	signalPair(t, ctx, a, b)
	select {
	case <-opened:
	case <-ctx.Done():
		t.Fatal("the data channel never opened through the relay")
	}
	payload := bytes.Repeat([]byte("relayed segment bytes "), 2000) // 44 kB
	if err := dc.Send(payload); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if !bytes.Equal(m, payload) {
			t.Fatalf("got %d bytes, want the %d sent", len(m), len(payload))
		}
	case <-ctx.Done():
		t.Fatal("no data through the relay")
	}
	for _, pc := range []*webrtc.PeerConnection{a, b} {
		if typ := selectedLocalType(t, pc); typ != webrtc.ICECandidateTypeRelay {
			t.Errorf("selected local candidate %v, want relay", typ)
		}
	}
	if n := testutil.ToFloat64(r.s.m.toPeer) + testutil.ToFloat64(r.s.m.toViewer); n < float64(2*len(payload)) {
		t.Errorf("relayed_bytes_total = %v, want at least twice the %d-byte payload (in and out of the relay)", n, len(payload))
	}
	if r.s.Allocations() < 2 {
		t.Errorf("%d allocations, want one per peer at least", r.s.Allocations())
	}
}

// signalPair exchanges the offer and answer of a and b with their
// candidates gathered (no trickle).
func signalPair(t *testing.T, ctx context.Context, a, b *webrtc.PeerConnection) {
	t.Helper()
	gathered := func(pc *webrtc.PeerConnection, sd webrtc.SessionDescription) webrtc.SessionDescription {
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(sd); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("gathering did not complete")
		}
		return *pc.LocalDescription()
	}
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetRemoteDescription(gathered(a, offer)); err != nil {
		t.Fatal(err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemoteDescription(gathered(b, answer)); err != nil {
		t.Fatal(err)
	}
}

func selectedLocalType(t *testing.T, pc *webrtc.PeerConnection) webrtc.ICECandidateType {
	t.Helper()
	sctp := pc.SCTP()
	if sctp == nil {
		t.Fatal("no SCTP transport")
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected pair: %v", err)
	}
	return pair.Local.Typ
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"listen", func(c *Config) { c.Listen = "3479" }, "turn.listen"},
		{"listen host", func(c *Config) { c.Listen = "example.com:3479" }, "turn.listen: host"},
		{"relay ip", func(c *Config) { c.RelayIP = "0.0.0.0" }, "turn.relay_ip"},
		{"ports", func(c *Config) { c.RelayPortMin, c.RelayPortMax = 50000, 40000 }, "turn.relay_port_max"},
		{"port zero", func(c *Config) { c.RelayPortMin = 0 }, "turn.relay_port_min"},
		{"allocations", func(c *Config) { c.ViewerAllocations = 0 }, "turn.viewer_allocations"},
		{"bps", func(c *Config) { c.ViewerBps = -1 }, "turn.viewer_bps"},
		{"lifetime", func(c *Config) { c.AllocationLifetime = time.Second }, "turn.allocation_lifetime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
	c := DefaultConfig()
	if _, err := c.RelayAddr(nil); err == nil || !strings.Contains(err.Error(), "turn.relay_ip") {
		t.Errorf("RelayAddr with a wildcard listen and no public IP: %v", err)
	}
	if a, err := c.RelayAddr([]string{"203.0.113.7"}); err != nil || a.String() != "203.0.113.7" {
		t.Errorf("RelayAddr from public_ips = %v, %v", a, err)
	}
	c.Listen = "192.0.2.1:3479"
	if a, err := c.RelayAddr([]string{"203.0.113.7"}); err != nil || a.String() != "192.0.2.1" {
		t.Errorf("RelayAddr from listen = %v, %v", a, err)
	}
	if _, err := New(DefaultConfig(), "short", Options{}); err == nil || errors.Is(err, nil) {
		t.Error("New with a short secret")
	}
}

// TestPeerAddressFilter: by default a viewer cannot relay to the node's
// own host or network: a permission to a loopback peer is refused.
func TestPeerAddressFilter(t *testing.T) {
	r := startRelay(t, DefaultConfig())
	u, p := r.credential("p1", time.Hour)
	c, err := r.allocate(t, u, p)
	if err != nil {
		t.Fatal(err)
	}
	peer := newSink(t)
	if err := c.c.CreatePermission(peer.c.LocalAddr()); err == nil {
		t.Fatal("a permission to a loopback peer was granted")
	}
	if got := testutil.ToFloat64(r.s.m.peerRefused); got < 1 {
		t.Errorf("refused_total{peer_address} = %v", got)
	}
	for _, tc := range []struct {
		addr         string
		allowPrivate bool
		forbidden    bool
	}{
		{"203.0.113.7", false, false}, {"2001:db8::1", false, false},
		{"127.0.0.1", false, true}, {"10.1.2.3", false, true}, {"192.168.1.1", false, true}, {"100.64.0.1", false, true},
		{"169.254.1.1", false, true}, {"fe80::1", false, true}, {"fd00::1", false, true}, {"::1", false, true}, {"0.0.0.0", false, true},
		{"224.0.0.1", true, true}, {"255.255.255.255", true, true}, {"10.1.2.3", true, false}, {"127.0.0.1", true, false},
	} {
		if got := forbiddenPeer(netip.MustParseAddr(tc.addr), tc.allowPrivate); got != tc.forbidden {
			t.Errorf("forbiddenPeer(%s, allow_private %v) = %v", tc.addr, tc.allowPrivate, got)
		}
	}
}
