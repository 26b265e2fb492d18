package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafov/m3u8"
	"go.uber.org/goleak"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/wire"
)

// Every node test runs inside a network namespace that has only loopback,
// so that no ICE check of the WebRTC tests can leave the machine.
func TestMain(m *testing.M) { os.Exit(netns.Run(m)) }

// swarmNode starts a node with the demo origin and the super-peer on
// loopback, as the WebRTC tests need it.
func swarmNode(tb testing.TB, superPeer bool) *Node {
	tb.Helper()
	netns.RequireLoopbackOnly(tb)
	// Registered first, so it runs last: after the node, its super-peer
	// and every test peer have been closed, nothing of theirs may remain.
	ignore := goleak.IgnoreCurrent()
	tb.Cleanup(func() {
		// fasthttp's date updater runs for the process; its worker-pool
		// and idle-connection cleaners sleep out their period (10 s, 30 s)
		// after a shutdown, then exit.
		if err := goleak.Find(ignore,
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		); err != nil {
			tb.Errorf("goroutines left after closing: %v", err)
		}
	})
	cfg := testConfig("")
	cfg.SuperPeer = superPeer
	cfg.Seeder.Loopback = true
	return startNode(tb, cfg, nil)
}

// livePlaylist fetches the demo's low rendition and returns the newest
// segment's media sequence and URL, with the swarm headers.
func liveRendition(tb testing.TB, n *Node) (seq uint64, segURL, swarm, ticket string) {
	tb.Helper()
	base := "http://" + n.Addr() + "/live/low/"
	r, body := httpGet(tb, base+"index.m3u8")
	p, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MEDIA {
		tb.Fatalf("media playlist: %v", err)
	}
	media := p.(*m3u8.MediaPlaylist)
	last := media.Segments[media.Count()-1]
	return media.SeqNo + uint64(media.Count()-1), base + last.URI, r.Header.Get(wire.SwarmHeader), r.Header.Get(wire.TicketHeader)
}

