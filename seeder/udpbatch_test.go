package seeder

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

// listenUDP opens a UDP socket for t: on IPv4 loopback for "udp4", on
// the unspecified address (a dual-stack IPv6 socket, as a mux on ":3478"
// is) for "udp".
func listenUDP(t *testing.T, network string) *net.UDPConn {
	t.Helper()
	var ip net.IP
	if network == "udp4" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	c, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(8 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

// datagram i for receiver r: its size varies the way an SCTP sender's
// does (full packets, then a shorter one, then a SACK-sized one).
func datagram(r, i int) []byte {
	size := 1200
	switch i % 7 {
	case 5:
		size = 700
	case 6:
		size = 48
	}
	b := bytes.Repeat([]byte{byte(r*31 + i)}, size)
	binary.BigEndian.PutUint32(b, uint32(i))
	b[4] = byte(r)
	return b
}

// Every datagram written to a batchConn arrives, intact, at its own
// destination, in the order it was written there, also when several
// goroutines write to several destinations at once, and, on Linux, runs
// of them went out in shared system calls.
func TestBatchConnDeliversInOrder(t *testing.T) {
	for _, network := range []string{"udp4", "udp"} {
		t.Run(network, func(t *testing.T) {
			c := newBatchConn(listenUDP(t, network))
			t.Cleanup(func() { c.Close() })
			const receivers, per = 3, 700
			rs := make([]*net.UDPConn, receivers)
			for i := range rs {
				rs[i] = listenUDP(t, "udp4")
			}
			// Writers stay at most window datagrams ahead of their
			// receiver, so that no socket buffer overflows (loopback drops
			// only then).
			const window = 32
			got := make([]chan int, receivers)
			var wg sync.WaitGroup
			for r := range receivers {
				got[r] = make(chan int, per)
				wg.Go(func() { // one writer per destination, as one association is
					to := rs[r].LocalAddr().(*net.UDPAddr).AddrPort()
					if network == "udp" { // as the mux sees IPv4 viewers there
						to = netip.AddrPortFrom(netip.AddrFrom16(to.Addr().As16()), to.Port())
					}
					acked := 0
					for i := range per {
						for i-acked >= window {
							acked = <-got[r] + 1
						}
						if _, err := c.WriteToAddrPort(datagram(r, i), to); err != nil {
							t.Errorf("write %d to %d: %v", i, r, err)
							return
						}
					}
				})
			}
			var rwg sync.WaitGroup
			for r, rc := range rs {
				rwg.Go(func() {
					buf := make([]byte, 2048)
					for i := range per {
						_ = rc.SetReadDeadline(time.Now().Add(20 * time.Second)) // bounds a broken test only
						n, _, err := rc.ReadFromUDPAddrPort(buf)
						if err != nil {
							t.Errorf("receiver %d: datagram %d: %v", r, i, err)
							return
						}
						if want := datagram(r, i); !bytes.Equal(buf[:n], want) {
							t.Errorf("receiver %d: datagram %d is %d bytes starting %x, want %d bytes starting %x", r, i, n, buf[:5], len(want), want[:5])
							return
						}
						got[r] <- i
					}
				})
			}
			rwg.Wait()
			wg.Wait()
			c.Close() // the sender has counted all it sent
			sent, calls := c.datagrams.Load(), c.calls.Load()
			if sent != receivers*per {
				t.Errorf("counted %d datagrams sent, want %d", sent, receivers*per)
			}
			if runtime.GOOS == "linux" && (!gsoActive(c.send) || calls >= sent) {
				t.Errorf("on Linux, %d datagrams took %d system calls, want fewer (sender %T)", sent, calls, c.send)
			}
		})
	}
}

// A closed batchConn refuses writes and closes its socket.
func TestBatchConnClose(t *testing.T) {
	u := listenUDP(t, "udp4")
	c := newBatchConn(u)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToAddrPort([]byte("x"), u.LocalAddr().(*net.UDPAddr).AddrPort()); err == nil {
		t.Error("write after Close succeeded")
	}
	if _, err := u.WriteToUDPAddrPort([]byte("x"), u.LocalAddr().(*net.UDPAddr).AddrPort()); err == nil {
		t.Error("the socket is still open after Close")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Writers still writing while the mux closes the socket (a DTLS
// close_notify on the way out as the super-peer shuts down) get an error
// or a queued write, never a panic (a send on the closed wake channel),
// and Close returns.
func TestBatchConnCloseWhileWriting(t *testing.T) {
	for range 50 {
		u := listenUDP(t, "udp4")
		to := u.LocalAddr().(*net.UDPAddr).AddrPort()
		c := newBatchConn(u)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				<-start
				for i := 0; ; i++ {
					if _, err := c.WriteToAddrPort(datagram(w, i), to); err != nil {
						return
					}
				}
			})
		}
		close(start)
		runtime.Gosched()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
}
