package seeder

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
	"github.com/edgeswarm/edgeswarm/internal/netns"
)

// stunNode is a seeder with its ICE UDP mux (and STUN server) on a
// loopback port, joined to no swarm.
type stunNode struct {
	s     *Seeder
	addr  *net.UDPAddr
	reg   *prometheus.Registry
	clock *fakeclock.Clock
}

func newSTUNNode(t *testing.T, cfg Config) *stunNode {
	t.Helper()
	netns.RequireLoopbackOnly(t)
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &stunNode{addr: u.LocalAddr().(*net.UDPAddr), reg: prometheus.NewRegistry(), clock: fakeclock.New(time.Unix(1_800_000_000, 0))}
	cfg.ICEUDP, cfg.Loopback = n.addr.String(), true
	if n.s, err = New(cfg, newTracker(t), &segments{}, Options{UDP: u, Clock: n.clock.Now, Registerer: n.reg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

func (n *stunNode) count(result string) int {
	return int(testutil.ToFloat64(n.s.m.stun.byResult(result)))
}

func (m stunMetrics) byResult(r string) prometheus.Counter {
	switch r {
	case stunAnswered:
		return m.answered
	case stunRateLimited:
		return m.limited
	}
	return m.malformed
}

// stunClient is a viewer's UDP socket.
type stunClient struct {
	t    *testing.T
	c    *net.UDPConn
	node *net.UDPAddr
}

func newSTUNClient(t *testing.T, node *net.UDPAddr) *stunClient {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &stunClient{t: t, c: c, node: node}
}

func (c *stunClient) send(b []byte) {
	c.t.Helper()
	if _, err := c.c.WriteToUDP(b, c.node); err != nil {
		c.t.Fatal(err)
	}
}

// binding sends a Binding request built from setters and returns it.
func (c *stunClient) binding(setters ...stun.Setter) *stun.Message {
	c.t.Helper()
	m := stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.BindingRequest}, setters...)...)
	c.send(m.Raw)
	return m
}

// recv reads the next answer, failing the test if none comes within the
// test's bound (a correctness bound: the answer is expected).
func (c *stunClient) recv() (*stun.Message, int) {
	c.t.Helper()
	b := make([]byte, 1500)
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := c.c.ReadFromUDP(b)
	if err != nil {
		c.t.Fatalf("no STUN answer: %v", err)
	}
	m := &stun.Message{Raw: b[:n]}
	if err := m.Decode(); err != nil {
		c.t.Fatalf("answer %x does not decode: %v", b[:n], err)
	}
	return m, n
}

// TestSTUNBinding: a Binding request without USERNAME, as browsers send
// while gathering, gets a success answer whose XOR-MAPPED-ADDRESS is the
// sender's address, with a valid FINGERPRINT, within the size bound.
func TestSTUNBinding(t *testing.T) {
	n := newSTUNNode(t, DefaultConfig())
	c := newSTUNClient(t, n.addr)
	for _, setters := range [][]stun.Setter{nil, {stun.Fingerprint}, {stun.NewSoftware("test"), stun.Fingerprint}} {
		req := c.binding(setters...)
		ans, size := c.recv()
		if ans.Type != stun.BindingSuccess || ans.TransactionID != req.TransactionID {
			t.Fatalf("answer %v tx %x, want binding success tx %x", ans.Type, ans.TransactionID, req.TransactionID)
		}
		var xa stun.XORMappedAddress
		if err := xa.GetFrom(ans); err != nil {
			t.Fatal(err)
		}
		me := c.c.LocalAddr().(*net.UDPAddr)
		if !xa.IP.Equal(me.IP) || xa.Port != me.Port {
			t.Errorf("XOR-MAPPED-ADDRESS %v, want %v", xa, me)
		}
		if err := stun.Fingerprint.Check(ans); err != nil {
			t.Errorf("fingerprint: %v", err)
		}
		if size > maxSTUNAnswer {
			t.Errorf("answer of %d bytes, bound %d", size, maxSTUNAnswer)
		}
	}
	if got := n.count(stunAnswered); got != 3 {
		t.Errorf("answered = %d, want 3", got)
	}
}

