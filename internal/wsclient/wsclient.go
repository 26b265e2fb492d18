// Package wsclient is the client end of the node's signaling WebSocket for
// Go programs: tests, the swarm benchmark's Go peers and tools. It speaks
// wire messages over a real WebSocket, exactly as the browser script does.
package wsclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Conn is one signaling connection. Send and Recv may be called from
// different goroutines; each from one goroutine at a time.
type Conn struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	frames chan frame
	done   chan struct{}
	once   sync.Once
}

type frame struct {
	m   wire.Message
	err error
}

// Dial connects to url (ws://host:port/swarm).
func Dial(ctx context.Context, url string) (*Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("wsclient: %w", err)
	}
	ws.SetReadLimit(wire.MaxMessageSize + 1024)
	c := &Conn{ws: ws, frames: make(chan frame, 64), done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *Conn) read() {
	defer close(c.frames)
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.deliver(frame{err: err})
			return
		}
		if typ != websocket.TextMessage {
			c.deliver(frame{err: errors.New("wsclient: binary message from the server")})
			return
		}
		m, err := wire.DecodeFromServer(data)
		if !c.deliver(frame{m: m, err: err}) {
			return
		}
	}
}

func (c *Conn) deliver(f frame) bool {
	select {
	case c.frames <- f:
		return true
	case <-c.done:
		return false
	}
}

// Send encodes and sends one message.
func (c *Conn) Send(m wire.Message) error {
	data, err := wire.Encode(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// Recv returns the next message from the server. A message that does not
// decode is returned as its error; the connection stays usable.
func (c *Conn) Recv(ctx context.Context) (wire.Message, error) {
	select {
	case f, ok := <-c.frames:
		if !ok {
			return nil, errors.New("wsclient: connection closed")
		}
		return f.m, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close closes the connection.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		close(c.done)
		c.wmu.Lock()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.wmu.Unlock()
		err = c.ws.Close()
	})
	return err
}
