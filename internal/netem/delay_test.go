package netem

import (
	"testing"
	"time"
)

// TestScheduler: packets leave after the delay within the jitter, in the
// order they came, and the loss is the configured share, reproducibly
// for one seed.
func TestScheduler(t *testing.T) {
	s := shape{delay: 40 * time.Millisecond, jitter: 15 * time.Millisecond, loss: 0.1}
	run := func(seed int64) (lost int, departures []time.Time) {
		sc := newScheduler(s, seed)
		t0 := time.Unix(0, 0)
		for i := 0; i < 10000; i++ {
			now := t0.Add(time.Duration(i) * 100 * time.Microsecond)
			at, ok := sc.next(now)
			if !ok {
				lost++
				continue
			}
			if d := at.Sub(now); d < s.delay-s.jitter {
				t.Fatalf("packet %d left after %v, before the delay less the jitter", i, d)
			}
			if n := len(departures); n > 0 && at.Before(departures[n-1]) {
				t.Fatalf("packet %d overtook the one ahead of it", i)
			}
			if d := at.Sub(now); d > s.delay+s.jitter && (len(departures) == 0 || !at.Equal(departures[len(departures)-1])) {
				t.Fatalf("packet %d left after %v, later than the delay plus the jitter without waiting for another", i, d)
			}
			departures = append(departures, at)
		}
		return lost, departures
	}
	lost, a := run(3)
	if lost < 800 || lost > 1200 {
		t.Errorf("%d of 10000 lost at loss 0.1", lost)
	}
	lost2, b := run(3)
	if lost2 != lost || len(a) != len(b) || !a[len(a)-1].Equal(b[len(b)-1]) {
		t.Error("the same seed gave another run")
	}
	if none := newScheduler(shape{}, 1); true {
		now := time.Unix(5, 0)
		if at, ok := none.next(now); !ok || !at.Equal(now) {
			t.Errorf("an unshaped link delayed or dropped a packet: %v %v", at, ok)
		}
	}
}
