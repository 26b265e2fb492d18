package signal

import (
	"context"
	"sync/atomic"

	"github.com/edgeswarm/edgeswarm/wire"
)

// LocalOptions configure an in-process connection.
type LocalOptions struct {
	// Seeder marks the node's super-peer: it joins any swarm without a
	// ticket and without counting against capacity or rate limits, it is
	// offered to every viewer marked seeder: true, and it is sent no
	// candidates (viewers offer to it, it answers).
	Seeder bool
}

// Local is an in-process signaling connection: the same protocol, state
// machine, validation and bounded queue as a WebSocket client, without
// the network. The node's super-peer uses one per swarm.
type Local struct {
	h         *Hub
	s         *session
	finalSent atomic.Bool
}

// Connect opens an in-process connection. Like a WebSocket client it
// starts CONNECTED and must send a join. The join timeout does not apply
// (there is no socket to reclaim).
func (h *Hub) Connect(ctx context.Context, opt LocalOptions) (*Local, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := h.cfg.SendQueue
	if opt.Seeder {
		q = h.cfg.SeederSendQueue
	}
	s := h.newSession(opt.Seeder, q, nil)
	if !h.register(s) {
		return nil, ErrClosed
	}
	return &Local{h: h, s: s}, nil
}

// Send handles m as if the client had sent it: m is encoded and decoded
// with the server's rules, then goes through the same state machine.
// Errors are answered through Recv as for any client (a fatal one ends
// the connection); Send also returns the error when m itself is invalid,
// and ErrClosed after the connection ended.
func (l *Local) Send(m wire.Message) error {
	if l.s.isEnded() {
		return ErrClosed
	}
	b, err := wire.Encode(m)
	if err == nil {
		m, err = wire.DecodeFromClient(b)
	}
	l.s.input(m, err)
	return err
}

// Recv returns the next server message, waiting for it until ctx is
// done. After the connection ended it returns what was queued before a
// fatal error and the error itself, then ErrClosed. Returned messages may
// be shared with other recipients and must not be modified.
func (l *Local) Recv(ctx context.Context) (wire.Message, error) {
	s := l.s
	select {
	case m := <-s.out:
		return unwrap(m), nil
	case <-s.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.final != nil {
		select {
		case m := <-s.out:
			return unwrap(m), nil
		default:
		}
		if !l.finalSent.Swap(true) {
			return s.final, nil
		}
	}
	return nil, ErrClosed
}

// Close leaves the swarm, if joined, and ends the connection.
func (l *Local) Close() error {
	l.h.end(l.s, reasonClosed, nil)
	return nil
}
