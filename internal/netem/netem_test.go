//go:build linux

package netem

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/netns"
)

func TestMain(m *testing.M) { os.Exit(netns.Run(m)) }

// newNet builds cfg and tears it down when t ends, checking that nothing
// is left: the homes' holder processes are gone and only loopback is up.
func newNet(t *testing.T, cfg Config) *Net {
	t.Helper()
	netns.RequireLoopbackOnly(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
		for _, p := range n.procs {
			if _, err := os.Stat("/proc/" + strconv.Itoa(p.Process.Pid)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("namespace holder %d still there after Close", p.Process.Pid)
			}
		}
		if ok, err := netns.LoopbackOnly(); !ok || err != nil {
			t.Errorf("after Close, more than loopback is up (%v)", err)
		}
	})
	return n
}

// echo is a UDP server in the wan that answers each datagram with the
// source address it saw.
func echo(t *testing.T, n *Net) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(n.WANAddr(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			_, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDPAddrPort([]byte(from.String()), from)
		}
	}()
	return c
}

// homeUDP opens a UDP socket in home h.
func homeUDP(t *testing.T, h *HomeNet) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	if err := h.Do(func() (err error) {
		c, err = net.ListenUDP("udp4", &net.UDPAddr{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mapped asks the echo server at to what source address it sees for c.
func mapped(t *testing.T, c *net.UDPConn, to net.Addr) netip.AddrPort {
	t.Helper()
	// A failure guard, not a wait: the answer is back in milliseconds.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	if _, err := c.WriteTo([]byte("?"), to); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer from %v: %v", to, err)
	}
	ap, err := netip.ParseAddrPort(string(buf[:n]))
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// TestNATMapping: behind a cone NAT one socket keeps one external port
// for every destination; behind a symmetric NAT each destination gets
// its own. Both show the router's public address, never the LAN's.
func TestNATMapping(t *testing.T) {
	n := newNet(t, Config{Homes: []Home{{NAT: Cone}, {NAT: Cone}, {NAT: Symmetric}, {NAT: Symmetric}}})
	servers := []*net.UDPConn{echo(t, n), echo(t, n), echo(t, n)}
	publics := map[netip.Addr]bool{}
	for _, h := range n.Homes() {
		c := homeUDP(t, h)
		var ports []uint16
		for _, s := range servers {
			ap := mapped(t, c, s.LocalAddr())
			if ap.Addr() != h.Public {
				t.Errorf("home %d (%s): the wan sees %v, want the router's %v", h.Index, h.Config.NAT, ap.Addr(), h.Public)
			}
			ports = append(ports, ap.Port())
		}
		// The same destination again keeps its mapping, on both NATs.
		if again := mapped(t, c, servers[0].LocalAddr()); again.Port() != ports[0] {
			t.Errorf("home %d (%s): the mapping to one server changed from %d to %d", h.Index, h.Config.NAT, ports[0], again.Port())
		}
		distinct := map[uint16]bool{}
		for _, p := range ports {
			distinct[p] = true
		}
		switch h.Config.NAT {
		case Cone:
			if len(distinct) != 1 {
				t.Errorf("cone home %d: external ports %v for three destinations, want one", h.Index, ports)
			}
		case Symmetric:
			if len(distinct) != len(ports) {
				t.Errorf("symmetric home %d: external ports %v for three destinations, want three different ones", h.Index, ports)
			}
		}
		publics[h.Public] = true
	}
	if len(publics) != len(n.Homes()) {
		t.Errorf("homes share public addresses: %v", publics)
	}
}

// TestHomeToHome: a viewer behind a cone NAT reaches one behind another
// cone NAT by sending to its mapped address once both have sent (a hole
// punched from each side, as ICE does), and the two see each other's
// public addresses.
func TestHomeToHome(t *testing.T) {
	n := newNet(t, Config{Homes: []Home{{NAT: Cone}, {NAT: Cone}}})
	s := echo(t, n)
	a, b := homeUDP(t, n.Homes()[0]), homeUDP(t, n.Homes()[1])
	ma, mb := mapped(t, a, s.LocalAddr()), mapped(t, b, s.LocalAddr())
	// Both punch; the first packets may meet a closed NAT on the far side.
	buf := make([]byte, 64)
	_ = b.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make(chan netip.AddrPort, 1)
	go func() {
		for {
			n, from, err := b.ReadFromUDPAddrPort(buf)
			if err != nil {
				close(got)
				return
			}
			if string(buf[:n]) == "hello" {
				got <- from
				return
			}
		}
	}()
	if _, err := b.WriteToUDPAddrPort([]byte("punch"), ma); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := a.WriteToUDPAddrPort([]byte("hello"), mb); err != nil {
			t.Fatal(err)
		}
		select {
		case from, ok := <-got:
			if !ok {
				t.Fatal("home 1 never got home 0's datagram")
			}
			if from != ma {
				t.Errorf("home 1 saw home 0 as %v, want its mapped %v", from, ma)
			}
			return
		case <-time.After(100 * time.Millisecond): // resend: UDP may be lost
		}
	}
}

// TestDelay: a round trip through a home's link never takes less than the
// delays of both directions minus their jitter.
func TestDelay(t *testing.T) {
	up := Link{Delay: 30 * time.Millisecond, Jitter: 10 * time.Millisecond}
	down := Link{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond}
	n := newNet(t, Config{Homes: []Home{{NAT: Cone, Up: up, Down: down}, {NAT: Cone}}})
	s := echo(t, n)
	floor := up.Delay - up.Jitter + down.Delay - down.Jitter
	shaped, plain := homeUDP(t, n.Homes()[0]), homeUDP(t, n.Homes()[1])
	var min time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		mapped(t, shaped, s.LocalAddr())
		if rtt := time.Since(t0); rtt < floor {
			t.Fatalf("round trip %d took %v, less than the links' %v", i, rtt, floor)
		}
		t1 := time.Now()
		mapped(t, plain, s.LocalAddr())
		if d := time.Since(t1); i == 0 || d < min {
			min = d
		}
	}
	// The unshaped home is not delayed by the other's link.
	if min >= floor {
		t.Errorf("the unshaped home's fastest round trip took %v, as long as the shaped one's floor %v", min, floor)
	}
}

// TestLoss: datagrams the delay line drops for loss are the only ones
// missing, and about as many as the link's loss says.
func TestLoss(t *testing.T) {
	const sent, loss = 1000, 0.2
	n := newNet(t, Config{Seed: 7, Homes: []Home{{NAT: Cone, Up: Link{Loss: loss}}}})
	sink, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(n.WANAddr(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	h := n.Homes()[0]
	c := homeUDP(t, h)
	// In rounds, so that no queue on the way overflows: every datagram
	// either arrives or was dropped by the delay line for loss.
	seen := map[string]bool{}
	buf := make([]byte, 64)
	for i := 0; i < sent; {
		for end := i + 50; i < end; i++ {
			if _, err := c.WriteTo([]byte(strconv.Itoa(i)), sink.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		for {
			up, _ := h.Dropped()
			if len(seen)+int(up) == i {
				break
			}
			// A failure guard, not a wait: datagrams arrive in microseconds.
			_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, _, err := sink.ReadFrom(buf)
			if err != nil {
				t.Fatalf("got %d of %d datagrams, %d dropped for loss: the rest vanished (%v)", len(seen), i, up, err)
			}
			seen[string(buf[:k])] = true
		}
	}
	up, down := h.Dropped()
	if lo, hi := uint64(sent*loss*0.6), uint64(sent*loss*1.4); up < lo || up > hi {
		t.Errorf("%d of %d datagrams dropped at loss %v, want %d to %d", up, sent, loss, lo, hi)
	}
	if down != 0 {
		t.Errorf("%d dropped on the downlink, which has no loss", down)
	}
}

// TestRateCap: a TCP transfer down and up through a capped link takes at
// least what its size at the cap takes, less one burst.
func TestRateCap(t *testing.T) {
	const size = 400 << 10
	const rate = 4_000_000
	n := newNet(t, Config{Homes: []Home{{NAT: Cone, Up: Link{Rate: rate / 2}, Down: Link{Rate: rate}}}})
	ln, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(n.WANAddr(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	payload := make([]byte, size)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var dir [1]byte
				if _, err := io.ReadFull(c, dir[:]); err != nil {
					return
				}
				if dir[0] == 'd' {
					_, _ = c.Write(payload)
					return
				}
				_, _ = io.Copy(io.Discard, c)
				_, _ = c.Write([]byte("ok"))
			}()
		}
	}()
	h := n.Homes()[0]
	dial := func() net.Conn {
		var c net.Conn
		if err := h.Do(func() (err error) { c, err = net.Dial("tcp4", ln.Addr().String()); return err }); err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		return c
	}
	for _, tc := range []struct {
		dir  string
		rate int64
	}{{"d", rate}, {"u", rate / 2}} {
		t.Run(tc.dir, func(t *testing.T) {
			c := dial()
			defer c.Close()
			t0 := time.Now()
			if _, err := c.Write([]byte(tc.dir)); err != nil {
				t.Fatal(err)
			}
			if tc.dir == "d" {
				if k, err := io.Copy(io.Discard, c); err != nil || k != size {
					t.Fatalf("got %d bytes (%v)", k, err)
				}
			} else {
				if _, err := c.Write(payload); err != nil {
					t.Fatal(err)
				}
				_ = c.(*net.TCPConn).CloseWrite()
				if b, err := io.ReadAll(c); err != nil || string(b) != "ok" {
					t.Fatalf("%q, %v", b, err)
				}
			}
			el := time.Since(t0)
			burst := max(tc.rate/8/200, 2*1514)
			floor := time.Duration(float64(size-burst) * 8 / float64(tc.rate) * float64(time.Second))
			if el < floor {
				t.Errorf("%d bytes at %d bit/s took %v, less than %v", size, tc.rate, el, floor)
			}
			t.Logf("%d bytes at %d bit/s: %v (floor %v)", size, tc.rate, el, floor)
		})
	}
}

// TestRefusesSharedNamespace: with an emulated internet up, the namespace
// is no longer a fresh private one and a second New refuses to build.
func TestRefusesSharedNamespace(t *testing.T) {
	if err := RequirePrivate(); err != nil {
		t.Fatalf("the test's own namespace: %v", err)
	}
	newNet(t, Config{Homes: []Home{{NAT: Cone}}})
	_, err := New(context.Background(), Config{Homes: []Home{{NAT: Cone}}}, nil)
	if err == nil {
		t.Fatal("a second New in the same namespace built")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "homes: want 1 to 250 homes, got 0"},
		{Config{Homes: []Home{{NAT: "full"}}}, `homes[0].nat: "full" is not cone or symmetric`},
		{Config{Homes: []Home{{NAT: Cone}, {NAT: Cone, Up: Link{Loss: 2}}}}, "homes[1].up.loss: 2 is not between 0 and 1"},
		{Config{Homes: []Home{{NAT: Cone, Down: Link{Delay: time.Millisecond, Jitter: time.Second}}}}, "homes[0].down.jitter: 1s is more than the delay 1ms"},
		{Config{Homes: []Home{{NAT: Cone, Down: Link{Rate: 100}}}}, "homes[0].down.rate: 100 bit/s: want 0 (no cap) or at least 8000"},
	} {
		if err := tc.cfg.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: got %v, want %s", tc.cfg, err, tc.want)
		}
	}
}
