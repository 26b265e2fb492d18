//go:build !linux

package main

import "time"

// threadCPU falls back to wall time where the thread's CPU clock is not
// read: the share is then of the wall clock, preemption included.
func threadCPU() time.Duration { return wallCPU() }
