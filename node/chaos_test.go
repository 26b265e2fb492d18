package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafov/m3u8"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/origin/demo"
	"github.com/edgeswarm/edgeswarm/units"
	"github.com/edgeswarm/edgeswarm/wire"
)

// Chaos tests: Go viewers play a live stream from a node (HTTP for every
// segment, the swarm for pushes) while the origin goes down, turns slow,
// the super-peer's UDP port is blackholed, the node restarts or its cache
// is full. What they assert is what a viewer would notice, counted as
// events: every playlist and every segment the node could serve was served
// whole (a "stall where HTTP can still serve" is any other answer), and the
// super-peer pushes segments again once the fault is gone.

// chaosOrigin is the demo origin (synthetic, short segments) behind a
// listener the test takes down and brings back on the same address, and
// can slow down.
type chaosOrigin struct {
	h    http.Handler
	addr string
	slow atomic.Int64 // delay before a segment's answer, in ns

	mu   sync.Mutex
	srv  *http.Server
	segs map[string]int // segment requests by path
}

func newChaosOrigin(tb testing.TB, segSize int) *chaosOrigin {
	tb.Helper()
	cfg := demo.DefaultConfig()
	cfg.Synthetic, cfg.SegmentSize, cfg.SegmentDuration, cfg.Renditions = true, units.ByteSize(segSize), 500*time.Millisecond, 1
	h, err := demo.New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	o := &chaosOrigin{h: h, segs: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	o.addr = ln.Addr().String()
	o.serve(ln)
	tb.Cleanup(o.down)
	return o
}

func (o *chaosOrigin) URL() string { return "http://" + o.addr }

func (o *chaosOrigin) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(o.handle)}
	o.mu.Lock()
	o.srv = srv
	o.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// down closes the listener and every connection: the node's requests are
// refused until up.
func (o *chaosOrigin) down() {
	o.mu.Lock()
	srv := o.srv
	o.srv = nil
	o.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (o *chaosOrigin) up(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		tb.Fatalf("origin back on %s: %v", o.addr, err)
	}
	o.serve(ln)
}

func (o *chaosOrigin) handle(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, ".ts") {
		o.mu.Lock()
		o.segs[r.URL.Path]++
		o.mu.Unlock()
		if d := time.Duration(o.slow.Load()); d > 0 {
			time.Sleep(d) // a slow origin: this is the fault, not a wait
		}
	}
	o.h.ServeHTTP(w, r)
}

// segmentRequests returns the most requests any one segment got.
func (o *chaosOrigin) maxSegmentRequests() (string, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	top, n := "", 0
	for p, c := range o.segs {
		if c > n {
			top, n = p, c
		}
	}
	return top, n
}

// chaosViewer is a player: it polls the media playlist and fetches every
// new segment over HTTP, and is in the swarm with pushes accepted.
type chaosViewer struct {
	name string
	peer *testpeer.Peer
	conn *signalRecorder

	mu       sync.Mutex
	base     string
	media    string
	next     uint64
	steps    int
	segments map[uint64]bool
}

// signalRecorder keeps the signaling errors a viewer receives (testpeer
// itself ignores them).
type signalRecorder struct {
	testpeer.Conn
	mu   sync.Mutex
	errs []*wire.Error
}

func (c *signalRecorder) Recv(ctx context.Context) (wire.Message, error) {
	m, err := c.Conn.Recv(ctx)
	if e, ok := m.(*wire.Error); ok {
		c.mu.Lock()
		c.errs = append(c.errs, e)
		c.mu.Unlock()
	}
	return m, err
}

func (c *signalRecorder) errors() []*wire.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*wire.Error(nil), c.errs...)
}

// chaos is one node, its origin and its viewers.
type chaos struct {
	t      *testing.T
	origin *chaosOrigin
	node   *Node
	stop   context.CancelFunc // the node's Run
	done   chan error

	mu        sync.Mutex
	viewers   []*chaosViewer
	delivered map[uint64]bool // segments some viewer got over HTTP
	bad       []string        // answers the node could have served and did not
	lost      []string        // answers it could not serve (it never had the object)
	playing   context.CancelFunc
	playWG    sync.WaitGroup
}

func newChaos(t *testing.T, o *chaosOrigin, cfg Config) *chaos {
	t.Helper()
	netns.RequireLoopbackOnly(t)
	c := &chaos{t: t, origin: o, delivered: map[uint64]bool{}}
	c.start(cfg)
	t.Cleanup(func() {
		c.pause()
		for _, v := range c.viewers {
			if v.peer != nil {
				_ = v.peer.Close()
			}
		}
		c.stopNode()
	})
	return c
}

func chaosConfig(o *chaosOrigin) Config {
	cfg := testConfig(o.URL())
	cfg.SuperPeer = true
	cfg.Seeder.Loopback = true
	cfg.StaleGrace = time.Minute
	return cfg
}

func (c *chaos) start(cfg Config) {
	c.t.Helper()
	n, err := New(cfg, Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.node, c.stop, c.done = n, cancel, make(chan error, 1)
	go func() { c.done <- n.Run(ctx) }()
}

// stopNode shuts the node down as SIGTERM does and returns Run's error.
func (c *chaos) stopNode() error {
	if c.stop == nil {
		return nil
	}
	c.stop()
	c.stop = nil
	return <-c.done
}

// join adds a viewer: the master and media playlists, then the swarm.
func (c *chaos) join(ctx context.Context, name string) *chaosViewer {
	c.t.Helper()
	base := "http://" + c.node.Addr()
	_, body := httpGet(c.t, base+"/live/master.m3u8")
	var media string
	for line := range strings.Lines(string(body)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			media = "/live/" + line
			break
		}
	}
	r, body := httpGet(c.t, base+media)
	pl := decodeMedia(c.t, body)
	v := &chaosViewer{name: name, base: base, media: media, segments: map[uint64]bool{}}
	v.next = pl.SeqNo + uint64(max(int(pl.Count())-2, 0))
	v.peer, v.conn = c.joinSwarm(ctx, r.Header)
	c.mu.Lock()
	c.viewers = append(c.viewers, v)
	c.mu.Unlock()
	return v
}

func (c *chaos) joinSwarm(ctx context.Context, h http.Header) (*testpeer.Peer, *signalRecorder) {
	c.t.Helper()
	ws, err := wsclient.Dial(ctx, "ws://"+c.node.Addr()+wire.SignalPath)
	if err != nil {
		c.t.Fatal(err)
	}
	rc := &signalRecorder{Conn: ws}
	p, err := testpeer.Join(ctx, rc, h.Get(wire.SwarmHeader), testpeer.Options{Upload: true, AcceptPush: true, Ticket: h.Get(wire.TicketHeader), API: testpeer.LoopbackAPI()})
	if err != nil {
		ws.Close()
		c.t.Fatalf("join: %v", err)
	}
	return p, rc
}

func decodeMedia(tb testing.TB, body []byte) *m3u8.MediaPlaylist {
	tb.Helper()
	p, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MEDIA {
		tb.Fatalf("media playlist: %v\n%s", err, body)
	}
	return p.(*m3u8.MediaPlaylist)
}

// play runs every viewer as a player until pause: a playlist refresh every
// half segment, then every segment it lists that the viewer lacks.
func (c *chaos) play() {
	ctx, cancel := context.WithCancel(context.Background())
	c.playing = cancel
	for _, v := range c.viewers {
		c.playWG.Add(1)
		go func() {
			defer c.playWG.Done()
			for ctx.Err() == nil {
				c.step(ctx, v)
				select {
				case <-ctx.Done():
				case <-time.After(250 * time.Millisecond):
				}
			}
		}()
	}
}

func (c *chaos) pause() {
	if c.playing != nil {
		c.playing()
		c.playWG.Wait()
		c.playing = nil
	}
}

