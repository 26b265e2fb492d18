package signal

import (
	"sync"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Bus delivers messages to peers by id. The swarm logic of a Hub decides
// who receives what (candidates, relays, digests, departures); the bus
// only gets each message to the connection holding that peer id, wherever
// it is. The in-process bus (the default) reaches the peers of this node;
// a bus spanning nodes (NATS) reaches peers connected elsewhere too.
//
// Messages handed to a bus are shared and read-only: several recipients
// may get the same value.
type Bus interface {
	// Attach makes mb reachable under id until detach is called. Ids are
	// unique: the hub never attaches an id twice.
	Attach(id string, mb Mailbox) (detach func())
	// Deliver hands m to the peer id. It reports false when no peer of
	// that id is reachable (it left, or never existed). A mailbox that is
	// full counts as delivered: its owner is being disconnected.
	Deliver(id string, m wire.Message) bool
}

// Mailbox is one connection's bounded send queue, as a Bus sees it.
type Mailbox interface {
	// Put queues m without blocking. When the queue is full the owner is
	// disconnected and Put reports false.
	Put(m wire.Message) bool
}

// localBus is the in-process Bus.
type localBus struct {
	mu    sync.RWMutex
	boxes map[string]Mailbox
}

func newLocalBus() *localBus { return &localBus{boxes: make(map[string]Mailbox)} }

var _ Bus = (*localBus)(nil)

func (b *localBus) Attach(id string, mb Mailbox) func() {
	b.mu.Lock()
	b.boxes[id] = mb
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		if b.boxes[id] == mb {
			delete(b.boxes, id)
		}
		b.mu.Unlock()
	}
}

func (b *localBus) Deliver(id string, m wire.Message) bool {
	b.mu.RLock()
	mb := b.boxes[id]
	b.mu.RUnlock()
	if mb == nil {
		return false
	}
	mb.Put(m)
	return true
}

// shared is a message encoded once for many WebSocket recipients. It
// embeds the message so that in-process recipients see it unchanged.
type shared struct {
	wire.Message
	json []byte
}

// share encodes m once; WebSocket writers send the bytes as they are.
func share(m wire.Message) (wire.Message, error) {
	b, err := wire.Encode(m)
	if err != nil {
		return nil, err
	}
	return &shared{Message: m, json: b}, nil
}

// unwrap returns the message a shared value carries.
func unwrap(m wire.Message) wire.Message {
	if s, ok := m.(*shared); ok {
		return s.Message
	}
	return m
}
