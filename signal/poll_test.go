package signal

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/wire"
)

// readModels runs f with each way of reading WebSockets: pollers (where
// the platform has them; one, and several) and a goroutine per
// connection.
func readModels(t *testing.T, f func(t *testing.T, cfg Config)) {
	for _, m := range []struct {
		name    string
		pollers int
	}{{"pollers", 2}, {"one-poller", 1}, {"goroutines", 0}} {
		t.Run(m.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Pollers = m.pollers
			f(t, cfg)
		})
	}
}

// raw writes frames as a client would, on the connection under c.
func (w *wsClient) raw(frames ...[]byte) {
	w.t.Helper()
	if _, err := w.c.NetConn().Write(bytes.Join(frames, nil)); err != nil {
		w.t.Fatal(err)
	}
}

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

func encoded(t testing.TB, m wire.Message) []byte {
	t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWebSocketFrames: what a client may send in frames (fragments,
// control frames between them, several messages in one segment) reaches
// the hub as messages, pings are answered, and what it may not is closed
// with the status RFC 6455 prescribes, in both read models.
func TestWebSocketFrames(t *testing.T) {
	readModels(t, func(t *testing.T, cfg Config) {
		h := newHub(t, cfg, Options{})
		url := serve(t, h)

		t.Run("fragments and pings", func(t *testing.T) {
			c := dial(t, url)
			join := encoded(t, &wire.Join{Swarm: swarmA, Ticket: h.IssueTicket(swarmA)})
			pong := make(chan string, 2)
			c.c.SetPongHandler(func(s string) error { pong <- s; return nil })
			c.raw(clientFrame(false, opText, join[:5], testKey), clientFrame(true, opPing, []byte("p1"), testKey),
				clientFrame(false, opContinuation, join[5:9], testKey), clientFrame(true, opContinuation, join[9:], testKey))
			if _, ok := c.recv().(*wire.Welcome); !ok {
				t.Fatal("no welcome for a fragmented join")
			}
			// Two messages in one write, both answered.
			leave := encoded(t, &wire.Leave{})
			c.raw(clientFrame(true, opText, leave, testKey), clientFrame(true, opText, join, testKey))
			for {
				if _, ok := c.recv().(*wire.Welcome); ok {
					break
				}
			}
			// Pongs come among messages or after them: read on until the
			// connection closes.
			c.raw(clientFrame(true, opPing, []byte("p2"), testKey))
			go func() {
				for {
					if _, _, err := c.c.ReadMessage(); err != nil {
						return
					}
				}
			}()
			for _, want := range []string{"p1", "p2"} {
				select {
				case p := <-pong:
					if p != want {
						t.Fatalf("pong %q, want %q", p, want)
					}
				case <-time.After(waitFor):
					t.Fatalf("no pong %q", want)
				}
			}
		})
		t.Run("binary", func(t *testing.T) {
			c := dial(t, url)
			c.raw(clientFrame(true, opBinary, []byte("{}"), testKey))
			expectError(t, c.recv(), wire.CodeBadRequest)
			c.expectClose(websocket.ClosePolicyViolation)
		})
		t.Run("too large", func(t *testing.T) {
			c := dial(t, url)
			c.raw(clientFrame(true, opText, bytes.Repeat([]byte(" "), wire.MaxMessageSize+1), testKey))
			expectError(t, c.recv(), wire.CodeTooLarge)
			c.expectClose(websocket.CloseMessageTooBig)
		})
		t.Run("unmasked", func(t *testing.T) {
			c := dial(t, url)
			c.raw([]byte{0x81, 0x02, '{', '}'})
			c.expectClose(websocket.CloseProtocolError)
		})
		t.Run("client closes", func(t *testing.T) {
			before := testutil.ToFloat64(h.met.disconnects[reasonClosed])
			c := dial(t, url)
			c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
			c.raw(clientFrame(true, opClose, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), testKey))
			c.expectClose(websocket.CloseNormalClosure) // the server's answer
			// Then the server closes the connection, having counted it.
			_ = c.c.NetConn().SetReadDeadline(time.Now().Add(waitFor))
			if _, err := c.c.NetConn().Read(make([]byte, 1)); err == nil {
				t.Fatal("data after the close frame")
			}
			if got := testutil.ToFloat64(h.met.disconnects[reasonClosed]) - before; got != 1 {
				t.Errorf("closed disconnects = %v, want 1", got)
			}
		})
	})
}

// TestReadModelsRelayAndTimeouts: relays pass and idle connections time
// out alike whether pollers or goroutines read them.
func TestReadModelsRelayAndTimeouts(t *testing.T) {
	readModels(t, func(t *testing.T, cfg Config) {
		cfg.JoinTimeout = 100 * time.Millisecond
		h := newHub(t, cfg, Options{})
		url := serve(t, h)
		// Enough connections for every poller to hold several.
		var cs []*wsClient
		var ids []string
		for range 8 {
			c := dial(t, url)
			ids = append(ids, c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{Upload: true}).PeerID)
			cs = append(cs, c)
		}
		for i, c := range cs {
			to := (i + 1) % len(cs)
			c.send(&wire.Relay{To: ids[to], Session: "s", Kind: wire.KindOffer, SDP: "v=0 from " + ids[i]})
		}
		for i, c := range cs {
			from := ids[(i+len(cs)-1)%len(cs)]
			for {
				if r, ok := c.recv().(*wire.Relay); ok {
					if r.SDP != "v=0 from "+from {
						t.Fatalf("relay %q, want from %s", r.SDP, from)
					}
					break
				}
			}
		}
		dial(t, url).expectGone()
		if got := testutil.ToFloat64(h.met.disconnects[reasonJoinTimeout]); got != 1 {
			t.Errorf("join timeouts = %v, want 1", got)
		}
	})
}

