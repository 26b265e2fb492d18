package seeder

import (
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
)

// lateSwarm plays segments into a push policy: for each, the copies it
// asks for go to the first viewers of ps, early other uploaders announce
// the segment before the first pushed copy does, the rest after.
type lateSwarm struct {
	t      *testing.T
	c      *fakeclock.Clock
	pp     *pushPolicy
	ps     []*peer
	paused int
	next   uint64
}

func newLateSwarm(t *testing.T, k, n int) *lateSwarm {
	c := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ls := &lateSwarm{t: t, c: c, pp: newPushPolicy(k, c.Now), next: 100}
	ls.pp.paused = func() { ls.paused++ }
	for range n {
		ls.ps = append(ls.ps, &peer{})
	}
	return ls
}

// announce is an uploader's have-map holding seq, as heldNow reports it.
func (ls *lateSwarm) announce(seq uint64, p *peer) {
	ls.pp.held(seq)
	ls.pp.announced(seq, p, time.Minute)
}

// segment plays one segment and returns the copies pushed.
func (ls *lateSwarm) segment(early int) int {
	seq := ls.next
	ls.next++
	n := ls.pp.newSegment(digestSeq(seq), len(ls.ps), len(ls.ps))
	targets := ls.ps[:n]
	ls.pp.pushed(seq, targets)
	others := ls.ps[n:]
	for _, p := range others[:min(early, len(others))] {
		ls.announce(seq, p)
	}
	for _, p := range targets {
		ls.announce(seq, p)
	}
	for _, p := range others[min(early, len(others)):] {
		ls.announce(seq, p)
	}
	ls.c.Advance(time.Second)
	return n
}

// Very close to live, viewers fetch the live edge over HTTP as soon as
// it is listed: three or more of them hold it before the pushed copy is
// announced. Two such segments in a row pause pushing for pausePushes
// segments; the probe after the pause lands late again and pauses again
// at once.
func TestPushPolicyPausesWhenPushesLandLate(t *testing.T) {
	ls := newLateSwarm(t, 2, 20)
	if n := ls.segment(5); n != 1 {
		t.Fatalf("first segment: %d copies, want 1", n)
	}
	if n := ls.segment(5); n != 1 {
		t.Fatalf("one late segment pauses nothing yet: %d copies, want 1", n)
	}
	for i := range pausePushes {
		if n := ls.segment(0); n != 0 {
			t.Fatalf("segment %d of the pause: %d copies, want none", i, n)
		}
	}
	if ls.paused != pausePushes {
		t.Errorf("paused segments counted %d, want %d", ls.paused, pausePushes)
	}
	if _, ok := ls.pp.catchUp(0, 20); ok {
		t.Error("a catch-up push during a pause")
	}
	if n := ls.segment(4); n != 1 {
		t.Fatalf("the probe after the pause: %d copies, want 1", n)
	}
	if n := ls.segment(0); n != 0 {
		t.Fatalf("after a late probe: %d copies, want a new pause", n)
	}
}

// Farther from live the pushed copy is the swarm's first (the viewer
// whose request made the node fetch the segment may hold it as early):
// pushing never pauses, and a single late segment between good ones does
// not either.
func TestPushPolicyKeepsPushingWhenPushesLandFirst(t *testing.T) {
	ls := newLateSwarm(t, 2, 20)
	for i := range 20 {
		early := 1
		if i%3 == 0 {
			early = 6
		}
		if n := ls.segment(early); n != 1 {
			t.Fatalf("segment %d: %d copies, want 1", i, n)
		}
	}
	if ls.paused != 0 {
		t.Errorf("%d segments paused, want none", ls.paused)
	}
}

// A pushed copy that never lands (a viewer that stopped reading) says
// nothing of the swarm's latency: it pauses nothing.
func TestPushPolicyCopyThatNeverLandsIsNoSign(t *testing.T) {
	ls := newLateSwarm(t, 1, 20)
	for range 3 {
		seq := ls.next
		ls.next++
		n := ls.pp.newSegment(digestSeq(seq), 20, 20)
		ls.pp.pushed(seq, ls.ps[:n])
		ls.c.Advance(time.Second)
	}
	if n := ls.segment(0); n != 1 {
		t.Errorf("after three pushes that never landed: %d copies, want 1", n)
	}
}

// Viewers that just joined fetch their first segments over HTTP at once,
// the live edge among them: in a flash crowd they announce it before the
// pushed copy lands, and that is no sign of viewers close to live.
func TestPushPolicyIgnoresStartingViewersHoldingEarly(t *testing.T) {
	ls := newLateSwarm(t, 2, 20)
	for i := range 6 {
		seq := ls.next
		ls.next++
		n := ls.pp.newSegment(digestSeq(seq), 20, 20)
		if n != 1 {
			t.Fatalf("segment %d: %d copies, want 1", i, n)
		}
		ls.pp.pushed(seq, ls.ps[:1])
		for _, p := range ls.ps[1:6] { // joined a second ago
			ls.pp.held(seq)
			ls.pp.announced(seq, p, time.Second)
		}
		ls.announce(seq, ls.ps[0])
		for _, p := range ls.ps[6:] {
			ls.announce(seq, p)
		}
		ls.c.Advance(2 * time.Second)
	}
	if ls.paused != 0 {
		t.Errorf("%d segments paused for starting viewers' HTTP fetches", ls.paused)
	}
}

// In a large swarm a few early HTTP holders are the normal start of a
// segment's spread: one in eight uploaders makes a push late.
func TestLateEarlyScalesWithTheSwarm(t *testing.T) {
	for _, tt := range []struct{ uploaders, want int }{{1, 3}, {20, 3}, {24, 3}, {40, 5}, {200, 25}} {
		if got := lateEarlyFor(tt.uploaders); got != tt.want {
			t.Errorf("lateEarlyFor(%d) = %d, want %d", tt.uploaders, got, tt.want)
		}
	}
}
