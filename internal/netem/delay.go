package netem

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// shape is what the delay line does to one direction of a link: the rate
// cap is tc's, on the router.
type shape struct {
	delay, jitter time.Duration
	loss          float64
}

func lineShape(l Link) shape { return shape{delay: l.Delay, jitter: l.Jitter, loss: l.Loss} }

// scheduler decides, packet by packet, whether it is lost and when it
// leaves: after the delay plus or minus the jitter, never before the
// packet ahead of it (a link keeps order).
type scheduler struct {
	shape
	rng  *rand.Rand
	last time.Time
}

func newScheduler(s shape, seed int64) *scheduler {
	return &scheduler{shape: s, rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)>>1|1))}
}

// next returns when a packet that arrived at now leaves, or false when it
// is lost.
func (s *scheduler) next(now time.Time) (time.Time, bool) {
	if s.loss > 0 && s.rng.Float64() < s.loss {
		return time.Time{}, false
	}
	d := s.delay
	if s.jitter > 0 {
		d += time.Duration((s.rng.Float64()*2 - 1) * float64(s.jitter))
	}
	at := now.Add(d)
	if at.Before(s.last) {
		at = s.last
	}
	s.last = at
	return at, true
}

// queueLen bounds the packets in flight on one direction of a link; past
// it packets are dropped, as by a full buffer.
const queueLen = 8192

type packet struct {
	b  []byte
	at time.Time
}

// delayLine carries packets from one TUN device to the other, shaped.
type delayLine struct {
	in  io.Reader
	out io.Writer
	s   *scheduler
	log *slog.Logger
	q   chan packet

	dropped, overflow atomic.Uint64
	done              chan struct{}
	wg                sync.WaitGroup
	stop              sync.Once
}

func newDelayLine(in io.Reader, out io.Writer, s shape, seed int64, log *slog.Logger) *delayLine {
	return &delayLine{in: in, out: out, s: newScheduler(s, seed), log: log, q: make(chan packet, queueLen), done: make(chan struct{})}
}

func (l *delayLine) start() {
	l.wg.Add(2)
	go l.read()
	go l.write()
}

func (l *delayLine) read() {
	defer l.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := l.in.Read(buf)
		if err != nil {
			select {
			case <-l.done:
			default:
				l.log.Warn("netem: delay line stopped", "err", err)
			}
			return
		}
		at, ok := l.s.next(time.Now())
		if !ok {
			l.dropped.Add(1)
			continue
		}
		p := packet{b: append([]byte(nil), buf[:n]...), at: at}
		select {
		case l.q <- p:
		default:
			l.overflow.Add(1)
		}
	}
}

func (l *delayLine) write() {
	defer l.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var p packet
		select {
		case p = <-l.q:
		case <-l.done:
			return
		}
		if d := time.Until(p.at); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-l.done:
				return
			}
		}
		// A write fails when the receiving device is down or its queue
		// full: the packet is lost, as on a wire.
		_, _ = l.out.Write(p.b)
	}
}

// close stops the writer; the reader stops when its device is closed.
func (l *delayLine) close() { l.stop.Do(func() { close(l.done) }) }