// step is one playlist refresh and the segments it brings.
func (c *chaos) step(ctx context.Context, v *chaosViewer) {
	v.mu.Lock()
	base, media := v.base, v.media
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		v.steps++
		v.mu.Unlock()
	}()
	status, cs, body, err := get(ctx, base+media)
	if ctx.Err() != nil {
		return
	}
	if err != nil || status != 200 {
		// The playlist was served before: within stale grace it always can be.
		c.fault(true, v, media, status, cs, err)
		return
	}
	pl, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MEDIA {
		c.fault(true, v, media, status, cs, err)
		return
	}
	mp := pl.(*m3u8.MediaPlaylist)
	for i, seg := range mp.Segments {
		if seg == nil {
			break
		}
		seq := mp.SeqNo + uint64(i)
		v.mu.Lock()
		want := seq >= v.next
		v.mu.Unlock()
		if !want {
			continue
		}
		path := media[:strings.LastIndexByte(media, '/')+1] + seg.URI
		status, cs, body, err := get(ctx, base+path)
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		had := c.delivered[seq]
		c.mu.Unlock()
		if err != nil || status != 200 || len(body) == 0 {
			// Bad unless the node never held it (its fill failed with the origin).
			c.fault(had || !strings.Contains(cs, "detail=origin"), v, path, status, cs, err)
			return // the player retries it on the next refresh
		}
		c.mu.Lock()
		c.delivered[seq] = true
		c.mu.Unlock()
		v.mu.Lock()
		v.segments[seq] = true
		v.next = seq + 1
		v.mu.Unlock()
		if v.peer != nil && seq > 6 {
			v.peer.Forget(seq - 6)
		}
	}
}

func (c *chaos) fault(bad bool, v *chaosViewer, path string, status int, cs string, err error) {
	msg := fmt.Sprintf("%s: GET %s: status %d, Cache-Status %q, err %v", v.name, path, status, cs, err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if bad {
		c.bad = append(c.bad, msg)
	} else {
		c.lost = append(c.lost, msg)
	}
}

func get(ctx context.Context, url string) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		err = fmt.Errorf("%d of %d bytes", len(body), resp.ContentLength)
	}
	return resp.StatusCode, resp.Header.Get("Cache-Status"), body, err
}

// newest is the highest segment every viewer has.
func (c *chaos) newest() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var top uint64
	for s := range c.delivered {
		top = max(top, s)
	}
	return top
}

// waitPlayed waits until every viewer has received k segments newer than seq.
func (c *chaos) waitPlayed(seq uint64, k int) {
	c.t.Helper()
	waitFor(c.t, func() bool {
		for _, v := range c.viewers {
			v.mu.Lock()
			n := 0
			for s := range v.segments {
				if s > seq {
					n++
				}
			}
			v.mu.Unlock()
			if n < k {
				return false
			}
		}
		return true
	})
}

// waitSteps waits until every viewer has refreshed its playlist k more times.
func (c *chaos) waitSteps(k int) {
	c.t.Helper()
	start := map[*chaosViewer]int{}
	for _, v := range c.viewers {
		v.mu.Lock()
		start[v] = v.steps
		v.mu.Unlock()
	}
	waitFor(c.t, func() bool {
		for _, v := range c.viewers {
			v.mu.Lock()
			n := v.steps
			v.mu.Unlock()
			if n < start[v]+k {
				return false
			}
		}
		return true
	})
}

// waitPushed waits until a viewer holds a segment newer than seq that the
// super-peer pushed to it: P2P works (again). The super-peer pushes each
// segment to some of the swarm, not to everyone.
func (c *chaos) waitPushed(seq uint64) {
	c.t.Helper()
	pushed := map[*chaosViewer]int{}
	for _, v := range c.viewers {
		pushed[v] = v.peer.Stats().Pushed
	}
	waitFor(c.t, func() bool {
		top := c.newest() + 2
		for _, v := range c.viewers {
			if v.peer.Stats().Pushed <= pushed[v] {
				continue
			}
			for s := max(seq+1, top-20); s <= top; s++ {
				if v.peer.Holds(s) {
					return true
				}
			}
		}
		return false
	})
	for _, v := range c.viewers {
		if err := v.peer.Err(); err != nil {
			c.t.Fatalf("%s: protocol error: %v", v.name, err)
		}
	}
}

func (c *chaos) checkNoStalls() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.bad {
		c.t.Errorf("stall where HTTP could serve: %s", b)
	}
	if len(c.lost) > 0 {
		c.t.Logf("%d answers the node could not give (it never held the object), e.g. %s", len(c.lost), c.lost[0])
	}
}

func (c *chaos) metric(name string) float64 {
	c.t.Helper()
	_, body := httpGet(c.t, "http://"+c.node.AdminAddr()+"/metrics")
	return sumMetric(c.t, body, name)
}

