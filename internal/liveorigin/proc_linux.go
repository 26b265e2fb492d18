package liveorigin

import "syscall"

// procAttr has the kernel kill ffmpeg if its parent dies without Close.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
