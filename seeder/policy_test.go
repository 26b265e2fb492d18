package seeder

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/wire"
)

func TestBaseCopiesGrowWithTheDownloadOnlyShare(t *testing.T) {
	for _, tt := range []struct{ k, viewers, uploaders, want int }{
		{2, 20, 20, 1},  // as pushCount: one per 32
		{2, 64, 64, 2},  // as pushCount
		{8, 64, 32, 4},  // half download-only: each uploader serves two
		{8, 64, 16, 8},  // three quarters: four times the fan-out needed
		{3, 64, 16, 3},  // never past push_k
		{8, 200, 2, 2},  // never more than there are uploaders
		{2, 20, 0, 0},   // nobody passes it on: pushing would only seed one viewer
		{0, 64, 64, 0},  // pushing off
		{2, 20, 10, 1},  // a small swarm stays at one copy
		{4, 100, 50, 4}, // 100*100/(32*50) = 6, capped at push_k
	} {
		if got := baseCopies(tt.k, tt.viewers, tt.uploaders); got != tt.want {
			t.Errorf("baseCopies(k=%d, viewers=%d, uploaders=%d) = %d, want %d", tt.k, tt.viewers, tt.uploaders, got, tt.want)
		}
	}
}

func digestSeq(n uint64) wire.SegmentDigest {
	return wire.SegmentDigest{Key: "/live/" + string(rune('a'+n%26)) + ".ts", Seq: seq(n), Size: 1}
}

// A pushed segment that takes more than half a segment interval to reach
// half the uploaders, or has not reached them when the next one comes,
// adds a copy to the next pushes, up to push_k; one that spreads fast
// takes an added copy back, never below the base.
func TestPushPolicyLearnsFromSpread(t *testing.T) {
	c := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	pp := newPushPolicy(3, c.Now)
	const viewers, uploaders = 20, 10 // base 1
	step := func(n uint64, holdAfter time.Duration, holders int) int {
		copies := pp.newSegment(digestSeq(n), viewers, uploaders)
		c.Advance(holdAfter)
		for range holders {
			pp.held(n)
		}
		c.Advance(2*time.Second - holdAfter)
		return copies
	}
	if got := step(1, 100*time.Millisecond, 5); got != 1 {
		t.Fatalf("first segment: %d copies, want the base 1", got)
	}
	// The interval is 2 s from now on; half the uploaders (5) within
	// 1.5 s is slow.
	if got := step(2, 1500*time.Millisecond, 5); got != 1 {
		t.Fatalf("second segment: %d copies, want 1", got)
	}
	if got := step(3, 100*time.Millisecond, 2); got != 2 { // and this one never reaches half
		t.Fatalf("after a slow spread: %d copies, want 2", got)
	}
	if got := step(4, 1900*time.Millisecond, 5); got != 3 {
		t.Fatalf("after a segment that did not spread before the next: %d copies, want 3", got)
	}
	if got := step(5, 1900*time.Millisecond, 5); got != 3 {
		t.Fatalf("after another slow spread: %d copies, want push_k 3", got)
	}
	if pp.extraCopies() != 3 {
		t.Fatalf("extra copies %d, want 3 (push_k)", pp.extraCopies())
	}
	// Fast spreads (within an eighth of the interval) give them back.
	for n := uint64(6); n < 12; n++ {
		step(n, 100*time.Millisecond, 5)
	}
	if got := pp.newSegment(digestSeq(12), viewers, uploaders); got != 1 {
		t.Fatalf("after fast spreads: %d copies, want the base 1", got)
	}
	// Holders of another segment, or a repeated edge, change nothing.
	pp.held(99)
	if got := pp.newSegment(digestSeq(12), viewers, uploaders); got != 0 {
		t.Fatalf("the live edge again: %d copies, want 0", got)
	}
}

func TestPushPolicyCatchUp(t *testing.T) {
	c := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	pp := newPushPolicy(2, c.Now)
	if _, ok := pp.catchUp(0, 1); ok {
		t.Fatal("catch-up before any live segment")
	}
	// A fill with nobody to push to: one late uploader gets it.
	if n := pp.newSegment(digestSeq(7), 0, 0); n != 0 {
		t.Fatalf("%d copies with no uploader", n)
	}
	c.Advance(200 * time.Millisecond)
	if d, ok := pp.catchUp(0, 4); !ok || *d.Seq != 7 {
		t.Fatalf("young edge nobody holds: catch-up %v %v, want segment 7", d.Seq, ok)
	}
	if _, ok := pp.catchUp(0, 4); ok {
		t.Error("a second catch-up of an edge that already went to the one copy wanted")
	}
	// A swarm that wants two copies and got one at the fill: one
	// catch-up makes up the other, and no more.
	pp.newSegment(digestSeq(8), 64, 64)
	pp.pushed(8, make([]*peer, 1))
	if _, ok := pp.catchUp(1, 64); !ok {
		t.Error("no catch-up while the edge has one of the two copies wanted")
	}
	if _, ok := pp.catchUp(1, 64); ok {
		t.Error("a catch-up past the two copies wanted (a flash crowd would get one each)")
	}
	// Four copies wanted (a quarter of 64 upload), none placed: while
	// half the uploaders connected hold it, they pass it on.
	pp4 := newPushPolicy(4, c.Now)
	pp4.newSegment(digestSeq(9), 64, 16)
	if _, ok := pp4.catchUp(2, 4); ok {
		t.Error("catch-up while half the uploaders hold the edge: they pass it on")
	}
	if _, ok := pp4.catchUp(1, 4); !ok {
		t.Error("no catch-up while one of four uploaders holds an edge that wants four copies")
	}
	c.Advance(1500 * time.Millisecond) // older than half the default 2 s interval
	if _, ok := pp4.catchUp(0, 4); ok {
		t.Error("catch-up of an edge older than half an interval: the next one is near")
	}
	if _, ok := newPushPolicy(0, c.Now).catchUp(0, 1); ok {
		t.Error("catch-up with pushing off")
	}
}

