//go:build !linux

package main

import "time"

// groupCPU needs Linux's /proc; elsewhere the CPU column stays empty.
func groupCPU(pgid int) (time.Duration, bool) { return 0, false }

// hostBusy needs Linux's /proc; elsewhere the other-load column stays empty.
func hostBusy() (time.Duration, bool) { return 0, false }

// groupTasks needs Linux's /proc; elsewhere the threads column stays empty.
func groupTasks(pgid int) (procs, threads int, ok bool) { return 0, 0, false }
