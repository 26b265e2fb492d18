package seeder

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/edgeswarm/edgeswarm/wire"
)

// fakeTracker is a minimal in-process stand-in for the signaling server:
// it assigns peer ids, answers join with welcome, the swarm's digests and
// peers, routes relays and announces leaves. Every message crosses it
// encoded, so both sides must speak valid protocol.
type fakeTracker struct {
	t      testing.TB
	config wire.ClientConfig

	mu      sync.Mutex
	next    int
	members map[string]*member // by id
	digests map[string][]wire.SegmentDigest
	joined  chan struct{} // closed and replaced on every join
	left    chan struct{} // closed and replaced on every leave
}

type member struct {
	id, swarm string
	seeder    bool
	upload    bool
	box       *mailbox
}

func newTracker(t testing.TB) *fakeTracker {
	return &fakeTracker{t: t, config: wire.DefaultClientConfig(), members: map[string]*member{},
		digests: map[string][]wire.SegmentDigest{}, joined: make(chan struct{}), left: make(chan struct{})}
}

// Connect opens a connection as the super-peer (seeder.Signaling).
func (tr *fakeTracker) Connect(context.Context) (Conn, error) { return tr.dial(true), nil }

// Dial opens a viewer's connection.
func (tr *fakeTracker) Dial() *trackerConn { return tr.dial(false) }

func (tr *fakeTracker) dial(seeder bool) *trackerConn {
	return &trackerConn{tr: tr, seeder: seeder, box: newMailbox()}
}

// waitSeeder waits until a super-peer is in swarm and returns its id.
func (tr *fakeTracker) waitSeeder(ctx context.Context, swarm string) (string, error) {
	for {
		tr.mu.Lock()
		ch := tr.joined
		for _, m := range tr.members {
			if m.seeder && m.swarm == swarm {
				tr.mu.Unlock()
				return m.id, nil
			}
		}
		tr.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// publish adds a digest to swarm and sends it to its members, as the
// node does when a segment enters the cache.
func (tr *fakeTracker) publish(swarm string, d wire.SegmentDigest) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.digests[swarm] = append(tr.digests[swarm], d)
	for _, m := range tr.members {
		if m.swarm == swarm {
			tr.deliver(m, &wire.Digest{Segments: []wire.SegmentDigest{d}})
		}
	}
}

// deliver encodes msg to m; the caller holds tr.mu.
func (tr *fakeTracker) deliver(m *member, msg wire.Message) {
	b, err := wire.Encode(msg)
	if err != nil {
		tr.t.Errorf("tracker: encoding %s: %v", msg.Type(), err)
		return
	}
	m.box.put(b)
}

// handle processes one encoded message from c.
func (tr *fakeTracker) handle(c *trackerConn, b []byte) error {
	msg, err := wire.DecodeFromClient(b)
	if err != nil {
		tr.t.Errorf("tracker: client sent an invalid message: %v", err)
		return err
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	me := c.me
	switch msg := msg.(type) {
	case *wire.Join:
		tr.next++
		id := "p" + strconv.Itoa(tr.next)
		if c.seeder {
			id = "s" + strconv.Itoa(tr.next)
		}
		me = &member{id: id, swarm: msg.Swarm, seeder: c.seeder, upload: msg.Caps.Upload, box: c.box}
		c.me = me
		tr.members[id] = me
		tr.deliver(me, &wire.Welcome{PeerID: id, Swarm: msg.Swarm, Config: tr.config})
		ds := tr.digests[msg.Swarm]
		for len(ds) > 0 {
			n := min(len(ds), wire.MaxDigestsPerMessage)
			tr.deliver(me, &wire.Digest{Segments: ds[:n]})
			ds = ds[n:]
		}
		var peers []wire.PeerInfo
		for _, o := range tr.members {
			if o != me && o.swarm == me.swarm && (o.seeder || o.upload) {
				peers = append(peers, wire.PeerInfo{ID: o.id, Seeder: o.seeder})
			}
			if o != me && o.swarm == me.swarm && me.seeder {
				tr.deliver(o, &wire.Peers{Peers: []wire.PeerInfo{{ID: me.id, Seeder: true}}})
			}
		}
		if len(peers) > 0 {
			tr.deliver(me, &wire.Peers{Peers: peers})
		}
		close(tr.joined)
		tr.joined = make(chan struct{})
	case *wire.Relay:
		to := tr.members[msg.To]
		if me == nil || to == nil || to.swarm != me.swarm {
			if me != nil {
				tr.deliver(me, &wire.Error{Code: wire.CodeUnknownPeer, Message: "no peer " + msg.To})
			}
			return nil
		}
		fwd := *msg
		fwd.To, fwd.From = "", me.id
		tr.deliver(to, &fwd)
	case *wire.Leave:
		tr.leave(c)
	}
	return nil
}

// leave removes c's member; the caller holds tr.mu.
func (tr *fakeTracker) leave(c *trackerConn) {
	if c.me == nil {
		return
	}
	delete(tr.members, c.me.id)
	close(tr.left)
	tr.left = make(chan struct{})
	for _, o := range tr.members {
		if o.swarm == c.me.swarm {
			tr.deliver(o, &wire.PeerLeft{ID: c.me.id})
		}
	}
	c.me = nil
}

// trackerConn is one client's connection to the fake tracker. It
// satisfies seeder.Conn and testpeer.Conn.
type trackerConn struct {
	tr     *fakeTracker
	seeder bool
	box    *mailbox
	me     *member // guarded by tr.mu
}

func (c *trackerConn) Send(m wire.Message) error {
	if c.box.isClosed() {
		return errors.New("connection closed")
	}
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	return c.tr.handle(c, b)
}

func (c *trackerConn) Recv(ctx context.Context) (wire.Message, error) {
	b, err := c.box.get(ctx)
	if err != nil {
		return nil, err
	}
	return wire.DecodeFromServer(b)
}

func (c *trackerConn) Close() error {
	c.tr.mu.Lock()
	c.tr.leave(c)
	c.tr.mu.Unlock()
	c.box.close()
	return nil
}

// mailbox is an unbounded queue of encoded messages.
type mailbox struct {
	mu     sync.Mutex
	q      [][]byte
	wake   chan struct{}
	closed bool
}

func newMailbox() *mailbox { return &mailbox{wake: make(chan struct{}, 1)} }

func (b *mailbox) put(m []byte) {
	b.mu.Lock()
	if !b.closed {
		b.q = append(b.q, m)
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *mailbox) get(ctx context.Context) ([]byte, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, errors.New("connection closed")
		}
		if len(b.q) > 0 {
			m := b.q[0]
			b.q = b.q[1:]
			b.mu.Unlock()
			return m, nil
		}
		b.mu.Unlock()
		select {
		case <-b.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (b *mailbox) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *mailbox) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}