func joinPeer(tb testing.TB, ctx context.Context, n *Node, swarm string, opt testpeer.Options) *testpeer.Peer {
	tb.Helper()
	conn, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
	if err != nil {
		tb.Fatal(err)
	}
	if opt.API == nil {
		opt.API = testpeer.LoopbackAPI()
	}
	p, err := testpeer.Join(ctx, conn, swarm, opt)
	if err != nil {
		conn.Close()
		tb.Fatalf("join: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// pushedSegment has a player fetch the newest live segment over HTTP until
// the super-peer has pushed one of them to p, and returns it with the
// bytes HTTP served. A segment the node filled while p was still
// connecting (its live-edge fetch may get there first) is not pushed to
// p, so it moves on to the next one.
func pushedSegment(tb testing.TB, ctx context.Context, n *Node, p *testpeer.Peer) (uint64, []byte) {
	tb.Helper()
	for {
		seq, segURL, _, _ := liveRendition(tb, n)
		resp, body := httpGet(tb, segURL)
		if resp.StatusCode != 200 {
			tb.Fatalf("segment over HTTP: %d", resp.StatusCode)
		}
		wait, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := p.Segment(wait, seq)
		cancel()
		if err == nil {
			return seq, body
		}
		if ctx.Err() != nil {
			tb.Fatalf("no segment pushed to %s: %v", p.ID(), err)
		}
	}
}

func TestSuperPeerPushesAndServesVerifiedSegments(t *testing.T) {
	n := swarmNode(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	_, _, swarm, ticket := liveRendition(t, n)
	if swarm != "/live/low/index.m3u8" || ticket == "" {
		t.Fatalf("playlist headers: swarm %q ticket %q; want the playlist's key and a ticket", swarm, ticket)
	}
	pusher := joinPeer(t, ctx, n, swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: ticket, OnlySeeders: true})
	asker := joinPeer(t, ctx, n, swarm, testpeer.Options{Ticket: ticket, OnlySeeders: true})
	if _, err := pusher.WaitReady(ctx, ""); err != nil {
		t.Fatalf("connecting to the super-peer: %v", err)
	}
	seederID, err := asker.WaitReady(ctx, "")
	if err != nil {
		t.Fatalf("connecting to the super-peer: %v", err)
	}

	// A player fetches the newest segment over HTTP: it enters the cache,
	// its digest goes to the swarm, and the super-peer pushes it.
	seq, httpBody := pushedSegment(t, ctx, n, pusher)
	d, err := pusher.Digest(ctx, seq)
	if err != nil {
		t.Fatalf("digest of segment %d never arrived: %v", seq, err)
	}
	sum := sha256.Sum256(httpBody)
	if d.SHA256 != hex.EncodeToString(sum[:]) || d.Size != uint64(len(httpBody)) {
		t.Fatalf("published digest %+v does not match the bytes served over HTTP", d)
	}
	pushed, err := pusher.Segment(ctx, seq)
	if err != nil {
		t.Fatalf("segment %d never pushed: %v", seq, err)
	}
	if !bytes.Equal(pushed, httpBody) || pusher.Stats().Pushed < 1 {
		t.Fatalf("pushed segment differs from HTTP, or not counted as pushed: %+v", pusher.Stats())
	}

	// A viewer that takes no pushes requests it from the super-peer.
	got, err := asker.Fetch(ctx, seederID, seq)
	if err != nil {
		t.Fatalf("request from the super-peer: %v", err)
	}
	if !bytes.Equal(got, httpBody) {
		t.Fatal("requested segment differs from HTTP")
	}
	if st := asker.Stats(); st.SeedBytes != int64(len(httpBody)) || st.P2PBytes != 0 {
		t.Fatalf("bytes from the super-peer must count as seed: %+v", st)
	}
	for _, p := range []*testpeer.Peer{pusher, asker} {
		if err := p.Err(); err != nil {
			t.Fatalf("protocol error: %v", err)
		}
	}
	_, metrics := httpGet(t, "http://"+n.AdminAddr()+"/metrics")
	// The node's live-edge fetches may push more segments than this one.
	m := regexp.MustCompile(`(?m)^edgeswarm_seeder_pushes_total (\d+)$`).FindSubmatch(metrics)
	if pushes, _ := strconv.Atoi(string(m[min(len(m)-1, 1)])); len(m) < 2 || pushes < 1 {
		t.Fatalf("push not counted in metrics")
	}
}

func TestTwoViewersExchangeASegment(t *testing.T) {
	n := swarmNode(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, _, swarm, ticket := liveRendition(t, n)

	holder := joinPeer(t, ctx, n, swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: ticket})
	if _, err := holder.WaitReady(ctx, ""); err != nil {
		t.Fatal(err)
	}
	seq, httpBody := pushedSegment(t, ctx, n, holder)

	// The second viewer is offered the holder by the tracker, connects to
	// it through relayed offer/answer/candidates, and fetches from it.
	other := joinPeer(t, ctx, n, swarm, testpeer.Options{Ticket: ticket})
	if _, err := other.WaitReady(ctx, holder.ID()); err != nil {
		t.Fatalf("viewer-to-viewer connection: %v (holder: %v, other: %v)", err, holder.Err(), other.Err())
	}
	got, err := other.Fetch(ctx, holder.ID(), seq)
	if err != nil {
		t.Fatalf("fetch from the other viewer: %v", err)
	}
	if !bytes.Equal(got, httpBody) {
		t.Fatal("segment from the other viewer differs from HTTP")
	}
	if st := other.Stats(); st.P2PBytes != int64(len(httpBody)) || st.SeedBytes != 0 {
		t.Fatalf("bytes from a viewer must count as p2p: %+v", st)
	}
	if st := holder.Stats(); st.UploadBytes != int64(len(httpBody)) {
		t.Fatalf("holder upload = %d, want %d", st.UploadBytes, len(httpBody))
	}
}

func TestJoinNeedsTheTicketFromThePlaylist(t *testing.T) {
	n := swarmNode(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, swarm, ticket := liveRendition(t, n)
	for _, bad := range []string{"", "v1.1.AAAA", ticket + "x"} {
		conn, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
		if err != nil {
			t.Fatal(err)
		}
		_, err = testpeer.Join(ctx, conn, swarm, testpeer.Options{Ticket: bad, API: testpeer.LoopbackAPI()})
		conn.Close()
		if err == nil || !strings.Contains(err.Error(), string(wire.CodeTicketInvalid)) {
			t.Fatalf("join with ticket %q: %v; want %s", bad, err, wire.CodeTicketInvalid)
		}
	}
	// The ticket of one swarm does not open another.
	_, body := httpGet(t, "http://"+n.Addr()+"/live/master.m3u8")
	if !strings.Contains(string(body), "mid/index.m3u8") {
		t.Fatalf("master playlist lacks the mid rendition:\n%s", body)
	}
	conn, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = testpeer.Join(ctx, conn, "/live/mid/index.m3u8", testpeer.Options{Ticket: ticket, API: testpeer.LoopbackAPI()})
	conn.Close()
	if err == nil {
		t.Fatal("a ticket for the low rendition opened the mid one")
	}
	p := joinPeer(t, ctx, n, swarm, testpeer.Options{Ticket: ticket})
	if p.ID() == "" {
		t.Fatal("no peer id")
	}

}

// The node fetches the newest segments of a live playlist as soon as a
// refresh lists them while viewers are in the swarm, and the super-peer
// pushes them: the swarm holds a new segment before any player asks.
func TestLiveEdgeIsFetchedAndPushedBeforeAnyPlayerAsks(t *testing.T) {
	n := swarmNode(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	_, _, swarm, ticket := liveRendition(t, n)
	pusher := joinPeer(t, ctx, n, swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: ticket, OnlySeeders: true})
	if _, err := pusher.WaitReady(ctx, ""); err != nil {
		t.Fatalf("connecting to the super-peer: %v", err)
	}
	// Only playlists are fetched here, as a player polls them; the demo
	// origin adds a segment every 2 s. The segment after the newest one
	// now can reach the swarm only through the node's own fetch.
	seq, segURL, _, _ := liveRendition(t, n)
	seq++
	segURL = strings.Replace(segURL, fmt.Sprint(seq-1), fmt.Sprint(seq), 1)
	poll, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go func() {
		for poll.Err() == nil {
			if r, err := http.Get("http://" + n.Addr() + "/live/low/index.m3u8"); err == nil {
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			select {
			case <-poll.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	pushed, err := pusher.Segment(ctx, seq)
	if err != nil {
		t.Fatalf("the newest segment %d was never pushed: %v", seq, err)
	}
	resp, body := httpGet(t, segURL)
	if resp.StatusCode != 200 || !bytes.Equal(pushed, body) {
		t.Fatalf("segment over HTTP: status %d, equal to the pushed bytes: %v", resp.StatusCode, bytes.Equal(pushed, body))
	}
	if cs := resp.Header.Get("Cache-Status"); cs != "edgeswarm; hit" {
		t.Fatalf("a player asking after the push gets Cache-Status %q; want a hit (the node fetched it first)", cs)
	}
}

// An origin that sends Cache-Control: no-cache on playlists and segments
// (a live packager's habit) still gets P2P: the node stores and
// revalidates both, publishes every segment's digest in its swarm and
// pushes it, and serves later viewers from the cache after a 304.
func TestNoCacheOriginStillFeedsTheSwarm(t *testing.T) {
	netns.RequireLoopbackOnly(t)
	cfg := testConfig("")
	cfg.SuperPeer = true
	cfg.Seeder.Loopback = true
	cfg.Demo.CacheControl = "no-cache"
	n := startNode(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	_, _, swarm, ticket := liveRendition(t, n)
	r, _ := httpGet(t, "http://"+n.Addr()+"/live/low/index.m3u8")
	if cs := r.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=stale") || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("no-cache playlist again: Cache-Status %q, Cache-Control %q; want a revalidation and the origin's header", cs, r.Header.Get("Cache-Control"))
	}
	pusher := joinPeer(t, ctx, n, swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: ticket, OnlySeeders: true})
	if _, err := pusher.WaitReady(ctx, ""); err != nil {
		t.Fatalf("connecting to the super-peer: %v", err)
	}
	seq, httpBody := pushedSegment(t, ctx, n, pusher)
	d, err := pusher.Digest(ctx, seq)
	sum := sha256.Sum256(httpBody)
	if err != nil || d.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("digest of no-cache segment %d: %+v %v", seq, d, err)
	}
	_, segURL, _, _ := liveRendition(t, n)
	httpGet(t, segURL)
	r, body := httpGet(t, segURL)
	if cs := r.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd-status=304") && !strings.Contains(cs, "collapsed") || len(body) == 0 {
		t.Fatalf("no-cache segment again: Cache-Status %q, %d bytes; want it served from the cache after a 304", cs, len(body))
	}
}
