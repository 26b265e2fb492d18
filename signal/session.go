package signal

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/edgeswarm/edgeswarm/wire"
)

// session is one client connection, whatever its transport: the state
// machine of section 4.3 of the protocol, rate limits and a bounded send
// queue. An in-process Local reads its queue, a channel, directly; a
// WebSocket's queue is an outbox drained by a writer goroutine that runs
// only while the outbox holds something.
type session struct {
	h      *Hub
	seeder bool
	out    chan wire.Message // Local only
	done   chan struct{}     // closed when the session ended

	endMu sync.Mutex
	ended bool
	// Set once before done is closed; read after.
	reason string
	final  *wire.Error // sent after the queue is flushed; nil: drop the queue
	ws     *websocket.Conn
	box    *outbox // WebSocket only
	// pc is the poller's hold of a WebSocket that a poller reads; nil
	// when a goroutine of its own reads it. Set once at the start.
	pc *pconn

	// mu serializes the handling of client messages.
	mu       sync.Mutex
	msgs     bucket
	relays   bucket
	queries  bucket
	strikes  int
	joinBy   time.Time // CONNECTED: deadline of the next join
	lastJoin string    // swarm of the last join, for logs

	// last holds a WebSocket client's stats reports as they are decoded,
	// one after the other, so that a report allocates nothing (see
	// wire.DecodeFromClientInto); the reader's alone, nil before the
	// first message.
	last *wire.Stats

	// m is the membership while JOINED; guarded by Hub.mu.
	m *member
	// addr is a WebSocket client's source address (invalid in process):
	// reports are counted per address. Set once at the start.
	addr netip.Addr
	// refuted counts the reports of this connection that the digests
	// proved false, across its joins; guarded by Hub.mu. It lowers the
	// weight of its later reports.
	refuted int
}

// reporter returns the key its reports are counted under.
func (s *session) reporter() reporterKey {
	if s.addr.IsValid() {
		return reporterKey{addr: s.addr}
	}
	return reporterKey{s: s}
}

var _ Mailbox = (*session)(nil)

// Put implements Mailbox: it queues m, or disconnects a client whose
// queue is full.
func (s *session) Put(m wire.Message) bool {
	if s.tryPut(m) {
		return true
	}
	s.h.end(s, reasonSlow, nil)
	return false
}

// tryPut queues m without blocking and without side effects. For a
// WebSocket the message is encoded here, by the sender, so that the
// connection's writer goroutine stays shallow (its stack is part of the
// memory a peer costs). A message for a session that ended is dropped.
func (s *session) tryPut(m wire.Message) bool {
	if s.box != nil {
		if _, ok := m.(*shared); !ok {
			sh, err := share(m)
			if err != nil {
				// Every message the hub builds is valid; this is a bug.
				s.h.log.Error("signal: message not sent", "type", m.Type(), "err", err)
				return true
			}
			m = sh
		}
		ok, start := s.box.put(m)
		if start {
			go s.h.writeLoop(s)
		}
		return ok
	}
	select {
	case s.out <- m:
		return true
	default:
		return false
	}
}

// cutConn cuts a WebSocket's connection at once.
func (s *session) cutConn() {
	if s.pc != nil {
		// Closing the socket would take it out of the poller's set
		// unseen; the poller closes it once it saw the end.
		s.pc.cut()
		return
	}
	_ = s.ws.NetConn().Close()
}

func (s *session) isEnded() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// bucket is a token bucket: rate tokens per second, at most burst.
type bucket struct {
	tokens float64
	last   int64 // UnixNano of the last update; 0: full
}

// take takes one token, or reports how long until one is available.
func (b *bucket) take(now time.Time, rate float64, burst int) (bool, time.Duration) {
	t := now.UnixNano()
	if b.last == 0 {
		b.tokens = float64(burst)
	} else if t > b.last {
		b.tokens = min(float64(burst), b.tokens+float64(t-b.last)/1e9*rate)
	}
	b.last = t
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// input handles one client message, or the error decoding it. It is
// called by one goroutine at a time per session.
func (s *session) input(m wire.Message, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isEnded() {
		return
	}
	h := s.h
	if !s.seeder && !s.allow(&s.msgs, h.cfg.MessageRate, h.cfg.MessageBurst, "messages") {
		return
	}
	if err != nil {
		var e *wire.Error
		if !errors.As(err, &e) {
			e = wire.Errorf(wire.CodeBadRequest, "%v", err)
		}
		if e.Code == wire.CodeUnknownType {
			s.reply(e)
			return
		}
		h.fail(s, e)
		return
	}
	switch m := m.(type) {
	case *wire.Join:
		h.join(s, m)
	case *wire.Leave:
		if h.leave(s) {
			s.joinBy = h.now().Add(h.cfg.JoinTimeout)
		}
	case *wire.Relay:
		if s.seeder || s.allow(&s.relays, h.cfg.RelayRate, h.cfg.RelayBurst, "relays") {
			h.relay(s, m)
		}
	case *wire.DigestQuery:
		if s.seeder || s.allow(&s.queries, h.cfg.QueryRate, h.cfg.QueryBurst, "digest queries") {
			h.query(s, m)
		}
	case *wire.Have:
		h.have(s, m)
	case *wire.Stats:
		h.stats(s, m)
	case *wire.Report:
		h.report(s, m)
	default:
		h.fail(s, wire.Errorf(wire.CodeBadRequest, "%s is not sent by clients", m.Type()))
	}
}

// allow applies one rate limit; over it, the message is dropped and
// answered with rate_limited, and a client that keeps exceeding it is
// disconnected.
func (s *session) allow(b *bucket, rate float64, burst int, what string) bool {
	ok, wait := b.take(s.h.now(), rate, burst)
	if ok {
		s.strikes = 0
		return true
	}
	s.strikes++
	retry := max(wait.Milliseconds(), 1)
	if s.strikes >= s.h.cfg.RateStrikes {
		e := wire.Errorf(wire.CodeRateLimited, "more than %g %s per second, repeatedly", rate, what)
		e.RetryMs = retry
		s.h.fail(s, e)
		return false
	}
	e := wire.Errorf(wire.CodeRateLimited, "more than %g %s per second", rate, what)
	e.RetryMs = retry
	s.reply(e)
	return false
}

// reply queues a message for this session's own client.
func (s *session) reply(m wire.Message) { s.Put(m) }
