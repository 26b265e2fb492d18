package signal

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/wire"
)

const swarmA = "/live/channel1/720p.m3u8"
const swarmB = "/live/channel1/360p.m3u8"

func TestTicketsOverWebSocket(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	h := newHub(t, testConfig(), Options{Clock: clock})
	url := serve(t, h)
	good := h.IssueTicket(swarmA)
	if good == "" || len(good) > wire.MaxTicketLen {
		t.Fatalf("IssueTicket = %q", good)
	}
	expired := (&ticketer{key: []byte(testSecret), ttl: time.Minute}).issue(swarmA, now.Add(-2*time.Minute))
	forged := (&ticketer{key: []byte("another-secret-of-16-bytes"), ttl: time.Minute}).issue(swarmA, now)
	refused := []struct {
		name, ticket, want string
	}{
		{"missing", "", "required"},
		{"other swarm", h.IssueTicket(swarmB), "not valid"},
		{"expired", expired, "expired"},
		{"forged", forged, "not valid"},
		{"malformed", "v1.x.y", "malformed"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, url)
			c.send(&wire.Join{Swarm: swarmA, Ticket: tc.ticket})
			e := expectError(t, c.recv(), wire.CodeTicketInvalid)
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q does not say %q", e.Message, tc.want)
			}
			c.expectClose(websocket.ClosePolicyViolation)
		})
	}
	t.Run("valid", func(t *testing.T) {
		c := dial(t, url)
		w := c.join(swarmA, good, wire.Caps{Upload: true})
		if w.Swarm != swarmA || w.PeerID == "" || w.Config.MaxPeers != wire.DefaultClientConfig().MaxPeers {
			t.Errorf("welcome %#v", w)
		}
	})
	if got := testutil.ToFloat64(h.met.rejected[wire.CodeTicketInvalid]); got != float64(len(refused)) {
		t.Errorf("rejected joins = %v, want %d", got, len(refused))
	}
}

func TestOpenSwarms(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Open = true
	h := newHub(t, cfg, Options{})
	if tk := h.IssueTicket(swarmA); tk != "" {
		t.Errorf("IssueTicket with open swarms = %q, want empty", tk)
	}
	c := dial(t, serve(t, h))
	c.join(swarmA, "", wire.Caps{})
	// A ticket is ignored in open mode, even a bad one.
	c.send(&wire.Leave{})
	c.join(swarmB, "v1.1.garbage", wire.Caps{})
}

