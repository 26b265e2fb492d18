package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"time"
)

// busyPeriod is the duty cycle of the competing process: in each period a
// spinning thread burns its share of CPU time, then sleeps the rest. Short
// enough that the load looks steady to the viewers' event loops, long
// enough that the sleeps are not all timer slack.
const busyPeriod = 20 * time.Millisecond

// runBusy is the hidden "busy" command: a competing process that keeps
// --cores CPUs' worth of threads busy (0.5: half of one core) until it is
// signalled or, with --exit-on-eof, its stdin closes (its parent is gone).
func runBusy(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("busy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cores := fs.Float64("cores", 0.5, "CPU to burn, in cores (0.5: half of one core)")
	eof := fs.Bool("exit-on-eof", false, "exit when stdin reaches its end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := checkBusyCores(*cores); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *eof {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}
	burn(ctx, *cores, threadCPU)
	return nil
}

// checkBusyCores validates a --busy or --cores value.
func checkBusyCores(c float64) error {
	if math.IsNaN(c) || c <= 0 || c > 64 {
		return errors.New("busy cores: want a share of CPU above 0 and at most 64 (0.5: half of one core)")
	}
	return nil
}

// burn spins ceil(cores) threads, each burning cores/threads of a CPU,
// until ctx ends. cpu is the calling thread's CPU time so far: a thread
// keeps to its share of CPU time, not of wall time, so that one the
// scheduler preempted catches up (by at most busyMaxDebt) as a real
// CPU-hungry program would.
func burn(ctx context.Context, cores float64, cpu func() time.Duration) {
	k := int(math.Ceil(cores))
	share := cores / float64(k)
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			spin(ctx, share, cpu)
		})
	}
	wg.Wait()
}

// busyChunk is how long a spinning thread computes between two reads of
// its CPU clock.
const busyChunk = 100 * time.Microsecond

// busyMaxDebt is the most CPU time a spinning thread still owes after
// being preempted; beyond it the debt is forgiven, so that a thread that
// could not run for a while does not then hog a CPU.
const busyMaxDebt = 5 * busyPeriod

// spin burns share (0..1] of one CPU: at the start of each period it
// spins until its CPU time has caught up with share of the wall time
// since it started (or the period is over), then sleeps to the next one.
func spin(ctx context.Context, share float64, cpu func() time.Duration) {
	t := time.NewTimer(0)
	defer t.Stop()
	start, used0 := time.Now(), cpu()
	owed := func() time.Duration {
		return time.Duration(share*float64(time.Since(start))) - (cpu() - used0)
	}
	for next := start; ; {
		if d := owed(); d > busyMaxDebt {
			used0 -= d - busyMaxDebt // forgive what is beyond the bound
		}
		for owed() > 0 && time.Since(next) < busyPeriod {
			// Spin in user space between two reads of the CPU clock
			// (a system call), as a program that computes does.
			for c := time.Now(); time.Since(c) < busyChunk; {
			}
		}
		next = next.Add(busyPeriod)
		if now := time.Now(); next.Before(now) {
			next = now
		}
		t.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// wallCPU is the wall clock, the stand-in where no thread CPU clock is read.
func wallCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }
