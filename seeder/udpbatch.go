package seeder

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
)

// The super-peer's SCTP associations each send their packets one at a
// time: one datagram, one sendto system call, one trip down the kernel's
// UDP and IP stack. batchConn sits between pion's ICE UDP mux and the
// socket and sends them in batches instead: writers queue their
// datagrams and return (UDP promises no more), and one sender goroutine
// takes the whole queue at once, and sends the datagrams of each
// destination together: with UDP generic segmentation offload (GSO,
// Linux 4.18+) as one system call of up to gsoMaxSegments equal-sized
// datagrams, which the kernel splits after its stack; elsewhere one by
// one. Reads pass through.

// Bounds of one batch.
const (
	// gsoMaxSegments is the most datagrams in one GSO send (the kernel
	// allows 64 on every version that has UDP_SEGMENT).
	gsoMaxSegments = 64
	// gsoMaxBytes bounds one GSO send: an IP packet's payload.
	gsoMaxBytes = 65000
	// batchSlot is the largest datagram that is queued; larger ones
	// (none in practice: pion's DTLS records fit the 1200-byte path MTU)
	// are sent at once.
	batchSlot = 1500
	// maxQueued bounds the datagrams waiting for the sender; beyond it a
	// writer sends its own at once, so a stalled sender never holds
	// memory or delays packets without bound.
	maxQueued = 4096
)

// outPacket is one queued datagram.
type outPacket struct {
	to  netip.AddrPort
	n   int
	buf *[batchSlot]byte
}

// batchConn is the ICE UDP mux's socket with batched writes. It
// implements net.PacketConn and ice.AddrPortReaderWriter, which the mux
// prefers.
type batchConn struct {
	*net.UDPConn
	send batchSender // the platform's way to send a batch

	pool sync.Pool
	wake chan struct{}
	done chan struct{}

	same []outPacket // the sender's scratch

	// Datagrams sent, and the system calls that sent them.
	datagrams, calls atomic.Int64

	mu      sync.Mutex
	queue   []outPacket
	spare   []outPacket
	closed  bool
	closeMu sync.Once
}

var (
	_ net.PacketConn           = (*batchConn)(nil)
	_ ice.AddrPortReaderWriter = (*batchConn)(nil)
)

// batchSender sends the datagrams of one destination, in order, and
// returns the system calls it took.
type batchSender interface {
	sendTo(to netip.AddrPort, pkts []outPacket) (calls int, err error)
}

// newBatchConn wraps c; the returned conn owns c and closes it.
func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{
		UDPConn: c,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	b.pool.New = func() any { return new([batchSlot]byte) }
	b.send = newPlatformSender(c)
	go b.sender()
	return b
}

// ReadFromAddrPort reads one datagram.
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return b.UDPConn.ReadFromUDPAddrPort(p)
}

// WriteTo queues p for addr.
func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	u, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errors.New("seeder: not a UDP address")
	}
	return b.WriteToAddrPort(p, u.AddrPort())
}

// WriteToAddrPort queues p for addr and returns; the sender sends it.
func (b *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if len(p) > batchSlot {
		return b.writeNow(p, addr)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, net.ErrClosed
	}
	if len(b.queue) >= maxQueued {
		b.mu.Unlock()
		return b.writeNow(p, addr)
	}
	buf := b.pool.Get().(*[batchSlot]byte)
	n := copy(buf[:], p)
	b.queue = append(b.queue, outPacket{to: addr, n: n, buf: buf})
	if len(b.queue) == 1 {
		// Under b.mu, so that Close cannot close wake between the check
		// of closed and this send (a send on a closed channel panics).
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
	return len(p), nil
}

// writeNow sends p at once, unbatched.
func (b *batchConn) writeNow(p []byte, addr netip.AddrPort) (int, error) {
	b.datagrams.Add(1)
	b.calls.Add(1)
	return b.UDPConn.WriteToUDPAddrPort(p, addr)
}

// Close stops the sender after it sent what is queued, and closes the
// socket.
func (b *batchConn) Close() error {
	var err error
	b.closeMu.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.wake) // no writer sends after closed is set (see WriteToAddrPort)
		b.mu.Unlock()
		<-b.done
		err = b.UDPConn.Close()
	})
	return err
}

// sender sends the queue whenever there is one.
func (b *batchConn) sender() {
	defer close(b.done)
	for range b.wake {
		for {
			b.mu.Lock()
			if len(b.queue) == 0 {
				b.mu.Unlock()
				break
			}
			// Two arrays take turns: writers fill one while this sends
			// the other.
			batch := b.queue
			b.queue, b.spare = b.spare[:0], nil
			b.mu.Unlock()
			b.sendBatch(batch)
			clear(batch)
			b.mu.Lock()
			b.spare = batch[:0]
			b.mu.Unlock()
		}
	}
}

// sendBatch sends batch, destination by destination, each in its order,
// and gives the buffers back. A failed send loses its datagrams, as the
// network may. Only the sender goroutine calls it.
func (b *batchConn) sendBatch(batch []outPacket) {
	for len(batch) > 0 {
		to := batch[0].to
		// A stable split: the datagrams for to, and the rest (in place:
		// rest never overtakes the reading index).
		same, rest := b.same[:0], batch[:0]
		for _, p := range batch {
			if p.to == to {
				same = append(same, p)
			} else {
				rest = append(rest, p)
			}
		}
		calls, _ := b.send.sendTo(to, same)
		b.datagrams.Add(int64(len(same)))
		b.calls.Add(int64(calls))
		for i := range same {
			b.pool.Put(same[i].buf)
			same[i] = outPacket{}
		}
		b.same = same
		batch = rest
	}
}

// plainSender sends datagrams one by one.
type plainSender struct{ c *net.UDPConn }

func (s plainSender) sendTo(to netip.AddrPort, pkts []outPacket) (int, error) {
	var first error
	for _, p := range pkts {
		if _, err := s.c.WriteToUDPAddrPort(p.buf[:p.n], to); err != nil && first == nil {
			first = err
		}
	}
	return len(pkts), first
}
