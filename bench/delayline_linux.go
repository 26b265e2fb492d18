//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The seeder benchmark needs a round-trip time between the node and its
// viewers. Where the kernel has no netem qdisc (some VM kernels ship
// without it), the bench carries the packets itself: a point-to-point
// link made of two TUN devices, one in the node's network namespace and
// one moved into the viewers', with this process forwarding every IP
// packet from one to the other after a fixed delay. Both ends keep their
// kernel's own UDP and TCP stacks; only the wire is emulated, and its CPU
// is this process's, not the node's.

// delayQueue bounds the packets in flight on one direction of the link
// (a router's buffer): 32768 packets of up to 1500 bytes cover 1 Gbit/s
// at 200 ms one way. A full queue drops, as a router does.
const delayQueue = 32768

// delayLink is the emulated link. Its zero value is not usable; see
// newDelayLink.
type delayLink struct {
	a, b    *os.File // the TUN devices: a stays here, b moves to the peer namespace
	nameA   string
	nameB   string
	oneWay  atomic.Int64 // nanoseconds added in each direction
	dropped atomic.Int64
	wg      sync.WaitGroup
	close   sync.Once
}

// newDelayLink creates TUN devices nameA (addrA, here, up) and nameB (not
// yet configured), and forwards packets between them with half of rtt
// added each way. Move nameB into the peer namespace with moveTo.
func newDelayLink(nameA, addrA, nameB string, rtt time.Duration) (*delayLink, error) {
	if lookPath("ip") == "" {
		return nil, errors.New("ip is missing (Debian: iproute2): the bench configures its emulated link with it")
	}
	a, err := openTUN(nameA)
	if err != nil {
		return nil, err
	}
	b, err := openTUN(nameB)
	if err != nil {
		a.Close()
		return nil, err
	}
	l := &delayLink{a: a, b: b, nameA: nameA, nameB: nameB}
	l.oneWay.Store(int64(rtt / 2))
	if err := ipCmd("link", "set", nameA, "mtu", fmt.Sprint(delayLinkMTU)); err != nil {
		l.Close()
		return nil, err
	}
	if err := ipCmd("addr", "add", addrA, "dev", nameA); err != nil {
		l.Close()
		return nil, err
	}
	if err := ipCmd("link", "set", nameA, "up"); err != nil {
		l.Close()
		return nil, err
	}
	l.wg.Add(2)
	go l.forward(a, b)
	go l.forward(b, a)
	return l, nil
}

// moveTo moves the far device into the network namespace of process pid.
func (l *delayLink) moveTo(pid int) error {
	return ipCmd("link", "set", l.nameB, "netns", fmt.Sprint(pid))
}

// Dropped is the number of packets dropped for a full queue, here or in
// the kernel's queue of the near device (its tx_dropped and rx_dropped:
// packets the bench did not read in time, or could not hand in).
func (l *delayLink) Dropped() int64 {
	n := l.dropped.Load()
	for _, f := range []string{"tx_dropped", "rx_dropped"} {
		b, err := os.ReadFile("/sys/class/net/" + l.nameA + "/statistics/" + f)
		if err == nil {
			v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			n += v
		}
	}
	return n
}

// Close removes both devices and stops forwarding.
func (l *delayLink) Close() error {
	l.close.Do(func() {
		l.a.Close()
		l.b.Close()
		l.wg.Wait()
	})
	return nil
}

// packet is one IP packet on its way and when it is due.
type packet struct {
	due time.Time
	n   int
	buf *[delayLinkMTU + 64]byte
}

// forward reads packets from src and writes each to dst once its delay
// has passed, in order (the delay is the same for every packet).
func (l *delayLink) forward(src, dst *os.File) {
	defer l.wg.Done()
	pool := sync.Pool{New: func() any { return new([delayLinkMTU + 64]byte) }}
	q := make(chan packet, delayQueue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		for p := range q {
			if d := time.Until(p.due); d > 0 {
				t.Reset(d)
				<-t.C
			}
			_, _ = dst.Write(p.buf[:p.n]) // a closed device ends the reader too
			pool.Put(p.buf)
		}
	}()
	for {
		buf := pool.Get().(*[delayLinkMTU + 64]byte)
		n, err := src.Read(buf[:])
		if err != nil {
			break
		}
		select {
		case q <- packet{due: time.Now().Add(time.Duration(l.oneWay.Load())), n: n, buf: buf}:
		default:
			l.dropped.Add(1)
			pool.Put(buf)
		}
	}
	close(q)
	<-done
}

// openTUN creates the TUN device name (IP packets, no packet information
// header) and returns it, read and written through the runtime's poller.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("opening /dev/net/tun (the kernel's TUN driver; the bench emulates RTT with it): %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("creating TUN device %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// ipCmd runs ip(8) with args.
func ipCmd(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, lookPath("ip"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// configureFarEnd brings up the far device, moved into this process's
// network namespace, with addr, and loopback beside it (the viewers'
// side of the link).
func configureFarEnd(name, addr string) error {
	for _, a := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", name, "mtu", fmt.Sprint(delayLinkMTU)},
		{"addr", "add", addr, "dev", name},
		{"link", "set", name, "up"},
	} {
		if err := ipCmd(a...); err != nil {
			return err
		}
	}
	return nil
}

// inNewNetNS makes a child start in a network namespace of its own
// (clone with CLONE_NEWNET, as unshare -n does).
func inNewNetNS(a *syscall.SysProcAttr) error {
	a.Cloneflags |= syscall.CLONE_NEWNET
	return nil
}
