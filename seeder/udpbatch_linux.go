//go:build linux

package seeder

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoSender sends runs of equal-sized datagrams to one destination as one
// sendmsg with a UDP_SEGMENT control message: the kernel cuts the buffer
// into datagrams of that size (the last may be shorter) after the UDP and
// IP stack, once per run instead of once per datagram.
type gsoSender struct {
	c     *net.UDPConn
	rc    syscall.RawConn
	plain plainSender
	off   atomic.Bool // the kernel refused GSO: send one by one
	inet6 bool        // an AF_INET6 socket: IPv4 destinations go v4-mapped
	buf   []byte      // a run, contiguous
	oob   []byte
}

func newPlatformSender(c *net.UDPConn) batchSender {
	rc, err := c.SyscallConn()
	if err != nil {
		return plainSender{c}
	}
	s := &gsoSender{c: c, rc: rc, plain: plainSender{c}, buf: make([]byte, 0, gsoMaxBytes), oob: make([]byte, unix.CmsgSpace(2))}
	var domain int
	serr := rc.Control(func(fd uintptr) {
		domain, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	})
	if serr != nil || err != nil {
		return plainSender{c}
	}
	s.inet6 = domain == unix.AF_INET6
	return s
}

func (s *gsoSender) sendTo(to netip.AddrPort, pkts []outPacket) (int, error) {
	if s.off.Load() {
		return s.plain.sendTo(to, pkts)
	}
	var first error
	calls := 0
	for len(pkts) > 0 {
		// A run: datagrams of the first one's size, the last possibly
		// shorter, within the GSO bounds.
		size := pkts[0].n
		n := 1
		total := size
		for n < len(pkts) && n < gsoMaxSegments && total+pkts[n].n <= gsoMaxBytes && pkts[n].n <= size {
			total += pkts[n].n
			n++
			if pkts[n-1].n < size {
				break
			}
		}
		var err error
		calls++
		if n == 1 {
			_, err = s.c.WriteToUDPAddrPort(pkts[0].buf[:pkts[0].n], to)
		} else {
			err = s.sendRun(to, pkts[:n], size)
		}
		if err != nil {
			if isGSOUnsupported(err) {
				s.off.Store(true)
				more, err := s.plain.sendTo(to, pkts)
				return calls + more, err
			}
			if first == nil {
				first = err
			}
		}
		pkts = pkts[n:]
	}
	return calls, first
}

// sendRun sends pkts (each of size bytes, the last maybe fewer) in one
// sendmsg.
func (s *gsoSender) sendRun(to netip.AddrPort, pkts []outPacket, size int) error {
	b := s.buf[:0]
	for _, p := range pkts {
		b = append(b, p.buf[:p.n]...)
	}
	s.buf = b
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&s.oob[unix.CmsgLen(0)])) = uint16(size)
	sa := sockaddr(to, s.inet6)
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), b, s.oob, sa, 0)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// isGSOUnsupported reports an error of a kernel or device without UDP
// GSO (EIO from a device that cannot segment, EINVAL or ENOPROTOOPT from
// a kernel without UDP_SEGMENT).
func isGSOUnsupported(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOPROTOOPT)
}

func sockaddr(ap netip.AddrPort, inet6 bool) unix.Sockaddr {
	a := ap.Addr()
	if !inet6 && (a.Is4() || a.Is4In6()) {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
}

// gsoActive reports whether s sends with UDP GSO.
func gsoActive(s batchSender) bool {
	g, ok := s.(*gsoSender)
	return ok && !g.off.Load()
}
