//go:build unix && !linux

package main

import "syscall"

func newGroupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
