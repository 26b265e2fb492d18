package signal

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/wire"
)

// The tests of this file treat what clients say about others (report)
// and about themselves (stats) as claims to check.

const segKey = "/live/channel1/720p/seg1.ts"

// badHash is a SHA-256 other than digestOf's.
var badHash = strings.Repeat("cd", 32)

// linkPair makes offerer offer to answerer and answerer answer, as two
// browsers connecting through the tracker do.
func linkPair(t testing.TB, offerer interface{ send(wire.Message) }, answerer *Local, offererID, answererID string) {
	t.Helper()
	offerer.send(&wire.Relay{To: answererID, Session: "s1", Kind: wire.KindOffer, SDP: "v=0 offer"})
	sendLocal(t, answerer, &wire.Relay{To: offererID, Session: "s1", Kind: wire.KindAnswer, SDP: "v=0 answer"})
}

// rejoin joins swarmA on c, skipping what earlier joins left unread,
// and returns the peer id.
func rejoin(c *wsClient, caps wire.Caps) string {
	c.t.Helper()
	c.send(&wire.Join{Swarm: swarmA, Caps: caps})
	for {
		if w, ok := c.recv().(*wire.Welcome); ok {
			return w.PeerID
		}
	}
}

type localSender struct {
	t testing.TB
	l *Local
}

func (s localSender) send(m wire.Message) { sendLocal(s.t, s.l, m) }

// candidatesOf joins a fresh download-only viewer and returns the ids of
// the candidates it is offered.
func candidatesOf(t testing.TB, h *Hub) []string {
	t.Helper()
	w := local(t, h, false)
	joinLocal(t, w, swarmA, "", wire.Caps{})
	for {
		switch m := recvLocal(t, w).(type) {
		case *wire.Digest:
		case *wire.Peers:
			ids := peerIDs(m)
			_ = w.Close()
			return ids
		default:
			t.Fatalf("got %#v, want digests and peers", m)
		}
	}
}

func openConfig() Config {
	c := DefaultConfig()
	c.Open = true
	return c
}

// reportSetup is a swarm with a published digest, a victim V and a
// control peer C, both sources.
func reportSetup(t *testing.T) (h *Hub, v string, vl, cl *Local) {
	t.Helper()
	h = newHub(t, openConfig(), Options{})
	h.PublishDigest(swarmA, digestOf(segKey, 1, 1000))
	vl, cl = local(t, h, false), local(t, h, false)
	v = joinLocal(t, vl, swarmA, "", wire.Caps{Upload: true})
	joinLocal(t, cl, swarmA, "", wire.Caps{Upload: true})
	return h, v, vl, cl
}

// One connection cannot get a viewer banned: leaving and joining again
// mints a new peer id, not a new reporter.
func TestReportRejoinDoesNotMultiplyReporters(t *testing.T) {
	h, v, vl, _ := reportSetup(t)
	url := serve(t, h)
	attacker := dial(t, url)
	for range 5 {
		id := rejoin(attacker, wire.Caps{Upload: true})
		linkPair(t, attacker, vl, id, v)
		attacker.send(&wire.Report{Peer: v, Reason: wire.ReasonDigestMismatch, Key: segKey, SHA256: badHash})
		attacker.send(&wire.Leave{})
	}
	// A later message on the same connection orders after the reports.
	rejoin(attacker, wire.Caps{})
	if got := testutil.ToFloat64(h.met.verdicts[verdictBelieved]); got != 5 {
		t.Fatalf("believed reports %v, want 5", got)
	}
	if ids := candidatesOf(t, h); !slices.Contains(ids, v) {
		t.Fatalf("candidates %v lack %s: one connection got it banned", ids, v)
	}
	// Nor do more connections from the same address.
	for range 3 {
		c := dial(t, url)
		id := rejoin(c, wire.Caps{Upload: true})
		linkPair(t, c, vl, id, v)
		c.send(&wire.Report{Peer: v, Reason: wire.ReasonDigestMismatch, Key: segKey, SHA256: badHash})
		c.send(&wire.Leave{})
		rejoin(c, wire.Caps{})
	}
	if ids := candidatesOf(t, h); !slices.Contains(ids, v) {
		t.Fatalf("candidates %v lack %s: connections from one address got it banned", ids, v)
	}
}

