//go:build unix

package signal

import "syscall"

// fdLimit is the soft limit on open files (RLIMIT_NOFILE), or a large
// number where it cannot be read.
func fdLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 1 << 30
	}
	return r.Cur
}
