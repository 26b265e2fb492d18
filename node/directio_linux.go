package node

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writeTurn is the most a Write puts into the socket before it lets other
// goroutines run. Where the peer takes bytes as fast as they come (a
// nearby client, a fast network, loopback) the kernel accepts a whole
// segment in one call, so the viewers scheduled first got theirs in a
// burst while the rest waited. Under wrk, 64 connections fetching 1 MiB
// segments on loopback, medians of 4 rounds side by side: without turns p1
// 2 ms, p99 44-55 ms, p99.9 66-87 ms; with 128 KiB turns p1 6-9 ms, p99
// 42-44 ms, p99.9 56-60 ms at 14 % less throughput. 256 KiB turns (with
// notsentLowat as large) keep most of that tail and most of the
// throughput: over 7 rounds 2504 req/s, p99 44.2 ms, p99.9 62.3 ms against
// 2178, 43.5 and 58.7 with 128 KiB. A player waits on the tail. 1 MiB
// turns and low-water mark, side by side in one run (go run ./bench cache
// --compare-node-bin, 680 KB segments, a shared 2-CPU machine): 9 % less
// CPU per segment (163 against 179 µs) but 0.53x the MB/s and a worse p99.
const writeTurn = 256 << 10

// notsentLowat is TCP_NOTSENT_LOWAT on public connections: the socket
// reports itself writable only while it holds fewer unsent bytes than
// this. A segment then waits in the cache (shared by every viewer) rather
// than being copied into a send buffer that autotuning grows to 4 MiB per
// viewer, and a write returns as soon as the socket holds what the network
// can take next.
const notsentLowat = 256 << 10

// directConn reads and writes a public connection's nonblocking socket
// without the runtime's blocking-syscall protocol.
//
// A read or write through net.Conn tells the scheduler the goroutine may
// block in the kernel. While a thread sits in such a call, sysmon wakes
// every 20 µs and hands the thread's processor to another thread when work
// is queued. A node serving tens of thousands of small cache hits a second
// spends most of its CPU inside those calls (the kernel's TCP work), so the
// handoffs became thread switches and sysmon alone took 7 % of the node's
// CPU in a profile under wrk. The socket is nonblocking: the call returns
// at once or with EAGAIN (then the goroutine waits in the poller as
// before), and its time in the kernel is CPU time the thread spends anyway.
// Measured side by side on playlist hits: 20.8 -> 17.4 µs of CPU per
// request, 16 % more requests per second.
//
// Deadlines, Close and the poller work as on the wrapped connection: the
// calls go through its syscall.RawConn. Concurrent readers (or writers)
// take turns.
//
// Large writes go out in turns of writeTurn bytes, and the socket keeps at
// most notsentLowat bytes it has not sent yet; see those constants.
type directConn struct {
	net.Conn
	rc syscall.RawConn

	rmu    sync.Mutex
	rbuf   []byte
	rn     int
	rerrno syscall.Errno
	readFn func(fd uintptr) bool

	wmu     sync.Mutex
	wbuf    []byte
	wn      int
	werrno  syscall.Errno
	writeFn func(fd uintptr) bool
}

// directIO wraps c when it is a socket the runtime polls; anything else is
// returned as it is.
func directIO(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	if _, ok := c.(*net.TCPConn); ok {
		// Best effort: without it the connection works as before.
		_ = rc.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, notsentLowat)
		})
	}
	d := &directConn{Conn: c, rc: rc}
	d.readFn, d.writeFn = d.readOnce, d.writeSome
	return d
}

// Unwrap returns the connection c wraps (for the signaling hub's detach).
func (c *directConn) Unwrap() net.Conn { return c.Conn }

func (c *directConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	c.rbuf, c.rn, c.rerrno = p, 0, 0
	err := c.rc.Read(c.readFn)
	n, errno := c.rn, c.rerrno
	c.rbuf = nil
	c.rmu.Unlock()
	switch {
	case err != nil:
		return 0, opError(err, "read")
	case errno != 0:
		return 0, c.errnoError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readOnce is called by the poller with the read lock held: false means
// "wait until readable, then call again".
func (c *directConn) readOnce(fd uintptr) bool {
	for {
		p := c.rbuf
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		switch e {
		case 0:
			c.rn = int(r)
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.rerrno = e
			return true
		}
	}
}

func (c *directConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	var (
		n     int
		err   error
		errno syscall.Errno
	)
	for {
		turn := p[n:]
		if len(turn) > writeTurn {
			turn = turn[:writeTurn]
		}
		c.wbuf, c.wn, c.werrno = turn, 0, 0
		err = c.rc.Write(c.writeFn)
		n += c.wn
		errno = c.werrno
		if err != nil || errno != 0 || n == len(p) {
			break
		}
		runtime.Gosched()
	}
	c.wbuf = nil
	c.wmu.Unlock()
	switch {
	case err != nil:
		return n, opError(err, "write")
	case errno != 0:
		return n, c.errnoError("write", errno)
	}
	return n, nil
}

// writeSome writes until all of wbuf is in the socket (true), the socket is
// full (false: the poller waits until writable and calls again) or an error.
func (c *directConn) writeSome(fd uintptr) bool {
	for {
		p := c.wbuf[c.wn:]
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		switch e {
		case 0:
			if r == 0 { // not for a stream socket; never spin on it
				c.werrno = syscall.EIO
				return true
			}
			c.wn += int(r)
			if c.wn == len(c.wbuf) {
				return true
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werrno = e
			return true
		}
	}
}

// errnoError is the error net.Conn gives for errno.
func (c *directConn) errnoError(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}

// opError names the operation as net.Conn does ("read", not "raw-read").
func opError(err error, op string) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		e := *oe
		e.Op = op
		return &e
	}
	return err
}