func TestMalformedAndOutOfOrder(t *testing.T) {
	h := newHub(t, testConfig(), Options{})
	url := serve(t, h)
	fatal := []struct {
		name  string
		mt    int
		msg   []byte
		code  wire.Code
		close int
	}{
		{"not json", websocket.TextMessage, []byte(`{"v":1,"type":`), wire.CodeBadRequest, websocket.ClosePolicyViolation},
		{"empty", websocket.TextMessage, nil, wire.CodeBadRequest, websocket.ClosePolicyViolation},
		{"binary", websocket.BinaryMessage, []byte(`{"v":1,"type":"leave"}`), wire.CodeBadRequest, websocket.ClosePolicyViolation},
		{"server message", websocket.TextMessage, []byte(`{"v":1,"type":"peer_left","id":"x"}`), wire.CodeBadRequest, websocket.ClosePolicyViolation},
		{"version", websocket.TextMessage, []byte(`{"v":2,"type":"leave"}`), wire.CodeUnsupportedVersion, websocket.ClosePolicyViolation},
		{"bad field", websocket.TextMessage, []byte(`{"v":1,"type":"join","swarm":""}`), wire.CodeBadRequest, websocket.ClosePolicyViolation},
		{"oversized", websocket.TextMessage, []byte(`{"v":1,"type":"join","swarm":"` + strings.Repeat("a", wire.MaxMessageSize) + `"}`), wire.CodeTooLarge, websocket.CloseMessageTooBig},
	}
	for _, tc := range fatal {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, url)
			c.sendRaw(tc.mt, tc.msg)
			expectError(t, c.recv(), tc.code)
			c.expectClose(tc.close)
		})
	}
	t.Run("not fatal", func(t *testing.T) {
		c := dial(t, url)
		c.sendRaw(websocket.TextMessage, []byte(`{"v":1,"type":"teleport"}`))
		expectError(t, c.recv(), wire.CodeUnknownType)
		c.send(&wire.Relay{To: "abc", Session: "s1", Kind: wire.KindOffer, SDP: "v=0"})
		expectError(t, c.recv(), wire.CodeNotJoined)
		c.send(&wire.Leave{})
		expectError(t, c.recv(), wire.CodeNotJoined)
		c.send(&wire.DigestQuery{Keys: []string{"/a.ts"}})
		expectError(t, c.recv(), wire.CodeNotJoined)
		c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
		c.send(&wire.Join{Swarm: swarmB, Ticket: h.IssueTicket(swarmB)})
		expectError(t, c.recv(), wire.CodeAlreadyJoined)
		c.send(&wire.Relay{To: "nobody", Session: "s1", Kind: wire.KindOffer, SDP: "v=0"})
		expectError(t, c.recv(), wire.CodeUnknownPeer)
		c.send(&wire.Report{Peer: "nobody", Reason: "digest_mismatch"})
		expectError(t, c.recv(), wire.CodeUnknownPeer)
		// Still connected and usable: leave and join another swarm.
		c.send(&wire.Leave{})
		c.join(swarmB, h.IssueTicket(swarmB), wire.Caps{})
	})
}

func TestRelayOnlyWithinSwarm(t *testing.T) {
	h := newHub(t, testConfig(), Options{})
	url := serve(t, h)
	a, b, c := dial(t, url), dial(t, url), dial(t, url)
	idA := a.join(swarmA, h.IssueTicket(swarmA), wire.Caps{Upload: true}).PeerID
	idB := b.join(swarmA, h.IssueTicket(swarmA), wire.Caps{Upload: true}).PeerID
	if ids := peerIDs(b.recv()); !slices.Equal(ids, []string{idA}) {
		t.Fatalf("b's candidates %v, want [%s]", ids, idA)
	}
	c.join(swarmB, h.IssueTicket(swarmB), wire.Caps{Upload: true})

	// b offers to a, a answers: the relay carries from, not to.
	b.send(&wire.Relay{To: idA, Session: "x1", Kind: wire.KindOffer, SDP: "v=0 offer"})
	m := a.recv()
	for peerIDs(m) != nil { // a may first get b pushed as a candidate
		m = a.recv()
	}
	r, ok := m.(*wire.Relay)
	if !ok || r.From != idB || r.To != "" || r.SDP != "v=0 offer" || r.Session != "x1" {
		t.Fatalf("a got %#v", m)
	}
	a.send(&wire.Relay{To: idB, Session: "x1", Kind: wire.KindAnswer, SDP: "v=0 answer"})
	if r, ok := b.recv().(*wire.Relay); !ok || r.From != idA || r.Kind != wire.KindAnswer {
		t.Fatalf("b got %#v", r)
	}

	// c, in another swarm, cannot reach a even with its id.
	c.send(&wire.Relay{To: idA, Session: "x2", Kind: wire.KindOffer, SDP: "v=0 intrusion"})
	expectError(t, c.recv(), wire.CodeUnknownPeer)
	// The next thing a gets is this digest, not c's relay.
	h.PublishDigest(swarmA, digestOf("/seg1.ts", 1, 100))
	if d, ok := a.recv().(*wire.Digest); !ok || d.Segments[0].Key != "/seg1.ts" {
		t.Fatalf("a got %#v, want the digest", d)
	}
	if got := testutil.ToFloat64(h.met.relays); got != 2 {
		t.Errorf("relays = %v, want 2", got)
	}

	// When b leaves, a is told.
	b.send(&wire.Leave{})
	if pl, ok := a.recv().(*wire.PeerLeft); !ok || pl.ID != idB {
		t.Fatalf("a got %#v, want peer_left %s", pl, idB)
	}
}

