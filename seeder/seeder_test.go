package seeder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/wire"
)

func TestMain(m *testing.M) { os.Exit(netns.Run(m)) }

const testSwarm = "/live/ch1/720p.m3u8"

// leakOptions would ignore library goroutines that outlive every
// PeerConnection; pion v4 leaves none once GracefulClose returns, so the
// list is empty and every goroutine the seeder, its connections or the
// test peers start must be gone after Close.
var leakOptions []goleak.Option

// segments is a Source over a fixed map, counting calls by key.
type segments struct {
	mu    sync.Mutex
	data  map[string][]byte
	fails map[string]bool
}

func (s *segments) Segment(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails[key] {
		return nil, errors.New("origin down")
	}
	b, ok := s.data[key]
	if !ok {
		return nil, fmt.Errorf("no segment %s", key)
	}
	return b, nil
}

// add creates a segment of n pseudo-random bytes and returns its digest.
func (s *segments) add(key string, seq *uint64, n int) wire.SegmentDigest {
	b := make([]byte, n)
	h := sha256.Sum256([]byte(key))
	x := uint32(h[0])<<24 | uint32(h[1])<<16 | uint32(h[2])<<8 | uint32(h[3])
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	s.mu.Lock()
	if s.data == nil {
		s.data, s.fails = map[string][]byte{}, map[string]bool{}
	}
	s.data[key] = b
	s.mu.Unlock()
	sum := sha256.Sum256(b)
	return wire.SegmentDigest{Key: key, Seq: seq, Size: uint64(n), SHA256: hex.EncodeToString(sum[:])}
}

func (s *segments) get(key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data[key]
}

func seq(n uint64) *uint64 { return &n }

// env is one test's tracker, source and seeder.
type env struct {
	t   testing.TB
	ctx context.Context
	tr  *fakeTracker
	src *segments
	s   *Seeder
	reg *prometheus.Registry
}

// newEnv starts a seeder on a UDP mux bound to 127.0.0.1:0 (and an ICE-TCP
// listener when tcp is set) and joins it to testSwarm.
func newEnv(t testing.TB, cfg Config, tcp bool) *env {
	t.Helper()
	return newEnvClock(t, cfg, tcp, nil)
}

// newEnvClock is newEnv with the seeder's clock (nil: time.Now).
func newEnvClock(t testing.TB, cfg Config, tcp bool, clock func() time.Time) *env {
	t.Helper()
	netns.RequireLoopbackOnly(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, tr: newTracker(t), src: &segments{}, reg: prometheus.NewRegistry()}
	opt := Options{Clock: clock, Registerer: e.reg, Log: slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tcp {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		opt.TCP = l
		cfg.ICETCP = l.Addr().String()
	} else {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		opt.UDP = u
		cfg.ICEUDP = u.LocalAddr().String()
	}
	cfg.Loopback = true
	s, err := New(cfg, e.tr, e.src, opt)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	s.SetViewers(testSwarm, 1)
	if _, err := e.tr.waitSeeder(ctx, testSwarm); err != nil {
		t.Fatalf("the seeder did not join: %v", err)
	}
	return e
}

// viewer joins testSwarm, connects to the seeder and returns the viewer
// and the seeder's peer id.
func (e *env) viewer(opt testpeer.Options) (*testpeer.Peer, string) {
	e.t.Helper()
	opt.OnlySeeders = true
	v, err := testpeer.Join(e.ctx, e.tr.Dial(), testSwarm, opt)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		v.Close()
		if err := v.Err(); err != nil {
			e.t.Logf("viewer %s: %v", v.ID(), err)
		}
	})
	id, err := v.WaitReady(e.ctx, "")
	if err != nil {
		e.t.Fatalf("viewer %s: no ready connection to the seeder: %v (%v)", v.ID(), err, v.Err())
	}
	e.waitSeederSees(v.ID())
	return v, id
}

// waitSeederSees waits until the seeder has the viewer's hello and first
// have-map (the viewer sends them in this order).
func (e *env) waitSeederSees(id string) {
	e.t.Helper()
	sw := e.swarm()
	for {
		sw.mu.Lock()
		ch, p := sw.viewersHave, sw.peers[id]
		sw.mu.Unlock()
		if p != nil {
			p.mu.Lock()
			ok := p.ready && p.haveSeen
			p.mu.Unlock()
			if ok {
				return
			}
		}
		select {
		case <-ch:
		case <-e.ctx.Done():
			e.t.Fatalf("the seeder never got viewer %s's hello and have", id)
		}
	}
}

