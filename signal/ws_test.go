package signal

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/wire"
)

// TestPingsKeepIdlePeer: a joined peer that sends nothing but answers
// pings stays connected for many times the pong timeout.
func TestPingsKeepIdlePeer(t *testing.T) {
	cfg := testConfig()
	// A pong timeout far above a scheduling hiccup of a loaded machine
	// (-race, other tests), and pings for 3 times the deadline.
	cfg.PingInterval = 10 * time.Millisecond
	cfg.PongTimeout = 150 * time.Millisecond
	const pingsWanted = 3 * (10 + 150) / 10
	h := newHub(t, cfg, Options{})
	c := dial(t, serve(t, h))
	c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})

	pings := make(chan struct{}, 1)
	c.c.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return c.c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(waitFor))
	})
	msgs := make(chan wire.Message)
	go func() {
		defer close(msgs)
		for {
			m, err := c.next()
			if err != nil {
				return
			}
			msgs <- m
		}
	}()
	for range pingsWanted {
		select {
		case <-pings:
		case <-msgs:
			t.Fatal("connection closed or message before the pings")
		case <-time.After(waitFor):
			t.Fatal("no ping")
		}
	}
	// Still joined: a second join is refused, not ignored.
	c.send(&wire.Join{Swarm: swarmA, Ticket: h.IssueTicket(swarmA)})
	if m, ok := <-msgs; !ok {
		t.Fatal("connection closed")
	} else {
		expectError(t, m, wire.CodeAlreadyJoined)
	}
	_ = c.c.Close()
	for range msgs {
	}
}

// TestWrappedConnections: connections that cannot be detached from
// fasthttp (here wrapped to count connections per IP) are served too.
func TestWrappedConnections(t *testing.T) {
	h := newHub(t, testConfig(), Options{})
	url := serveWith(t, h, &fasthttp.Server{MaxConnsPerIP: 10})
	a, b := dial(t, url), dial(t, url)
	idA := a.join(swarmA, h.IssueTicket(swarmA), wire.Caps{Upload: true}).PeerID
	b.join(swarmA, h.IssueTicket(swarmA), wire.Caps{Upload: true})
	b.send(&wire.Relay{To: idA, Session: "w1", Kind: wire.KindOffer, SDP: "v=0 offer"})
	for {
		if r, ok := a.recv().(*wire.Relay); ok {
			if r.SDP != "v=0 offer" {
				t.Fatalf("a got %#v", r)
			}
			break
		}
	}
}

func TestBadHandshakes(t *testing.T) {
	h := newHub(t, testConfig(), Options{})
	url := serve(t, h)
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), wire.SignalPath)
	const upgrade = "GET " + wire.SignalPath + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	tests := []struct {
		name    string
		request string
		status  int // 0: closed without a response
	}{
		{"not websocket", "GET " + wire.SignalPath + " HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest},
		{"no key", upgrade + "\r\n", http.StatusBadRequest},
		{"key not 16 bytes", upgrade + "Sec-WebSocket-Key: c2hvcnQ=\r\n\r\n", http.StatusBadRequest},
		{"valid", upgrade + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", http.StatusSwitchingProtocols},
		// A frame sent before the handshake response: the client does
		// not speak the protocol.
		{"data before the response", upgrade + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\x81\x80\x00\x00\x00\x00", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(waitFor))
			if _, err := c.Write([]byte(tc.request)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if tc.status == 0 {
				if err == nil {
					t.Fatalf("got %s, want the connection closed", resp.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("got %s, want %d", resp.Status, tc.status)
			}
		})
	}
}