// sumMetric adds the samples of a metric over all its label sets.
func sumMetric(tb testing.TB, text []byte, name string) float64 {
	tb.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{[^}]*\})? (\S+)$`)
	var sum float64
	for _, m := range re.FindAllSubmatch(text, -1) {
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		sum += v
	}
	return sum
}

func (c *chaos) joinAll(ctx context.Context, n int) {
	c.t.Helper()
	for i := range n {
		v := c.join(ctx, fmt.Sprintf("viewer%d", i))
		if _, err := v.peer.WaitReady(ctx, ""); err != nil {
			c.t.Fatalf("%s connecting to the super-peer: %v", v.name, err)
		}
	}
}

func TestChaosOriginDownAndBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o := newChaosOrigin(t, 32<<10)
	c := newChaos(t, o, chaosConfig(o))
	c.joinAll(ctx, 3)
	c.play()
	c.waitPlayed(0, 3)
	c.waitPushed(0)

	errs0 := c.metric("edgeswarm_origin_errors_total")
	o.down()
	at := c.newest()
	// The players go on refreshing through the outage: the node answers
	// the playlist from its stale copy and every segment it holds.
	c.waitSteps(8)
	if c.metric("edgeswarm_origin_errors_total") <= errs0 {
		t.Fatal("the node did not count a single failed origin request while the origin was down")
	}
	o.up(t)
	c.waitPlayed(at, 3)
	c.waitPushed(at)
	c.checkNoStalls()
}

func TestChaosOriginSlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o := newChaosOrigin(t, 32<<10)
	c := newChaos(t, o, chaosConfig(o))
	c.joinAll(ctx, 3)
	c.play()
	c.waitPlayed(0, 2)

	// Each segment now takes most of its own duration to come from the
	// origin: three players and the super-peer still share one fill.
	o.slow.Store(int64(400 * time.Millisecond))
	at := c.newest()
	c.waitPlayed(at, 4)
	c.waitPushed(at)
	c.checkNoStalls()
	if p, n := o.maxSegmentRequests(); n > 1 {
		t.Errorf("the origin got %d requests for %s; concurrent viewers must share one fill", n, p)
	}
}

// TestChaosSuperPeerUDPBlackholed drops every datagram to and from the
// super-peer's ICE port inside the test's network namespace.
func TestChaosSuperPeerUDPBlackholed(t *testing.T) {
	netns.RequireLoopbackOnly(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatal("nft is needed to blackhole the super-peer's UDP port (Debian: apt-get install nftables)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	o := newChaosOrigin(t, 32<<10)
	cfg := chaosConfig(o)
	port := freeUDPPort(t)
	cfg.Seeder.ICEUDP = "127.0.0.1:" + strconv.Itoa(port)
	c := newChaos(t, o, cfg)
	c.joinAll(ctx, 2)
	c.play()
	c.waitPlayed(0, 2)
	c.waitPushed(0)

	nft(t, "add table inet edgeswarm_chaos")
	t.Cleanup(func() { _ = exec.Command("nft", "delete table inet edgeswarm_chaos").Run() })
	nft(t, "add chain inet edgeswarm_chaos in { type filter hook input priority 0 ; }")
	nft(t, fmt.Sprintf("add rule inet edgeswarm_chaos in udp dport %d drop", port))
	nft(t, fmt.Sprintf("add rule inet edgeswarm_chaos in udp sport %d drop", port))
	at := c.newest()
	// HTTP plays on; the super-peer finds its connections dead and drops them.
	waitForLong(t, 90*time.Second, func() bool { return c.metric("edgeswarm_seeder_peer_connections") == 0 })
	c.waitPlayed(at, 3)

	nft(t, "delete table inet edgeswarm_chaos")
	// A viewer that rejoins the swarm, as the browser script does when its
	// connection to the super-peer failed, gets pushes again.
	at = c.newest()
	c.pause()
	for _, v := range c.viewers {
		_ = v.peer.Close()
		v.mu.Lock()
		base, media := v.base, v.media
		v.mu.Unlock()
		r, _ := httpGet(t, base+media)
		v.peer, v.conn = c.joinSwarm(ctx, r.Header)
		if _, err := v.peer.WaitReady(ctx, ""); err != nil {
			t.Fatalf("%s reconnecting to the super-peer: %v", v.name, err)
		}
	}
	c.play()
	c.waitPushed(at)
	c.checkNoStalls()
}

func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func nft(tb testing.TB, rule string) {
	tb.Helper()
	if out, err := exec.Command("nft", strings.Fields(rule)...).CombinedOutput(); err != nil {
		tb.Fatalf("nft %s: %v\n%s", rule, err, out)
	}
}

func waitForLong(tb testing.TB, bound time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("condition not reached within %v", bound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestChaosNodeRestart stops the node as SIGTERM does while viewers play:
// the viewers are told to come back (going_away with retry_ms), the node
// stops within its shutdown timeout, and a node started on the same
// address takes them back: HTTP and pushes again.
func TestChaosNodeRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o := newChaosOrigin(t, 32<<10)
	cfg := chaosConfig(o)
	c := newChaos(t, o, cfg)
	c.joinAll(ctx, 2)
	c.play()
	c.waitPlayed(0, 2)
	c.waitPushed(0)

	c.pause()
	addr := c.node.Addr()
	if err := c.stopNode(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, v := range c.viewers {
		var away *wire.Error
		for _, e := range v.conn.errors() {
			if e.Code == wire.CodeGoingAway {
				away = e
			}
		}
		if away == nil || away.RetryMs <= 0 {
			t.Fatalf("%s was not told to reconnect: signaling errors %v", v.name, v.conn.errors())
		}
		_ = v.peer.Close()
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("the stopped node still accepts connections")
	}

	cfg.Listen = addr
	c.start(cfg)
	at := c.newest()
	for _, v := range c.viewers {
		r, _ := httpGet(t, v.base+v.media)
		v.peer, v.conn = c.joinSwarm(ctx, r.Header)
		if _, err := v.peer.WaitReady(ctx, ""); err != nil {
			t.Fatalf("%s rejoining after the restart: %v", v.name, err)
		}
	}
	c.play()
	c.waitPlayed(at, 3)
	c.waitPushed(at)
	c.checkNoStalls()
}

// TestShutdownDrainIsBounded: a response that never ends does not hold the
// node past shutdown_timeout, and the error says so.
func TestShutdownDrainIsBounded(t *testing.T) {
	release := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "6")
		_, _ = w.Write([]byte("abc"))
		w.(http.Flusher).Flush()
		<-release
	})
	closeOnCleanup(t, release)
	cfg := testConfig(o.URL)
	cfg.ShutdownTimeout = 500 * time.Millisecond
	n, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	resp, err := http.Get("http://" + n.Addr() + "/stuck/1.ts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "shutdown_timeout") {
			t.Fatalf("Run = %v; want an error naming shutdown_timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run still draining 30 s after a 500 ms shutdown_timeout")
	}
}

// TestChaosMemoryAtTheCacheLimit plays with a cache smaller than the live
// window: everything is still served whole, fills that do not fit stream
// through, and what the cache holds stays within cache_size.
func TestChaosMemoryAtTheCacheLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o := newChaosOrigin(t, 160<<10)
	cfg := chaosConfig(o)
	cfg.CacheSize = 1 << 20 // the live window alone is 1.6 MiB
	c := newChaos(t, o, cfg)
	c.joinAll(ctx, 3)
	c.play()
	// Thirty refreshes bring about fifteen segments: 2.4 MiB through 1 MiB.
	for range 30 {
		c.waitSteps(1)
		_, body := httpGet(t, "http://"+c.node.AdminAddr()+"/metrics")
		if held := sumMetric(t, body, "edgeswarm_cache_bytes"); held > float64(cfg.CacheSize) {
			t.Fatalf("the cache holds %.0f bytes, over cache_size %d", held, int64(cfg.CacheSize))
		}
	}
	c.waitPlayed(0, 4)
	c.waitPushed(0)
	c.checkNoStalls()
	if c.metric("edgeswarm_cache_fills_uncached_total") == 0 {
		t.Error("no fill streamed through although the live window is larger than the cache")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lost) > 0 {
		t.Errorf("with the origin up every answer must succeed; %d failed, e.g. %s", len(c.lost), c.lost[0])
	}
}