// TestSTUNLeavesICEChecksToPion: a Binding request with USERNAME (an ICE
// connectivity check) is not answered by the STUN server: it goes to pion,
// which drops it for an unknown ufrag. The next plain request is answered
// and its answer is the first one the client gets. Malformed STUN is
// dropped and counted.
func TestSTUNLeavesICEChecksToPion(t *testing.T) {
	n := newSTUNNode(t, DefaultConfig())
	c := newSTUNClient(t, n.addr)
	c.binding(stun.NewUsername("nobody:here"), stun.Fingerprint)
	bad := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw
	bad[len(bad)-1] ^= 1 // broken FINGERPRINT
	c.send(bad)
	c.send([]byte{0, 1, 0, 0, 1, 2, 3}) // short
	want := c.binding()
	ans, _ := c.recv()
	if ans.TransactionID != want.TransactionID {
		t.Fatalf("first answer is for tx %x, want %x (the plain request)", ans.TransactionID, want.TransactionID)
	}
	if a, m := n.count(stunAnswered), n.count(stunMalformed); a != 1 || m != 2 {
		t.Errorf("answered %d, malformed %d; want 1, 2", a, m)
	}
}

// TestSTUNRateLimit: one source gets at most the burst, then the rate;
// another source keeps its own budget.
func TestSTUNRateLimit(t *testing.T) {
	n := newSTUNNode(t, DefaultConfig())
	c := newSTUNClient(t, n.addr)
	burst := int(defaultSTUNLimits.burst)
	sent := map[[stun.TransactionIDSize]byte]bool{}
	for range burst + 10 {
		sent[c.binding().TransactionID] = true
	}
	// Another source (127.0.0.2 is loopback too) has its own budget. The
	// node reads its one socket in order: once this answer is back, every
	// request above has been handled.
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	oc := &stunClient{t: t, c: other, node: n.addr}
	oc.binding()
	oc.recv()
	if l := n.count(stunRateLimited); l != 10 {
		t.Fatalf("rate_limited %d, want 10", l)
	}
	for range burst {
		ans, _ := c.recv()
		if !sent[ans.TransactionID] {
			t.Fatalf("answer for a transaction never sent")
		}
	}
	// A second later the bucket holds rate more tokens: the next request
	// is answered, and its answer is the next the source gets.
	n.clock.Advance(time.Second)
	last := c.binding().TransactionID
	if ans, _ := c.recv(); ans.TransactionID != last {
		t.Fatalf("got an answer to a rate-limited request")
	}
}

func TestSTUNLimiterBounded(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_800_000_000, 0))
	l := newSTUNLimiter(stunLimits{rate: 1, burst: 2, sources: 2}, clock.Now)
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	for i, want := range []bool{true, true, false} {
		if got := l.allow(a); got != want {
			t.Fatalf("request %d allowed %v, want %v (burst 2)", i+1, got, want)
		}
	}
	if !l.allow(b) {
		t.Fatal("second source refused")
	}
	if l.allow(c) {
		t.Fatal("a third source admitted beyond the table's bound")
	}
	clock.Advance(time.Second)
	if !l.allow(a) || l.allow(a) {
		t.Fatal("refill of 1 per second not enforced")
	}
	// Two generations later, idle sources are forgotten and room is made.
	clock.Advance(2 * stunGeneration)
	l.allow(a)
	clock.Advance(stunGeneration)
	if !l.allow(c) {
		t.Fatal("new source refused after idle ones expired")
	}
	if len(l.cur)+len(l.prev) > 2*2 {
		t.Fatalf("%d sources tracked", len(l.cur)+len(l.prev))
	}
}

func TestSTUNAnswerIPv6(t *testing.T) {
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	addr := netip.MustParseAddrPort("[2001:db8::7]:51000")
	b := appendSTUNAnswer(nil, req.Raw, addr)
	if len(b) != maxSTUNAnswer {
		t.Fatalf("IPv6 answer %d bytes, want %d", len(b), maxSTUNAnswer)
	}
	checkAnswer(t, req.Raw, b, addr)
	v4 := netip.MustParseAddrPort("[::ffff:192.0.2.9]:4000")
	checkAnswer(t, req.Raw, appendSTUNAnswer(nil, req.Raw, v4), netip.AddrPortFrom(v4.Addr().Unmap(), v4.Port()))
}