func TestReportVerdicts(t *testing.T) {
	type report struct {
		r      wire.Report
		linked bool
	}
	mismatch := func(sha string, size uint64) wire.Report {
		return wire.Report{Reason: wire.ReasonDigestMismatch, Key: segKey, SHA256: sha, Size: size}
	}
	good := strings.Repeat("ab", 32) // digestOf's hash: the bytes were right
	tests := []struct {
		name    string
		reports []report // one per reporter, each its own connection
		banned  bool
		verdict string
	}{
		{"three checkable mismatches", []report{{mismatch(badHash, 0), true}, {mismatch(badHash, 1000), true}, {mismatch("", 999), true}}, true, verdictBelieved},
		{"bytes that match the digest", []report{{mismatch(good, 0), true}, {mismatch(good, 1000), true}, {mismatch(good, 0), true}}, false, verdictRefuted},
		{"no hash to check", []report{{mismatch("", 0), true}, {mismatch("", 1000), true}, {mismatch("", 0), true}}, false, verdictUnchecked},
		{"not a digest", []report{{wire.Report{Reason: wire.ReasonProtocolError}, true}, {wire.Report{Reason: wire.ReasonUnresponsive, Key: segKey}, true}, {wire.Report{Reason: "other_thing"}, true}}, false, verdictUnchecked},
		{"unknown segment", []report{{wire.Report{Reason: wire.ReasonDigestMismatch, Key: "/x.ts", SHA256: badHash}, true}, {wire.Report{Reason: wire.ReasonDigestMismatch, Key: "/y.ts", SHA256: badHash}, true}, {wire.Report{Reason: wire.ReasonDigestMismatch, Key: "/z.ts", SHA256: badHash}, true}}, false, verdictUnchecked},
		{"never connected", []report{{mismatch(badHash, 0), false}, {mismatch(badHash, 0), false}, {mismatch(badHash, 0), false}}, false, verdictUnlinked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, v, vl, _ := reportSetup(t)
			for _, rp := range tc.reports {
				l := local(t, h, false)
				id := joinLocal(t, l, swarmA, "", wire.Caps{Upload: true})
				if rp.linked {
					linkPair(t, localSender{t, l}, vl, id, v)
				}
				r := rp.r
				r.Peer = v
				sendLocal(t, l, &r)
			}
			if got := testutil.ToFloat64(h.met.verdicts[tc.verdict]); got != float64(len(tc.reports)) {
				t.Fatalf("%s verdicts %v, want %d", tc.verdict, got, len(tc.reports))
			}
			if ids := candidatesOf(t, h); slices.Contains(ids, v) == tc.banned {
				t.Fatalf("candidates %v; banned want %v", ids, tc.banned)
			}
		})
	}
}

// A reporter whose report the digest refuted, or that is itself
// reported, counts for less.
func TestReportStanding(t *testing.T) {
	h, v, vl, cl := reportSetup(t)
	reporter := func() (*Local, string) {
		l := local(t, h, false)
		id := joinLocal(t, l, swarmA, "", wire.Caps{Upload: true})
		linkPair(t, localSender{t, l}, vl, id, v)
		return l, id
	}
	believed := func(l *Local, peer string) {
		sendLocal(t, l, &wire.Report{Peer: peer, Reason: wire.ReasonDigestMismatch, Key: segKey, SHA256: badHash})
	}
	// The liar's first report is refuted: its next weighs 1/2.
	liar, _ := reporter()
	sendLocal(t, liar, &wire.Report{Peer: v, Reason: wire.ReasonDigestMismatch, Key: segKey, SHA256: strings.Repeat("ab", 32)})
	believed(liar, v)
	// A reporter that C reported (weight 1) weighs 1/2.
	suspect, id := reporter()
	linkPair(t, localSender{t, suspect}, cl, id, cid(t, h, cl))
	believed(cl, id)
	believed(suspect, v)
	// One in good standing: 1. 2 of 3, where counting heads would give 3.
	honest, _ := reporter()
	believed(honest, v)
	if ids := candidatesOf(t, h); !slices.Contains(ids, v) {
		t.Fatalf("candidates %v lack %s at a score of 2", ids, v)
	}
	another, _ := reporter()
	believed(another, v)
	if ids := candidatesOf(t, h); slices.Contains(ids, v) {
		t.Fatalf("candidates %v still have %s at a score of 3", ids, v)
	}
}

