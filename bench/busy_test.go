package main

import (
	"context"
	"io"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The competing process burns CPU, never more than its share, and stops
// when told to.
func TestBurnKeepsToItsShare(t *testing.T) {
	const cores, run = 0.3, 600 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	c0, t0 := processCPU(t), time.Now()
	burn(ctx, cores, threadCPU)
	wall, used := time.Since(t0), processCPU(t)-c0
	if wall > run+time.Second {
		t.Errorf("burn returned %v after its context ended", wall-run)
	}
	// Its share per period, plus one period and the test's own overhead.
	if limit := time.Duration(cores*float64(wall)) + busyPeriod + 50*time.Millisecond; used > limit {
		t.Errorf("burned %v of CPU in %v at %g cores, want at most %v", used, wall, cores, limit)
	}
	if used < busyPeriod/4 {
		t.Errorf("burned only %v of CPU in %v at %g cores", used, wall, cores)
	}
}

func TestBusyFlags(t *testing.T) {
	for _, args := range [][]string{{"--cores", "0"}, {"--cores", "-1"}, {"--cores", "65"}, {"--cores", "NaN"}, {"extra"}} {
		if err := runBusy(context.Background(), args, nil, io.Discard); err == nil {
			t.Errorf("busy %q: no error", args)
		}
	}
}
