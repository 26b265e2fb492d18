package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// wireNice is the niceness swarm-go gives its own process, which carries
// the emulated internet's packets (netem's delay lines) and runs its
// origin. On a host shared with other work the wire must not queue behind
// it: at load 50 on two cores every thread of normal priority gets about
// 4 % of a core, and a delay line that needs a fifth of one (200 viewers'
// packets) delayed each packet by seconds, so that joins took 5 s and
// every stall measured the host. The node and the viewers, which are what
// is measured, run at the caller's niceness (niceArgs).
const wireNice = -10

// raiseWire sets every thread of this process to wireNice (Linux's nice is
// per thread; threads created later inherit it) and returns how much to
// add to it for the children that must run at the caller's niceness. It
// returns 0 and an error when it cannot (not root).
func raiseWire() (int, error) {
	was, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		return 0, err
	}
	was = 20 - was // the system call returns 20 - nice
	if was <= wireNice {
		return 0, nil
	}
	// Twice: a thread started while the first pass ran is set by the second.
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return 0, err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.Setpriority(unix.PRIO_PROCESS, tid, wireNice); err != nil && err != unix.ESRCH {
				return 0, fmt.Errorf("raising the emulated wire's priority: %w", err)
			}
		}
	}
	return was - wireNice, nil
}