// checkAnswer decodes an answer with pion's STUN package and checks it
// against the request and the address it must map.
func checkAnswer(t testing.TB, req, b []byte, addr netip.AddrPort) {
	t.Helper()
	if len(b) > maxSTUNAnswer {
		t.Fatalf("answer %d bytes over the bound %d", len(b), maxSTUNAnswer)
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		t.Fatalf("answer does not decode: %v", err)
	}
	if m.Type != stun.BindingSuccess || string(m.TransactionID[:]) != string(req[8:20]) {
		t.Fatalf("answer %v tx %x", m.Type, m.TransactionID)
	}
	if err := stun.Fingerprint.Check(m); err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(m); err != nil {
		t.Fatal(err)
	}
	got, _ := netip.AddrFromSlice(xa.IP)
	if got.Unmap() != addr.Addr() || xa.Port != int(addr.Port()) {
		t.Fatalf("XOR-MAPPED-ADDRESS %v, want %v", xa, addr)
	}
}

// FuzzSTUN: whatever arrives on the ICE port, the classifier never
// panics, calls a packet a Binding request only when it is one (pion's
// decoder agrees, no USERNAME), and the answer is bounded and correct.
func FuzzSTUN(f *testing.F) {
	f.Add(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw)
	f.Add(stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw)
	f.Add(stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername("a:b"), stun.NewShortTermIntegrity("pw"), stun.Fingerprint).Raw)
	f.Add([]byte{0x16, 0xfe, 0xfd, 0, 0}) // DTLS
	f.Add([]byte{0, 1, 0, 4, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x80, 0x28, 0, 4})
	addr := netip.MustParseAddrPort("198.51.100.4:3478")
	f.Fuzz(func(t *testing.T, p []byte) {
		kind, err := classifySTUN(p)
		if (kind == stunBad) != (err != nil) {
			t.Fatalf("kind %v with error %v", kind, err)
		}
		if len(p) > 0 && p[0] > 3 && kind != stunPass {
			t.Fatalf("non-STUN first byte %d classified %v", p[0], kind)
		}
		if kind != stunBinding {
			return
		}
		m := &stun.Message{Raw: append([]byte(nil), p...)}
		if err := m.Decode(); err != nil {
			t.Fatalf("answered a packet pion cannot decode: %v", err)
		}
		if m.Type != stun.BindingRequest || m.Contains(stun.AttrUsername) {
			t.Fatalf("answered %v (username %v)", m.Type, m.Contains(stun.AttrUsername))
		}
		if binary.BigEndian.Uint16(p[2:4])%4 != 0 {
			t.Fatal("answered a length that is not a multiple of 4")
		}
		checkAnswer(t, p, appendSTUNAnswer(nil, p, addr), addr)
	})
}

