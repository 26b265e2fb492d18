package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/testpeer"
)

// The swarm-go viewer's delivery rule, after the browser client's
// scheduler (client/src/core/scheduler.ts) with its defaults: a segment
// comes over HTTP once it is critical, that is when the time until the
// player needs it is at most twice the measured HTTP fetch time plus
// 500 ms (the node's critical_ms, 8 s, until a fetch was measured); before
// that it is taken from a viewer whose have-map holds it, or waited for
// (a push, or a viewer that gets it) while it has a second to spare
// beyond that threshold, at most 6 s; a segment nobody fetched yet goes to
// HTTP after a random share of 3 s (the client's election). The super-peer
// is never asked: it pushes. What a viewer fetched over HTTP it serves to
// others, as the browser client does.
const (
	modelMargin   = 2
	modelPad      = 500 * time.Millisecond
	modelCritical = 8 * time.Second // wire.DefaultClientConfig's critical_ms
	modelReserve  = time.Second
	modelMaxWait  = 6 * time.Second
	modelElection = 3 * time.Second
)

// modelCriticalFor is the HTTP window of a viewer whose smoothed HTTP fetch time
// is est (0: none measured yet).
func modelCriticalFor(est time.Duration) time.Duration {
	safe := modelMargin*est + modelPad
	if est == 0 {
		return max(modelCritical, safe)
	}
	return safe
}

// clientSegment gets segment seq by the client's rule and adds it to the
// player.
func (s *soak) clientSegment(ctx context.Context, c *http.Client, peer *testpeer.Peer, vp *vplayer, r *soakViewerResult, url string, seq uint64, dur time.Duration) error {
	if peer != nil && s.fromSwarm(ctx, peer, vp, seq) {
		vp.add(time.Now(), dur)
		r.Segments++
		return nil
	}
	t0 := time.Now()
	body, err := s.getBody(ctx, c, url)
	if err != nil {
		return err
	}
	vp.sawHTTP(time.Since(t0))
	r.HTTP += int64(len(body))
	if peer != nil {
		peer.Keep(seq, body)
	}
	vp.add(time.Now(), dur)
	r.Segments++
	return nil
}

// peerBeforeSlowNode is swarm-go's addition to the client's rule
// (--slow-node-peers): a segment that is critical already, and that the
// swarm holds (a viewer, or the super-peer, which pushes), is waited for
// from the swarm as long as the last HTTP fetches took (at least
// minPeerWait, at most maxPeerWait): a push, or a viewer that holds it
// (fromPeer), then HTTP. Behind an overloaded node HTTP is the slow path:
// its fetches take seconds, so every segment is critical at once (twice
// the HTTP time plus 500 ms is more than the buffer) and the client's rule
// alone never asks a peer, however many hold the segment. The wait is what
// HTTP itself would take, so the player loses little when the swarm is no
// faster.
func peerBeforeSlowNode(ctx context.Context, peer *testpeer.Peer, vp *vplayer, seq uint64) bool {
	if !vp.started || vp.httpTook == 0 || len(peer.Holders(seq)) == 0 {
		return false
	}
	return fromPeer(ctx, peer, seq, min(max(vp.httpTook, minPeerWait), maxPeerWait))
}

// fromSwarm tries to get seq from the swarm before it turns critical, as
// the client's fromSwarm: it holds it already (a push), or asks a viewer
// whose have-map holds it, or waits for one while it has time to spare
// (at most modelMaxWait); while nobody fetched the segment yet (its digest
// is unknown), it goes to HTTP after a random share of modelElection, so
// that one viewer fetches it first and the others take it from that one.
// It reports whether the peer holds seq.
func (s *soak) fromSwarm(ctx context.Context, peer *testpeer.Peer, vp *vplayer, seq uint64) bool {
	if peer.Holds(seq) {
		return true
	}
	start := time.Now()
	room := vp.ahead(start) - modelCriticalFor(vp.httpTook)
	if room <= 0 {
		return s.slowPeers && peerBeforeSlowNode(ctx, peer, vp, seq)
	}
	spare := max(0, room-modelReserve)
	giveUp := start.Add(min(spare, modelMaxWait))
	electAt := start.Add(time.Duration(rand.Float64() * float64(min(spare, modelElection))))
	critical := start.Add(room)
	for ctx.Err() == nil {
		if peer.Holds(seq) {
			return true
		}
		for _, id := range peer.Holders(seq) {
			if peer.IsSeeder(id) {
				continue
			}
			// One transfer, until the segment turns critical; when it
			// fails, HTTP.
			fctx, cancel := context.WithDeadline(ctx, critical)
			_, err := peer.Fetch(fctx, id, seq)
			cancel()
			return err == nil || peer.Holds(seq)
		}
		now := time.Now()
		if !now.Before(giveUp) || (!peer.KnowsDigest(seq) && !now.Before(electAt)) {
			return false
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(50*time.Millisecond, giveUp.Sub(now))):
		}
	}
	return false
}
