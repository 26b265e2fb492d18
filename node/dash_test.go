package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/origin"
	"github.com/edgeswarm/edgeswarm/wire"
)

// dashRepresentation fetches the demo's live MPD through the node and
// returns its swarms and, for Representation id, the newest segment's
// number and URL and the init segment's URL.
func dashRepresentation(tb testing.TB, n *Node, id string) (swarms []wire.SwarmTicket, seq uint64, segURL, initURL string) {
	tb.Helper()
	base := "http://" + n.Addr()
	r, body := httpGet(tb, base+"/dash/live.mpd")
	if r.StatusCode != 200 {
		tb.Fatalf("live.mpd: %d", r.StatusCode)
	}
	swarms, err := wire.ParseSwarms(r.Header.Get(wire.SwarmsHeader))
	if err != nil {
		tb.Fatalf("%s: %v", wire.SwarmsHeader, err)
	}
	if r.Header.Get(wire.SwarmHeader) != "" {
		tb.Fatalf("an MPD carries %s %q: it is no swarm itself", wire.SwarmHeader, r.Header.Get(wire.SwarmHeader))
	}
	info, err := origin.ParseMPD("/dash/live.mpd", body, nil, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	for _, rep := range info.Representations {
		if rep.ID == id {
			return swarms, rep.StartNumber + uint64(len(rep.Segments)) - 1, base + rep.Segments[len(rep.Segments)-1], base + rep.Init
		}
	}
	tb.Fatalf("no Representation %q", id)
	return
}

// A DASH Representation is a swarm: the MPD response lists one per
// Representation with a ticket, a viewer joins one with it, gets the
// digests of its segments and of its init segment, the super-peer pushes
// a new segment, and a viewer fetches the init segment from it by key.
func TestDASHRepresentationIsASwarm(t *testing.T) {
	n := swarmNode(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	swarms, _, _, initURL := dashRepresentation(t, n, "low")
	want := map[string]bool{"/dash/live.mpd#low": true, "/dash/live.mpd#mid": true, "/dash/live.mpd#audio": true}
	var low wire.SwarmTicket
	for _, s := range swarms {
		if !want[s.Swarm] || s.Ticket == "" {
			t.Fatalf("swarms header lists %+v; want one per Representation, each with a ticket", swarms)
		}
		delete(want, s.Swarm)
		if s.Swarm == "/dash/live.mpd#low" {
			low = s
		}
	}
	if len(want) != 0 {
		t.Fatalf("swarms missing from the header: %v", want)
	}
	// A ticket is for its swarm only.
	if err := joinErr(ctx, n, "/dash/live.mpd#mid", low.Ticket); err == nil {
		t.Fatal("the low Representation's ticket let a viewer join the mid one")
	}

	p := joinPeer(t, ctx, n, low.Swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: low.Ticket, OnlySeeders: true})
	seederID, err := p.WaitReady(ctx, "")
	if err != nil {
		t.Fatalf("connecting to the super-peer: %v", err)
	}
	var seq uint64
	var httpBody []byte
	for {
		_, s, segURL, _ := dashRepresentation(t, n, "low")
		resp, body := httpGet(t, segURL)
		if resp.StatusCode != 200 {
			t.Fatalf("segment over HTTP: %d", resp.StatusCode)
		}
		wait, cancelWait := context.WithTimeout(ctx, 3*time.Second)
		_, err := p.Segment(wait, s)
		cancelWait()
		if err == nil {
			seq, httpBody = s, body
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no DASH segment pushed: %v", err)
		}
	}
	d, err := p.Digest(ctx, seq)
	sum := sha256.Sum256(httpBody)
	if err != nil || d.SHA256 != hex.EncodeToString(sum[:]) || d.Key != "/dash/live/low/"+strconv.FormatUint(seq, 10)+".m4s" {
		t.Fatalf("digest of segment %d: %+v, %v", seq, d, err)
	}
	pushed, _ := p.Segment(ctx, seq)
	if !bytes.Equal(pushed, httpBody) {
		t.Fatal("the pushed DASH segment differs from HTTP")
	}

	// The init segment: its digest reaches the swarm once it is cached,
	// and peers ask for it by key.
	resp, initBody := httpGet(t, initURL)
	if resp.StatusCode != 200 {
		t.Fatalf("init segment: %d", resp.StatusCode)
	}
	got, err := p.FetchKey(ctx, seederID, "/dash/live/low/init.mp4")
	if err != nil {
		t.Fatalf("init segment from the super-peer: %v", err)
	}
	if !bytes.Equal(got, initBody) {
		t.Fatal("the init segment from the super-peer differs from HTTP")
	}
	if err := p.Err(); err != nil {
		t.Fatalf("protocol error: %v", err)
	}
}

// joinErr tries to join swarm with ticket and returns why it failed.
func joinErr(ctx context.Context, n *Node, swarm, ticket string) error {
	conn, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
	if err != nil {
		return err
	}
	p, err := testpeer.Join(ctx, conn, swarm, testpeer.Options{Ticket: ticket, API: testpeer.LoopbackAPI()})
	if err != nil {
		conn.Close()
		return err
	}
	_ = p.Close()
	return nil
}
