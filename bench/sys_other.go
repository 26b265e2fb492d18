//go:build !linux

package main

import "syscall"

// procAttr puts a child in its own process group where the platform has
// them; the benchmarks are meant for Linux.
func procAttr() *syscall.SysProcAttr { return newGroupAttr() }
