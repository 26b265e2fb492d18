package main

import (
	"os"
	"syscall"
)

func newGroupAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills the process itself: Windows has neither process groups
// in this sense nor SIGTERM.
func signalGroup(pid int, _ syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
