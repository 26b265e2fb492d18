//go:build !linux

package main

import (
	"errors"
	"syscall"
	"time"
)

// errNoDelayLink: the emulated link needs Linux's TUN driver and
// network namespaces.
var errNoDelayLink = errors.New("the seeder benchmark's emulated link needs Linux (TUN devices, network namespaces)")

type delayLink struct{}

func newDelayLink(nameA, addrA, nameB string, rtt time.Duration) (*delayLink, error) {
	return nil, errNoDelayLink
}

func (l *delayLink) moveTo(pid int) error { return errNoDelayLink }
func (l *delayLink) Dropped() int64       { return 0 }
func (l *delayLink) Close() error         { return nil }

func configureFarEnd(name, addr string) error { return errNoDelayLink }

func inNewNetNS(*syscall.SysProcAttr) error { return errNoDelayLink }
