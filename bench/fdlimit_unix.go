//go:build unix

package main

import "syscall"

// raiseFDLimit raises this process's open file limit to at least want where
// it can (the hard limit too, when the process may), and returns the limit
// now in force. Children inherit it.
func raiseFDLimit(want uint64) (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur >= want {
		return r.Cur, nil
	}
	if r.Max < want {
		// Raising the hard limit needs privilege; without it, go as far
		// as the hard limit.
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}); err == nil {
			return want, nil
		}
	}
	r.Cur = min(want, r.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	return r.Cur, nil
}