func TestCandidates(t *testing.T) {
	cfg := testConfig()
	cfg.MaxCandidates = 2
	h := newHub(t, cfg, Options{})
	tk := h.IssueTicket(swarmA)

	seeder := local(t, h, true)
	seederID := joinLocal(t, seeder, swarmA, "", wire.Caps{Upload: true})

	// Download-only and mobile peers are never offered.
	down := local(t, h, false)
	downID := joinLocal(t, down, swarmA, tk, wire.Caps{})
	mobile := local(t, h, false)
	mobileID := joinLocal(t, mobile, swarmA, tk, wire.Caps{Upload: true, Mobile: true})
	for _, l := range []*Local{down, mobile} {
		p := recvLocal(t, l).(*wire.Peers)
		if len(p.Peers) != 1 || p.Peers[0].ID != seederID || !p.Peers[0].Seeder {
			t.Fatalf("candidates %#v, want only the seeder", p.Peers)
		}
	}

	// Uploaders: each new one is offered the seeder and up to K=2 sources,
	// least offered first, and is pushed to viewers that have few.
	var ups []*Local
	var upIDs []string
	for range 4 {
		l := local(t, h, false)
		upIDs = append(upIDs, joinLocal(t, l, swarmA, tk, wire.Caps{Upload: true}))
		ups = append(ups, l)
	}
	// The fourth uploader got the seeder plus two viewer sources.
	p := recvLocal(t, ups[3]).(*wire.Peers)
	if len(p.Peers) != 3 || p.Peers[0].ID != seederID || !p.Peers[0].Seeder {
		t.Fatalf("fourth uploader's candidates %#v", p.Peers)
	}
	for _, pi := range p.Peers[1:] {
		if pi.Seeder || pi.ID == downID || pi.ID == mobileID || pi.ID == upIDs[3] || !slices.Contains(upIDs, pi.ID) {
			t.Errorf("bad candidate %#v", pi)
		}
	}
	// The download-only peer was pushed the first new sources, up to K.
	var pushed []string
	for len(pushed) < cfg.MaxCandidates {
		m := recvLocal(t, down)
		pushed = append(pushed, peerIDs(m)...)
	}
	for _, id := range pushed {
		if !slices.Contains(upIDs, id) {
			t.Errorf("download-only peer pushed %s, not an uploader", id)
		}
	}

	// The seeder was never sent candidates: its next message is the
	// digest published now.
	h.PublishDigest(swarmA, digestOf("/s.ts", 7, 10))
	if _, ok := recvLocal(t, seeder).(*wire.Digest); !ok {
		t.Fatal("seeder got something else than the digest")
	}

	// A seeder joining later is pushed to every viewer, marked seeder.
	seeder2 := local(t, h, true)
	s2 := joinLocal(t, seeder2, swarmA, "", wire.Caps{})
	for {
		m := recvLocal(t, down)
		if p, ok := m.(*wire.Peers); ok && p.Peers[0].ID == s2 {
			if !p.Peers[0].Seeder {
				t.Error("second seeder not marked seeder")
			}
			break
		}
	}
}

func TestCandidatesSpreadLoad(t *testing.T) {
	cfg := testConfig()
	cfg.MaxCandidates = 2
	h := newHub(t, cfg, Options{})
	tk := h.IssueTicket(swarmA)
	var sources []string
	for range 6 {
		sources = append(sources, joinLocal(t, local(t, h, false), swarmA, tk, wire.Caps{Upload: true}))
	}
	const viewers = 30
	offers := make(map[string]int)
	for range viewers {
		l := local(t, h, false)
		joinLocal(t, l, swarmA, tk, wire.Caps{})
		ids := peerIDs(recvLocal(t, l))
		if len(ids) != cfg.MaxCandidates {
			t.Fatalf("viewer got %v, want %d candidates", ids, cfg.MaxCandidates)
		}
		for _, id := range ids {
			offers[id]++
		}
	}
	for _, id := range sources {
		if n := offers[id]; n == 0 || n > viewers/2 {
			t.Errorf("source %s offered to %d of %d viewers (all: %v)", id, n, viewers, offers)
		}
	}
}

