package main

import "syscall"

// procAttr puts a child in its own process group (so the terminal's Ctrl-C
// reaches only the bench, which then stops the group in order) and has the
// kernel kill it if the bench itself dies without cleaning up.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