// TestPolledConnectionsHoldNoGoroutine: with pollers, an idle viewer
// costs no goroutine of its own (that, not the figure, is the point of
// the read model), and the pollers go with the hub.
func TestPolledConnectionsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pollers need epoll")
	}
	cfg := testConfig()
	cfg.Pollers = 2
	h := newHub(t, cfg, Options{})
	url := serve(t, h)
	first := dial(t, url)
	first.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
	base := runtime.NumGoroutine()
	const n = 50
	for range n {
		dial(t, url).join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
	}
	// Each test client has a goroutine or none (gorilla reads on the
	// caller's); the server side of a goroutine-read connection would add
	// one more per connection.
	if got := runtime.NumGoroutine() - base; got >= n {
		t.Errorf("%d goroutines more for %d connections", got, n)
	}
}

// TestCloseCutsConnections: a hub whose shutdown runs out of time cuts
// the connections whose clients do not answer its close, however they
// are read, and returns.
func TestCloseCutsConnections(t *testing.T) {
	readModels(t, func(t *testing.T, cfg Config) {
		h, err := New(cfg, wire.DefaultClientConfig(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		url := serve(t, h)
		c := dial(t, url)
		c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
		// A client that reads nothing more, so never answers the close.
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close: %v, want the deadline's error", err)
		}
		if got := testutil.ToFloat64(h.met.disconnects[reasonShutdown]); got != 1 {
			t.Errorf("shutdown disconnects = %v, want 1", got)
		}
		c.expectGone()
	})
}

// TestPollersLoseNoMessage: many clients in request-and-answer turns on
// few pollers, each answer waited for before the next request, so that a
// wake-up a poller missed would leave a client waiting for ever.
func TestPollersLoseNoMessage(t *testing.T) {
	readModels(t, func(t *testing.T, cfg Config) {
		cfg.MessageRate, cfg.MessageBurst = 1e6, 1e6
		h := newHub(t, cfg, Options{})
		url := serve(t, h)
		const clients, turns = 64, 40
		cs := make([]*wsClient, clients)
		for i := range cs {
			cs[i] = dial(t, url)
		}
		errs := make(chan error, clients)
		for _, c := range cs {
			go func() {
				for range turns {
					b, _ := wire.Encode(&wire.Leave{}) // not joined: answered with an error
					if err := c.c.WriteMessage(websocket.TextMessage, b); err != nil {
						errs <- err
						return
					}
					_ = c.c.SetReadDeadline(time.Now().Add(waitFor))
					if _, _, err := c.c.ReadMessage(); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range clients {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})
}
