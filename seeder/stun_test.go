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

// stunNode is a seeder with its ICE UDP mux and its STUN server on two
// loopback ports, joined to no swarm.
type stunNode struct {
	s     *Seeder
	addr  *net.UDPAddr // the STUN socket's
	ice   *net.UDPAddr // the ICE UDP mux's
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
	st, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &stunNode{addr: st.LocalAddr().(*net.UDPAddr), ice: u.LocalAddr().(*net.UDPAddr), reg: prometheus.NewRegistry(), clock: fakeclock.New(time.Unix(1_800_000_000, 0))}
	cfg.ICEUDP, cfg.STUNListen, cfg.Loopback = n.ice.String(), n.addr.String(), true
	if n.s, err = New(cfg, newTracker(t), &segments{}, Options{UDP: u, STUN: st, Clock: n.clock.Now, Registerer: n.reg}); err != nil {
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
	case stunIgnored:
		return m.ignored
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

// TestSTUNDropsOtherPackets: on the STUN socket, a Binding request with
// USERNAME (an ICE connectivity check) and a packet that is not STUN get no
// answer and are counted ignored, malformed STUN is counted malformed, and
// the next plain request's answer is the first one the client gets.
func TestSTUNDropsOtherPackets(t *testing.T) {
	n := newSTUNNode(t, DefaultConfig())
	c := newSTUNClient(t, n.addr)
	c.binding(stun.NewUsername("nobody:here"), stun.Fingerprint)
	c.send(append([]byte{23, 0xfe, 0xfd}, make([]byte, 100)...)) // DTLS
	bad := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw
	bad[len(bad)-1] ^= 1 // broken FINGERPRINT
	c.send(bad)
	c.send([]byte{0, 1, 0, 0, 1, 2, 3}) // short
	want := c.binding()
	ans, _ := c.recv()
	if ans.TransactionID != want.TransactionID {
		t.Fatalf("first answer is for tx %x, want %x (the plain request)", ans.TransactionID, want.TransactionID)
	}
	if a, m, i := n.count(stunAnswered), n.count(stunMalformed), n.count(stunIgnored); a != 1 || m != 2 || i != 2 {
		t.Errorf("answered %d, malformed %d, ignored %d; want 1, 2, 2", a, m, i)
	}
}

// TestSTUNNotOnICEPort: the STUN server the seeder offers is not on the
// super-peer's ICE address (Chromium would hand the super-peer's ICE
// answers to its STUN client), and a gathering Binding request sent to the
// ICE port is not answered by the STUN code: the STUN server counts only
// the request sent to its own socket, and the only answer the client gets
// comes from the STUN socket.
func TestSTUNNotOnICEPort(t *testing.T) {
	n := newSTUNNode(t, DefaultConfig())
	urls := n.s.STUNURLs()
	if len(urls) != 1 || urls[0] != "stun:"+n.addr.String() {
		t.Fatalf("STUNURLs = %v, want [stun:%s]", urls, n.addr)
	}
	if n.addr.Port == n.ice.Port {
		t.Fatalf("STUN and ICE share port %d", n.ice.Port)
	}
	c := newSTUNClient(t, n.ice)
	c.binding()
	c.binding(stun.Fingerprint)
	c.node = n.addr
	want := c.binding()
	b := make([]byte, 1500)
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	k, from, err := c.c.ReadFromUDP(b)
	if err != nil {
		t.Fatalf("no answer from the STUN socket: %v", err)
	}
	ans := &stun.Message{Raw: b[:k]}
	if err := ans.Decode(); err != nil || ans.TransactionID != want.TransactionID || from.Port != n.addr.Port {
		t.Fatalf("first answer from %v (tx %x, %v), want the STUN socket's answer to tx %x", from, ans.TransactionID, err, want.TransactionID)
	}
	if got := n.count(stunAnswered); got != 1 {
		t.Fatalf("STUN server answered %d requests, want only the one sent to its socket", got)
	}
	// Anything the ICE port sent back would have been read before the
	// STUN socket's answer or right after: give it a bounded chance.
	_ = c.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if k, from, err := c.c.ReadFromUDP(b); err == nil {
		t.Fatalf("got %d more bytes from %v after the STUN answer", k, from)
	}
}

// TestSTUNRateLimit: one source gets at most the burst, then the rate;
// another source keeps its own budget.
func TestSTUNRateLimit(t *testing.T) {
	n := newSTUNNode(t, DefaultConfig())
	c := newSTUNClient(t, n.addr)
	burst := DefaultConfig().STUNBurst
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
	// A full table starts a new generation: the third source is admitted
	// and a's bucket moves over, still empty.
	if !l.allow(c) {
		t.Fatal("a new source refused while the table is full")
	}
	if l.allow(a) {
		t.Fatal("a's empty bucket was forgotten by the early generation")
	}
	clock.Advance(time.Second)
	if !l.allow(a) || l.allow(a) {
		t.Fatal("refill of 1 per second not enforced")
	}
	// A flood of new sources never grows the table past two generations.
	for i := range 100 {
		l.allow(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		if n := len(l.cur) + len(l.prev); n > 2*2 {
			t.Fatalf("%d sources tracked, bound 4", n)
		}
	}
	// Idle sources are forgotten after two generations.
	clock.Advance(2 * stunGeneration)
	l.allow(b)
	clock.Advance(stunGeneration)
	l.allow(c)
	if _, kept := l.prev[a]; kept || l.cur[a] != nil {
		t.Fatal("an idle source outlived two generations")
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

// FuzzSTUN: whatever arrives on the STUN socket, the classifier never
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
		{"public ips", func(c *Config) { c.PublicIPs = []string{"203.0.113.7", "2001:db8::1"} }, "0.0.0.0:3479", []string{"stun:203.0.113.7:3479", "stun:[2001:db8::1]:3479"}},
		{"listen host", func(*Config) {}, "192.0.2.10:3479", []string{"stun:192.0.2.10:3479"}},
		{"wildcard", func(*Config) {}, "0.0.0.0:3479", []string{}},
		{"ice host", func(c *Config) { c.ICEUDP = "192.0.2.10:3478" }, "0.0.0.0:3479", []string{"stun:192.0.2.10:3479"}},
		{"off", func(c *Config) { c.STUN = false; c.PublicIPs = []string{"203.0.113.7"} }, "0.0.0.0:3479", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.cfg(&cfg)
			s := &Seeder{cfg: cfg, stunAddr: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.bind))}
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

// newSTUNServer is a STUN server without a socket, whose budget never
// runs out.
func newSTUNServer(tb testing.TB) *stunServer {
	mm, err := newMetrics(nil, DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	return &stunServer{lim: newSTUNLimiter(stunLimits{rate: 1e12, burst: 1e12, sources: 16}, time.Now), m: mm.stun, logBad: func(netip.AddrPort, error) {}}
}

// TestSTUNHandleAllocs: answering a Binding request, and dropping an ICE
// check or a DTLS record, allocates nothing.
func TestSTUNHandleAllocs(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.1:5000")
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw
	check := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername("a:b"), stun.NewShortTermIntegrity("pw"), stun.Fingerprint).Raw
	dtls := append([]byte{23, 0xfe, 0xfd}, make([]byte, 1100)...)
	for name, tc := range map[string]struct {
		pkt    []byte
		answer bool
	}{"binding": {req, true}, "ice check": {check, false}, "dtls": {dtls, false}} {
		srv := newSTUNServer(t)
		if got := srv.handle(tc.pkt, from) != nil; got != tc.answer {
			t.Fatalf("%s: answered %v, want %v", name, got, tc.answer)
		}
		if n := testing.AllocsPerRun(100, func() { srv.handle(tc.pkt, from) }); n != 0 {
			t.Errorf("%s: %v allocations per packet", name, n)
		}
	}
}

// BenchmarkSTUNAnswer: the STUN server's cost per Binding request it
// answers (classify, budget, answer), without the socket.
func BenchmarkSTUNAnswer(b *testing.B) {
	from := netip.MustParseAddrPort("192.0.2.1:5000")
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw
	srv := newSTUNServer(b)
	for b.Loop() {
		srv.handle(req, from)
	}
}