// TestSTUNGathersSrflx: a pion ICE agent that has the node's built-in
// STUN as its only server gathers a server-reflexive candidate for its own
// address (no NAT on loopback: the mapped address is the local one).
func TestSTUNGathersSrflx(t *testing.T) {
	n := newSTUNNode(t, DefaultConfig())
	uri, err := stun.ParseURI(n.s.STUNURLs()[0])
	if err != nil {
		t.Fatal(err)
	}
	agent, err := ice.NewAgentWithOptions(
		ice.WithUrls([]*stun.URI{uri}),
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeServerReflexive}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Close() })
	got := make(chan ice.Candidate, 8)
	if err := agent.OnCandidate(func(c ice.Candidate) {
		if c != nil {
			got <- c
		} else {
			close(got)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := agent.GatherCandidates(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var srflx ice.Candidate
	for srflx == nil {
		select {
		case c, ok := <-got:
			if !ok {
				t.Fatalf("gathering ended without a srflx candidate (answered %d)", n.count(stunAnswered))
			}
			if c.Type() == ice.CandidateTypeServerReflexive {
				srflx = c
			}
		case <-ctx.Done():
			t.Fatal("no srflx candidate")
		}
	}
	rel := srflx.RelatedAddress()
	if srflx.Address() != "127.0.0.1" || rel == nil || srflx.Port() != rel.Port {
		t.Errorf("srflx %s, want 127.0.0.1 on its base port", srflx)
	}
	if n.count(stunAnswered) < 1 {
		t.Error("no answer counted")
	}
}

func TestSTUNURLs(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		bind string
		want []string
	}{
		{"public ips", func(c *Config) { c.PublicIPs = []string{"203.0.113.7", "2001:db8::1"} }, "0.0.0.0:3478", []string{"stun:203.0.113.7:3478", "stun:[2001:db8::1]:3478"}},
		{"listen host", func(*Config) {}, "192.0.2.10:3478", []string{"stun:192.0.2.10:3478"}},
		{"wildcard", func(*Config) {}, "0.0.0.0:3478", []string{}},
		{"off", func(c *Config) { c.STUN = false; c.PublicIPs = []string{"203.0.113.7"} }, "0.0.0.0:3478", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.cfg(&cfg)
			s := &Seeder{cfg: cfg, udp: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.bind))}
			got := s.STUNURLs()
			if len(got) != len(tc.want) {
				t.Fatalf("STUNURLs = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("STUNURLs = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// stunBenchConn is a PacketConn that returns one packet forever and
// drops writes: the cost of the STUN layer alone.
type stunBenchConn struct {
	net.PacketConn
	pkt  []byte
	from *net.UDPAddr
}

func (c *stunBenchConn) ReadFrom(p []byte) (int, net.Addr, error) {
	return copy(p, c.pkt), c.from, nil
}
func (c *stunBenchConn) WriteTo(p []byte, _ net.Addr) (int, error) { return len(p), nil }

// readPath returns a function reading one packet through the STUN layer
// (pass-through: the packet goes up; answered: one answer, then the next
// read goes up).
func readPath(tb testing.TB, pkt []byte) func() {
	raw := &stunBenchConn{pkt: pkt, from: net.UDPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.1:5000"))}
	mm, err := newMetrics(nil, DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	c := newSTUNConn(raw, newSTUNLimiter(stunLimits{rate: 1e12, burst: 1e12, sources: 16}, time.Now), mm.stun, func(netip.AddrPort, error) {})
	buf := make([]byte, 1500)
	return func() {
		if _, _, err := c.ReadFromAddrPort(buf); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestSTUNPassThroughAllocs: the STUN layer adds no allocation to the
// packets it hands to pion (every DTLS and SCTP packet of every peer).
func TestSTUNPassThroughAllocs(t *testing.T) {
	ice := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername("a:b"), stun.NewShortTermIntegrity("pw"), stun.Fingerprint).Raw
	dtls := append([]byte{23, 0xfe, 0xfd}, make([]byte, 1100)...)
	for name, pkt := range map[string][]byte{"ice check": ice, "dtls": dtls} {
		read := readPath(t, pkt)
		if n := testing.AllocsPerRun(100, read); n != 0 {
			t.Errorf("%s: %v allocations per packet", name, n)
		}
	}
}

// BenchmarkSTUNLayer: what the STUN layer costs per packet pion reads:
// an ICE check or a DTLS record passed through, against the bare read.
func BenchmarkSTUNLayer(b *testing.B) {
	ice := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername("a:b"), stun.NewShortTermIntegrity("pw"), stun.Fingerprint).Raw
	dtls := append([]byte{23, 0xfe, 0xfd}, make([]byte, 1100)...)
	for _, bc := range []struct {
		name string
		pkt  []byte
	}{{"ice-check", ice}, {"dtls", dtls}} {
		b.Run("bare/"+bc.name, func(b *testing.B) {
			raw := &stunBenchConn{pkt: bc.pkt, from: net.UDPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.1:5000"))}
			buf := make([]byte, 1500)
			b.SetBytes(int64(len(bc.pkt)))
			for b.Loop() {
				_, _, _ = raw.ReadFrom(buf)
			}
		})
		b.Run("stun/"+bc.name, func(b *testing.B) {
			read := readPath(b, bc.pkt)
			b.SetBytes(int64(len(bc.pkt)))
			for b.Loop() {
				read()
			}
		})
	}
}
