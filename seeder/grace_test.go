package seeder

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
)

// A viewer in its start-up grace gets no push of a new segment: it is
// starting its player over HTTP. The first segment after the grace is
// pushed to it, and the one of the grace never was (pushes go out in
// order on the one channel, so it would have arrived first).
func TestSeederSparesStartingViewers(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 1
	cfg.PushStartGraceMs = 2000
	clock := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnvClock(t, cfg, false, clock.Now)
	v, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})

	e.publish(e.src.add("/live/ch1/720p/30.ts", seq(30), 30_000)) // during the grace
	clock.Advance(2500 * time.Millisecond)
	e.publish(e.src.add("/live/ch1/720p/31.ts", seq(31), 30_000))
	if _, err := v.Segment(e.ctx, 31); err != nil {
		t.Fatalf("the segment after the grace was never pushed: %v (%v)", err, v.Err())
	}
	if v.Holds(30) {
		t.Error("segment 30 was pushed to a viewer in its start-up grace")
	}
	if got := testutil.ToFloat64(e.s.m.pushes); got != 1 {
		t.Errorf("pushes_total = %v, want 1", got)
	}
}

// A viewer whose grace is over when its next have-map arrives, while the
// live edge is young and nobody could take it at the fill, gets it
// pushed then (a catch-up); during the grace its have-maps bring none.
func TestSeederCatchUpWaitsForTheGrace(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 1
	cfg.PushStartGraceMs = 2000
	clock := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnvClock(t, cfg, false, clock.Now)
	v, _ := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	prev := e.src.add("/live/ch1/720p/19.ts", seq(19), 20_000)
	e.tr.publish(testSwarm, prev)
	if _, err := v.Digest(e.ctx, 19); err != nil {
		t.Fatal(err)
	}

	clock.Advance(1500 * time.Millisecond)
	e.publish(e.src.add("/live/ch1/720p/20.ts", seq(20), 20_000)) // in the grace: no push
	if got := testutil.ToFloat64(e.s.m.catchUps); got != 0 {
		t.Fatalf("catchup_pushes_total = %v during the grace, want 0", got)
	}
	clock.Advance(600 * time.Millisecond) // the grace is over; the edge is 0.6 s old
	// The viewer's player got segment 19 over HTTP: its have-map says so.
	if !v.Keep(19, e.src.get(prev.Key)) {
		t.Fatal("the viewer did not keep segment 19")
	}
	if _, err := v.Segment(e.ctx, 20); err != nil {
		t.Fatalf("no catch-up push after the grace: %v (%v)", err, v.Err())
	}
	if got := testutil.ToFloat64(e.s.m.catchUps); got != 1 {
		t.Errorf("catchup_pushes_total = %v, want 1", got)
	}
}

func TestPushStartGraceValidates(t *testing.T) {
	for _, ms := range []int{-1, 60001} {
		cfg := DefaultConfig()
		cfg.PushStartGraceMs = ms
		if err := cfg.Validate(); err == nil {
			t.Errorf("push_start_grace_ms %d accepted", ms)
		}
	}
}
