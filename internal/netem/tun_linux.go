//go:build linux

package netem

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inNetNS runs fn on an OS thread that has entered the network namespace
// at path, then returns the thread to this process's namespace. Sockets
// and devices fn creates stay in that namespace after it returns. If the
// thread cannot go back, it is left locked, so that the runtime ends it
// with its goroutine and no other goroutine runs in the wrong namespace.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netem: this thread's namespace: %w", err)
			return
		}
		defer home.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netem: %w", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netem: entering %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netem: leaving %s: %w", path, err)
			return // still locked: the thread exits with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Do runs fn in the home LAN's network namespace: the sockets it opens
// (net.ListenUDP, net.Dial, ...) belong to the home, and keep working
// from any goroutine afterwards. Goroutines that fn starts do not run in
// the home.
func (h *HomeNet) Do(fn func() error) error { return inNetNS(h.NetNS(), fn) }

// openTUN creates the TUN device name (layer 3, no packet information) in
// the namespace at path and returns its non-blocking file, which this
// process's poller serves.
func openTUN(path, name string) (*os.File, error) {
	var f *os.File
	err := inNetNS(path, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("netem: opening /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("netem: creating TUN device %s: %w", name, err)
		}
		f = os.NewFile(uintptr(fd), name)
		return nil
	})
	return f, err
}