// publish announces a new segment as the node does: digest to the swarm,
// then NewSegment to the seeder.
func (e *env) publish(d wire.SegmentDigest) {
	e.tr.publish(testSwarm, d)
	e.s.NewSegment(testSwarm, d)
}

// verifyNoLeaks closes everything registered so far and checks that no
// goroutine outlives it.
func verifyNoLeaks(t testing.TB) {
	t.Cleanup(func() { goleak.VerifyNone(t, leakOptions...) })
}

func TestSeederPushesAndServes(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 1
	e := newEnv(t, cfg, false)
	init := e.src.add("/live/ch1/720p/init.mp4", nil, 812)
	s100 := e.src.add("/live/ch1/720p/100.ts", seq(100), 300_000)
	s101 := e.src.add("/live/ch1/720p/101.ts", seq(101), 70_001)
	e.tr.publish(testSwarm, init)
	e.tr.publish(testSwarm, s101)

	v, seederID := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})

	// A new live segment is pushed without being asked for.
	e.publish(s100)
	got, err := v.Segment(e.ctx, 100)
	if err != nil {
		t.Fatalf("pushed segment never arrived: %v (%v)", err, v.Err())
	}
	if !bytes.Equal(got, e.src.get(s100.Key)) {
		t.Fatal("pushed segment differs from the source")
	}
	// Requested segments, by sequence and by key, verified against the
	// published digests.
	got, err = v.Fetch(e.ctx, seederID, 101)
	if err != nil || !bytes.Equal(got, e.src.get(s101.Key)) {
		t.Fatalf("Fetch(101): %d bytes, %v", len(got), err)
	}
	got, err = v.FetchKey(e.ctx, seederID, init.Key)
	if err != nil || !bytes.Equal(got, e.src.get(init.Key)) {
		t.Fatalf("FetchKey(init): %d bytes, %v", len(got), err)
	}

	st := v.Stats()
	want := int64(s100.Size + s101.Size + init.Size)
	if st.Pushed != 1 || st.Requested != 2 || st.SeedBytes != want || st.P2PBytes != 0 || st.DigestFailures != 0 {
		t.Errorf("viewer stats %+v, want 1 pushed, 2 requested, %d seed bytes, no p2p", st, want)
	}
	if err := v.Err(); err != nil {
		t.Errorf("viewer saw a protocol error: %v", err)
	}
	if got := testutil.ToFloat64(e.s.m.sent.WithLabelValues(testSwarm)); got != float64(want) {
		t.Errorf("sent_bytes_total{swarm} = %v, want %d", got, want)
	}
	if got := testutil.ToFloat64(e.s.m.pushes); got != 1 {
		t.Errorf("pushes_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.s.m.peers); got != 1 {
		t.Errorf("peer_connections = %v, want 1", got)
	}
}

func TestSeederAnswersAbsent(t *testing.T) {
	verifyNoLeaks(t)
	e := newEnv(t, DefaultConfig(), false)
	bad := e.src.add("/live/ch1/720p/7.ts", seq(7), 1000)
	e.src.fails[bad.Key] = true
	e.tr.publish(testSwarm, bad)
	wrong := e.src.add("/live/ch1/720p/8.ts", seq(8), 1000)
	wrong.SHA256 = bad.SHA256 // the cache holds other bytes than the digest says
	e.tr.publish(testSwarm, wrong)
	v, seederID := e.viewer(testpeer.Options{})
	for _, n := range []uint64{7, 8} {
		if _, err := v.Fetch(e.ctx, seederID, n); !errors.Is(err, testpeer.ErrAbsent) {
			t.Errorf("Fetch(%d) = %v, want absent", n, err)
		}
	}
	if st := v.Stats(); st.SeedBytes != 0 || st.DigestFailures != 0 {
		t.Errorf("stats %+v: the seeder sent bytes that do not match the digest", st)
	}
}

func TestSeederPushesOnlyToViewersThatAcceptIt(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 2
	e := newEnv(t, cfg, false)
	plain, _ := e.viewer(testpeer.Options{Upload: true})
	leech, _ := e.viewer(testpeer.Options{AcceptPush: true}) // does not upload
	taker, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	d := e.src.add("/live/ch1/720p/5.ts", seq(5), 20_000)
	e.publish(d)
	if _, err := taker.Segment(e.ctx, 5); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(e.s.m.pushes); got != 1 {
		t.Errorf("pushes_total = %v, want 1 (only one viewer uploads and accepts pushes)", got)
	}
	for _, v := range []*testpeer.Peer{plain, leech} {
		if v.Holds(5) || v.Err() != nil {
			t.Errorf("viewer %s: holds %v, err %v; want no push", v.ID(), v.Holds(5), v.Err())
		}
	}
}