func TestDigests(t *testing.T) {
	cfg := testConfig()
	cfg.DigestsKept = 3
	h := newHub(t, cfg, Options{})
	// Published before anyone joined: kept for the first joiner.
	for i := range 5 {
		h.PublishDigest(swarmA, digestOf("/seg"+string(rune('0'+i))+".ts", uint64(i), 100))
	}
	// A changed digest for a known key is ignored.
	changed := digestOf("/seg4.ts", 4, 999)
	h.PublishDigest(swarmA, changed)
	// Invalid digests are dropped.
	h.PublishDigest(swarmA, wire.SegmentDigest{Key: "/bad.ts", Size: 0, SHA256: "x"})

	l := local(t, h, false)
	joinLocal(t, l, swarmA, h.IssueTicket(swarmA), wire.Caps{})
	d := recvLocal(t, l).(*wire.Digest)
	var keys []string
	for _, s := range d.Segments {
		keys = append(keys, s.Key)
	}
	if !slices.Equal(keys, []string{"/seg2.ts", "/seg3.ts", "/seg4.ts"}) || d.Segments[2].Size != 100 {
		t.Fatalf("window %v %#v", keys, d.Segments)
	}
	h.PublishDigest(swarmA, digestOf("/seg5.ts", 5, 100))
	if d := recvLocal(t, l).(*wire.Digest); d.Segments[0].Key != "/seg5.ts" {
		t.Fatalf("got %#v", d)
	}
	sendLocal(t, l, &wire.DigestQuery{Keys: []string{"/seg0.ts", "/seg4.ts", "/unknown.ts"}})
	if d := recvLocal(t, l).(*wire.Digest); len(d.Segments) != 1 || d.Segments[0].Key != "/seg4.ts" {
		t.Fatalf("query answer %#v", d)
	}
	// A query for nothing known gets no answer: the next message is the
	// answer to the following query.
	sendLocal(t, l, &wire.DigestQuery{Keys: []string{"/unknown.ts"}})
	sendLocal(t, l, &wire.DigestQuery{Keys: []string{"/seg5.ts"}})
	if d := recvLocal(t, l).(*wire.Digest); d.Segments[0].Key != "/seg5.ts" {
		t.Fatalf("got %#v", d)
	}
	if got := testutil.ToFloat64(h.met.digests); got != 6 {
		t.Errorf("digests published = %v, want 6", got)
	}
}

