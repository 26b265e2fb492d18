//go:build !linux

package main

import "time"

// groupCPU needs Linux's /proc; elsewhere the CPU column stays empty.
func groupCPU(pgid int) (time.Duration, bool) { return 0, false }

// hostBusy needs Linux's /proc; elsewhere the other-load column stays empty.
func hostBusy() (time.Duration, bool) { return 0, false }