func TestSeederSteersRequestsToHolders(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 0
	cfg.BusyHolders = 2
	e := newEnv(t, cfg, false)
	held := e.src.add("/live/ch1/720p/10.ts", seq(10), 50_000)
	fresh := e.src.add("/live/ch1/720p/11.ts", seq(11), 50_000)
	e.tr.publish(testSwarm, held)
	e.tr.publish(testSwarm, fresh)
	for range 2 {
		v, id := e.viewer(testpeer.Options{Upload: true})
		if _, err := v.Fetch(e.ctx, id, 10); err != nil {
			t.Fatalf("holder fetch: %v", err)
		}
	}
	// Wait until the seeder has seen both have-maps.
	sw := e.swarm()
	for {
		sw.mu.Lock()
		ch := sw.viewersHave
		sw.mu.Unlock()
		if sw.holders(10, nil) == 2 {
			break
		}
		select {
		case <-ch:
		case <-e.ctx.Done():
			t.Fatalf("the seeder never saw the holders' have-maps")
		}
	}
	v, id := e.viewer(testpeer.Options{})
	if _, err := v.Fetch(e.ctx, id, 10); !errors.Is(err, testpeer.ErrBusy) {
		t.Errorf("Fetch of a segment two viewers hold = %v, want busy", err)
	}
	if got, err := v.Fetch(e.ctx, id, 11); err != nil || len(got) != 50_000 {
		t.Errorf("Fetch of a segment nobody holds = %d bytes, %v; want it served", len(got), err)
	}
	if got := testutil.ToFloat64(e.s.m.busyHeld); got != 1 {
		t.Errorf("busy_held answers = %v, want 1", got)
	}
}

func (e *env) swarm() *swarm {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	return e.s.swarms[testSwarm]
}

func TestSeederOverICETCP(t *testing.T) {
	verifyNoLeaks(t)
	e := newEnv(t, DefaultConfig(), true)
	d := e.src.add("/live/ch1/720p/3.ts", seq(3), 100_000)
	e.tr.publish(testSwarm, d)
	// The viewer gathers TCP candidates only: the connection must use
	// the seeder's ICE-TCP listener.
	v, id := e.viewer(testpeer.Options{API: testpeer.LoopbackAPI(webrtc.NetworkTypeTCP4)})
	got, err := v.Fetch(e.ctx, id, 3)
	if err != nil || !bytes.Equal(got, e.src.get(d.Key)) {
		t.Fatalf("Fetch over ICE-TCP: %d bytes, %v", len(got), err)
	}
}

func TestSeederLeavesSwarm(t *testing.T) {
	verifyNoLeaks(t)
	e := newEnv(t, DefaultConfig(), false)
	v, id := e.viewer(testpeer.Options{})
	e.s.SetViewers(testSwarm, 0)
	// The viewer's connection to the super-peer goes away.
	if err := v.WaitClosed(e.ctx, id); err != nil {
		t.Fatalf("the connection to the seeder stayed open: %v", err)
	}
	// The viewer may see its connection close before the seeder's
	// signaling connection is gone: wait for the leave.
	for {
		e.tr.mu.Lock()
		_, still := e.tr.members[id]
		left := e.tr.left
		e.tr.mu.Unlock()
		if !still {
			break
		}
		select {
		case <-left:
		case <-e.ctx.Done():
			t.Fatal("the seeder is still a member of the swarm after SetViewers(0)")
		}
	}
}

func TestSeederUploadBudget(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PeerUploadBps = 200_000
	e := newEnv(t, cfg, false)
	d := e.src.add("/live/ch1/720p/1.ts", seq(1), 400_000)
	e.tr.publish(testSwarm, d)
	v, id := e.viewer(testpeer.Options{})
	if _, err := v.Fetch(e.ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	// Twice the burst at 200 kB/s: the sender must have waited for budget.
	if got := testutil.ToFloat64(e.s.m.budgetPeer); got <= 0 {
		t.Errorf("budget_wait_seconds_total{scope=peer} = %v, want > 0", got)
	}
}

// tWriter sends logs to the test's log.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}