func TestDigestBatchesFitMessages(t *testing.T) {
	long := strings.Repeat(`"\`, wire.MaxKeyLen/2)
	var ds []wire.SegmentDigest
	for i := range 100 {
		ds = append(ds, digestOf(long[:len(long)-3]+string(rune('a'+i%26))+string(rune('a'+i/26)), uint64(i), 1))
	}
	n := 0
	for _, b := range digestBatches(ds) {
		if _, err := wire.Encode(b); err != nil {
			t.Fatal(err)
		}
		n += len(b.Segments)
	}
	if n != len(ds) {
		t.Fatalf("batches hold %d digests, want %d", n, len(ds))
	}
}

func TestSlowReaderDisconnected(t *testing.T) {
	cfg := testConfig()
	cfg.SendQueue = 16
	cfg.RelayRate, cfg.RelayBurst = 1e6, 1e6
	cfg.MessageRate, cfg.MessageBurst = 1e6, 1e6
	viewers := make(chan int, 100)
	h := newHub(t, cfg, Options{OnSwarm: func(_ string, n int) { viewers <- n }})
	url := serve(t, h)
	tk := h.IssueTicket(swarmA)

	slow := dial(t, url)
	slowID := slow.join(swarmA, tk, wire.Caps{Upload: true}).PeerID
	sender := local(t, h, false)
	joinLocal(t, sender, swarmA, tk, wire.Caps{Upload: true})
	for n := range viewers {
		if n == 2 {
			break
		}
	}
	// The sender reads what it gets (unknown_peer once slow is gone), so
	// that only slow is a slow reader.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	left := make(chan struct{})
	go func() {
		for {
			m, err := sender.Recv(ctx)
			if err != nil {
				return
			}
			if pl, ok := m.(*wire.PeerLeft); ok && pl.ID == slowID {
				close(left)
			}
		}
	}()
	// slow never reads again; big relays fill its socket buffers, then
	// its queue, and the hub drops it instead of buffering. A local Send
	// is handled before it returns, so the loop stops at the very relay
	// that dropped slow: the sender never gets a burst of unknown_peer
	// answers that would make it a slow reader too.
	sdp := strings.Repeat("a", wire.MaxSDPLen)
	dropped := func() bool { return testutil.ToFloat64(h.met.disconnects[reasonSlow]) >= 1 }
	for i := 0; i < 1_000_000 && !dropped(); i++ {
		if err := sender.Send(&wire.Relay{To: slowID, Session: "s", Kind: wire.KindOffer, SDP: sdp}); err != nil {
			t.Fatalf("relay %d: %v", i, err)
		}
	}
	if !dropped() {
		t.Fatal("slow reader still connected")
	}
	for n := -1; n != 1; {
		select {
		case n = <-viewers:
		case <-time.After(waitFor):
			t.Fatal("the swarm's viewer count never went back to 1")
		}
	}
	if got := testutil.ToFloat64(h.met.disconnects[reasonSlow]); got != 1 {
		t.Errorf("slow disconnects = %v, want 1", got)
	}
	// The sender is told the peer left.
	select {
	case <-left:
	case <-time.After(waitFor):
		t.Fatal("the sender was not told that the slow reader left")
	}
}

func TestRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MessageRate, cfg.MessageBurst, cfg.RateStrikes = 1, 3, 2
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newHub(t, cfg, Options{Clock: clock})
	c := dial(t, serve(t, h))
	c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
	c.send(&wire.Have{})
	c.send(&wire.Have{})
	c.send(&wire.Have{}) // over the burst of 3 (join counted)
	e := expectError(t, c.recv(), wire.CodeRateLimited)
	if e.RetryMs != 1000 {
		t.Errorf("retry_ms = %d, want 1000", e.RetryMs)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	c.send(&wire.Have{}) // one token again
	c.send(&wire.Have{}) // first strike
	expectError(t, c.recv(), wire.CodeRateLimited)
	c.send(&wire.Have{}) // second strike: disconnected
	expectError(t, c.recv(), wire.CodeRateLimited)
	c.expectClose(websocket.ClosePolicyViolation)
}

func TestSwarmFull(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSwarmPeers = 1
	h := newHub(t, cfg, Options{})
	url := serve(t, h)
	dial(t, url).join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
	// The seeder is not counted.
	joinLocal(t, local(t, h, true), swarmA, "", wire.Caps{})
	c := dial(t, url)
	c.send(&wire.Join{Swarm: swarmA, Ticket: h.IssueTicket(swarmA)})
	if e := expectError(t, c.recv(), wire.CodeSwarmFull); e.RetryMs == 0 {
		t.Error("swarm_full without retry_ms")
	}
	c.expectClose(websocket.ClosePolicyViolation)
}

func TestSwarmLifecycle(t *testing.T) {
	events := make(chan [2]any, 100)
	h := newHub(t, testConfig(), Options{OnSwarm: func(s string, n int) { events <- [2]any{s, n} }})
	next := func() [2]any {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(waitFor):
			t.Fatal("no OnSwarm call")
			return [2]any{}
		}
	}
	tk := h.IssueTicket(swarmA)
	a := local(t, h, false)
	joinLocal(t, a, swarmA, tk, wire.Caps{})
	if e := next(); e != [2]any{swarmA, 1} {
		t.Fatalf("OnSwarm %v", e)
	}
	s := local(t, h, true)
	joinLocal(t, s, swarmA, "", wire.Caps{})
	b := local(t, h, false)
	joinLocal(t, b, swarmA, tk, wire.Caps{})
	if e := next(); e != [2]any{swarmA, 2} {
		t.Fatalf("OnSwarm %v (the seeder must not count)", e)
	}
	sendLocal(t, a, &wire.Leave{})
	if e := next(); e != [2]any{swarmA, 1} {
		t.Fatalf("OnSwarm %v", e)
	}
	_ = b.Close()
	if e := next(); e != [2]any{swarmA, 0} {
		t.Fatalf("OnSwarm %v", e)
	}
	if got := testutil.ToFloat64(h.met.swarms); got != 1 {
		t.Errorf("swarms = %v with the seeder still in", got)
	}
	_ = s.Close()
	if got := testutil.ToFloat64(h.met.swarms); got != 0 {
		t.Errorf("swarms = %v after everyone left", got)
	}
	h.mu.Lock()
	n := len(h.swarms)
	h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d swarms kept after everyone left (no digests)", n)
	}
	if got := testutil.ToFloat64(h.met.peers); got != 0 {
		t.Errorf("peers = %v", got)
	}
}

func TestTimeouts(t *testing.T) {
	cfg := testConfig()
	cfg.JoinTimeout = 50 * time.Millisecond
	cfg.PingInterval = 50 * time.Millisecond
	cfg.PongTimeout = 50 * time.Millisecond
	h := newHub(t, cfg, Options{})
	url := serve(t, h)

	// No join: closed.
	dial(t, url).expectGone()
	if got := testutil.ToFloat64(h.met.disconnects[reasonJoinTimeout]); got != 1 {
		t.Errorf("join timeouts = %v", got)
	}
	// A joined client that answers pings (it keeps reading) stays; one
	// that stops reading stops answering pings and is closed.
	c := dial(t, url)
	c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
	c.c.NetConn().(interface{ CloseRead() error }).CloseRead()
	c.expectGone()
}

func TestCloseSendsGoingAway(t *testing.T) {
	reg := testConfig()
	h, err := New(reg, wire.DefaultClientConfig(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, h)
	c := dial(t, url)
	c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
	l := local(t, h, true)
	joinLocal(t, l, swarmA, "", wire.Caps{})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- h.Close(ctx) }()
	for {
		m := c.recv()
		if e, ok := m.(*wire.Error); ok {
			expectError(t, e, wire.CodeGoingAway)
			break
		}
	}
	c.expectClose(websocket.CloseGoingAway)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for {
		m, err := l.Recv(ctx)
		if err != nil {
			t.Fatalf("local: %v before going_away", err)
		}
		if e, ok := m.(*wire.Error); ok {
			expectError(t, e, wire.CodeGoingAway)
			break
		}
	}
	if _, err := l.Recv(ctx); err != ErrClosed {
		t.Errorf("Recv after close: %v", err)
	}
	if _, err := h.Connect(ctx, LocalOptions{}); err != ErrClosed {
		t.Errorf("Connect after Close: %v", err)
	}
}

func TestLocalValidation(t *testing.T) {
	h := newHub(t, testConfig(), Options{})
	l := local(t, h, false)
	if err := l.Send(&wire.Welcome{PeerID: "x", Swarm: swarmA, Config: wire.DefaultClientConfig()}); err == nil {
		t.Fatal("a client may not send welcome")
	}
	expectError(t, recvLocal(t, l), wire.CodeBadRequest)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := l.Recv(ctx); err != ErrClosed {
		t.Errorf("Recv: %v, want ErrClosed", err)
	}
	if err := l.Send(&wire.Leave{}); err != ErrClosed {
		t.Errorf("Send after fatal error: %v", err)
	}
}