// cid returns the peer id of a joined in-process connection.
func cid(t testing.TB, h *Hub, l *Local) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if l.s.m == nil {
		t.Fatal("not joined")
	}
	return l.s.m.id
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestStatsClaimsAreBounded(t *testing.T) {
	clk := &testClock{t: time.Unix(1_800_000_000, 0)}
	cfg := openConfig()
	cfg.StatsMaxRate = 10_000_000 // 10 MB/s
	h := newHub(t, cfg, Options{Clock: clk.now})
	const seg = 1_000_000
	for i := range 4 {
		h.PublishDigest(swarmA, digestOf("/live/channel1/720p/seg"+string(rune('0'+i))+".ts", uint64(i), seg))
	}
	l := local(t, h, false)
	joinLocal(t, l, swarmA, "", wire.Caps{Upload: true})
	bytes := func(path string) float64 { return testutil.ToFloat64(h.met.clientBytes[path]) }
	rejected := func(r string) float64 { return testutil.ToFloat64(h.met.statsRejected[r]) }
	step := func(d time.Duration, st wire.Stats) {
		t.Helper()
		clk.add(d)
		sendLocal(t, l, &st)
	}

	step(10*time.Second, wire.Stats{HTTPBytes: 1000, P2PBytes: 2 * seg, SeedBytes: seg})
	if bytes("p2p") != 2*seg || bytes("seed") != seg || bytes("http") != 1000 {
		t.Fatalf("honest report: p2p %v seed %v http %v", bytes("p2p"), bytes("seed"), bytes("http"))
	}
	tests := []struct {
		name   string
		wait   time.Duration
		st     wire.Stats
		reason string
	}{
		{"p2p near 2^53", 10 * time.Second, wire.Stats{HTTPBytes: 1000, P2PBytes: wire.MaxCounter, SeedBytes: seg}, statsOverRate},
		{"upload near 2^53", 10 * time.Second, wire.Stats{HTTPBytes: 1000, P2PBytes: 2 * seg, SeedBytes: seg, UploadBytes: wire.MaxCounter}, statsOverRate},
		// 31 s since the last accepted report at 10 MB/s.
		{"http faster than the bound", time.Second, wire.Stats{HTTPBytes: 1_000_000_000, P2PBytes: 2 * seg, SeedBytes: seg}, statsOverRate},
		{"seed beyond the segments published", time.Hour, wire.Stats{HTTPBytes: 1000, P2PBytes: 2 * seg, SeedBytes: 20 * seg}, statsOverSwarm},
		{"a counter going down", time.Second, wire.Stats{HTTPBytes: 1000, P2PBytes: seg, SeedBytes: seg}, statsRegression},
	}
	for _, tc := range tests {
		before := rejected(tc.reason)
		step(tc.wait, tc.st)
		if got := rejected(tc.reason); got != before+1 {
			t.Errorf("%s: rejected{%s} %v, want %v", tc.name, tc.reason, got, before+1)
		}
	}
	if bytes("p2p") != 2*seg || bytes("seed") != seg || bytes("http") != 1000 || bytes("upload") != 0 {
		t.Fatalf("after rejected reports: p2p %v seed %v http %v upload %v, want the honest figures",
			bytes("p2p"), bytes("seed"), bytes("http"), bytes("upload"))
	}
	// A new segment makes room; the rejected reports left the counters
	// where the last accepted one put them.
	h.PublishDigest(swarmA, digestOf("/live/channel1/720p/seg9.ts", 9, seg))
	step(10*time.Second, wire.Stats{HTTPBytes: 2000, P2PBytes: 4 * seg, SeedBytes: 2 * seg, UploadBytes: 3 * seg, Aborts: 1})
	if bytes("p2p") != 4*seg || bytes("seed") != 2*seg || bytes("upload") != 3*seg {
		t.Fatalf("second honest report: p2p %v seed %v upload %v", bytes("p2p"), bytes("seed"), bytes("upload"))
	}
	before := rejected(statsRegression)
	step(time.Second, wire.Stats{HTTPBytes: 2000, P2PBytes: 4 * seg, SeedBytes: 2 * seg, UploadBytes: 3 * seg})
	if rejected(statsRegression) != before+1 {
		t.Fatalf("aborts going from 1 to 0 was not rejected")
	}
}

// TestRelayStatsAreBoundedLikeP2P: relayed bytes are counted apart from
// p2p, and together with p2p and seed they cannot exceed what the swarm
// published.
func TestRelayStatsAreBoundedLikeP2P(t *testing.T) {
	clk := &testClock{t: time.Unix(1_800_000_000, 0)}
	h := newHub(t, openConfig(), Options{Clock: clk.now})
	const seg = 1_000_000
	for i := range 4 {
		h.PublishDigest(swarmA, digestOf("/live/channel1/720p/seg"+string(rune('0'+i))+".ts", uint64(i), seg))
	}
	l := local(t, h, false)
	joinLocal(t, l, swarmA, "", wire.Caps{})
	bytes := func(path string) float64 { return testutil.ToFloat64(h.met.clientBytes[path]) }
	clk.add(10 * time.Second)
	sendLocal(t, l, &wire.Stats{P2PBytes: seg, RelayBytes: 2 * seg})
	if bytes("relay") != 2*seg || bytes("p2p") != seg {
		t.Fatalf("relay %v p2p %v, want %d and %d", bytes("relay"), bytes("p2p"), 2*seg, seg)
	}
	before := testutil.ToFloat64(h.met.statsRejected[statsOverSwarm])
	clk.add(time.Hour)
	sendLocal(t, l, &wire.Stats{P2PBytes: 4 * seg, RelayBytes: 6 * seg})
	if got := testutil.ToFloat64(h.met.statsRejected[statsOverSwarm]); got != before+1 || bytes("relay") != 2*seg {
		t.Fatalf("p2p+relay beyond the swarm: rejected %v (was %v), relay %v", got, before, bytes("relay"))
	}
	clk.add(time.Second)
	sendLocal(t, l, &wire.Stats{P2PBytes: seg, RelayBytes: seg})
	if bytes("relay") != 2*seg {
		t.Fatalf("a relay counter going down was counted")
	}
}
