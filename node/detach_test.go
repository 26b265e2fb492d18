//go:build linux

package node

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/edgeswarm/edgeswarm/wire"
)

// TestSignalingConnectionsStayCounted: the hub takes WebSocket sockets
// over from the HTTP server (Detach), and max_conns_per_ip still counts
// them until they close.
func TestSignalingConnectionsStayCounted(t *testing.T) {
	cfg := testConfig("")
	cfg.Signal.Open = true
	cfg.SuperPeer = false
	cfg.MaxConnsPerIP = 2
	n := startNode(t, cfg, nil)
	dialer := &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	var ws []*websocket.Conn
	for range 2 {
		c, _, err := dialer.Dial("ws://"+n.Addr()+wire.SignalPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		j, _ := wire.Encode(&wire.Join{Swarm: "/live/s.m3u8", Caps: wire.Caps{Upload: true}})
		if err := c.WriteMessage(websocket.TextMessage, j); err != nil {
			t.Fatal(err)
		}
		// Served after the handover: the join is answered.
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if m, err := wire.DecodeFromServer(b); err != nil || m.Type() != wire.TypeWelcome {
			t.Fatalf("answer to the join: %s, %v", b, err)
		}
		ws = append(ws, c)
	}
	// The HTTP server keeps nothing of them: no goroutine of its hijack
	// handler (it returned when the hub took the socket).
	buf := make([]byte, 1<<20)
	if st := buf[:runtime.Stack(buf, true)]; bytes.Contains(st, []byte("fasthttp.hijackConnHandler")) {
		t.Fatalf("a WebSocket is still served inside fasthttp's hijack handler:\n%s", st)
	}
	// Both sockets still count: a third connection is closed unanswered.
	c, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "GET /edgeswarm.js HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Fatalf("a connection over the cap got %q", b)
	}
	_ = c.Close()
	// Once a WebSocket closes, its place is free.
	_ = ws[0].Close()
	waitFor(t, func() bool {
		c, _, err := dialer.Dial("ws://"+n.Addr()+wire.SignalPath, nil)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	})
}
