//go:build !linux

package liveorigin

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