// A viewer that becomes ready just after the live edge arrived, when
// nobody could pass it on, gets it pushed; one that arrives when the
// swarm holds it does not.
func TestSeederCatchUpPushToALateViewer(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 1
	clock := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) // the edge stays young
	e := newEnvClock(t, cfg, false, clock.Now)
	d := e.src.add("/live/ch1/720p/20.ts", seq(20), 40_000)
	e.publish(d) // nobody to push to yet

	late, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	if _, err := late.Segment(e.ctx, 20); err != nil {
		t.Fatalf("the late viewer never got the live edge: %v (%v)", err, late.Err())
	}
	if got := testutil.ToFloat64(e.s.m.catchUps); got != 1 {
		t.Errorf("catchup_pushes_total = %v, want 1", got)
	}
	// The first viewer now holds it and tells the seeder so; a second
	// one arrives while one of the two uploaders holds it.
	e.waitHolds(late.ID(), 20)
	second, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	if got := testutil.ToFloat64(e.s.m.catchUps); got != 1 {
		t.Errorf("catchup_pushes_total = %v after a viewer joined a swarm that holds the edge, want 1", got)
	}
	if second.Holds(20) {
		t.Error("the second viewer got the edge pushed")
	}
}

// waitHolds waits until the seeder's view of viewer id's have-map has seq.
func (e *env) waitHolds(id string, n uint64) {
	e.t.Helper()
	sw := e.swarm()
	for {
		sw.mu.Lock()
		ch, p := sw.viewersHave, sw.peers[id]
		sw.mu.Unlock()
		if p != nil && p.has(n) {
			return
		}
		select {
		case <-ch:
		case <-e.ctx.Done():
			e.t.Fatalf("the seeder never saw viewer %s hold segment %d", id, n)
		}
	}
}

// Viewers that never connect to the super-peer (the tracker counts them)
// make each uploader pass a segment to more viewers: a swarm of 64 with two
// uploaders connected gets a copy pushed to both, where two connected
// viewers alone would get one.
func TestSeederPushesMoreCopiesForDownloadOnlyViewers(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 4
	e := newEnv(t, cfg, false)
	a, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	b, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	e.s.SetViewers(testSwarm, 64) // 62 of them download only, not connected here
	d := e.src.add("/live/ch1/720p/30.ts", seq(30), 20_000)
	e.publish(d)
	for _, v := range []*testpeer.Peer{a, b} {
		if _, err := v.Segment(e.ctx, 30); err != nil {
			t.Fatalf("viewer %s never got the segment pushed: %v (%v)", v.ID(), err, v.Err())
		}
	}
	if got := testutil.ToFloat64(e.s.m.pushes); got != 2 {
		t.Errorf("pushes_total = %v, want 2", got)
	}
}

func TestPolicyPushCount(t *testing.T) {
	for _, tt := range []struct {
		frac          float64
		viewers, want int
	}{
		{0, 50, 0}, {0.1, 0, 0}, {0.01, 3, 1}, {0.1, 20, 2}, {0.25, 10, 3}, {1, 7, 7}, {0.5, 1, 1},
	} {
		if got := policyPushCount(tt.frac, tt.viewers); got != tt.want {
			t.Errorf("policyPushCount(%v, %d) = %d, want %d", tt.frac, tt.viewers, got, tt.want)
		}
	}
}

// With one copy per segment, the super-peer pushes to its viewers in
// turn, so that the first copies leave from every viewer's uplink and not
// always from the same one's.
func TestSeederPushesTakeTurns(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 1
	e := newEnv(t, cfg, false)
	a, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	b, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	got := map[string]int{}
	for n := uint64(50); n < 54; n++ {
		d := e.src.add(fmt.Sprintf("/live/ch1/720p/%d.ts", n), seq(n), 10_000)
		e.publish(d)
		first := make(chan *testpeer.Peer, 2)
		ctx, cancel := context.WithCancel(e.ctx)
		for _, v := range []*testpeer.Peer{a, b} {
			go func() {
				if _, err := v.Segment(ctx, n); err == nil {
					first <- v
				}
			}()
		}
		var to *testpeer.Peer
		select {
		case to = <-first:
		case <-e.ctx.Done():
			t.Fatalf("segment %d was never pushed", n)
		}
		cancel()
		got[to.ID()]++
		e.waitHolds(to.ID(), n) // the seeder sees who holds it before the next
	}
	if got[a.ID()] != 2 || got[b.ID()] != 2 {
		t.Errorf("pushes per viewer %v, want 2 each", got)
	}
}
