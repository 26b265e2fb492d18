package signal

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/edgeswarm/edgeswarm/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp keeps one process-wide goroutine that refreshes the
		// Date header.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		// Shut down fasthttp servers leave their idle-worker cleaner asleep
		// for up to 10s before it sees the stop.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

const testSecret = "0123456789abcdef-test-secret"

// waitFor bounds every wait of a test.
const waitFor = 10 * time.Second

func testConfig() Config {
	c := DefaultConfig()
	c.TicketSecret = testSecret
	return c
}

// newHub returns a hub closed at the end of the test, with its own
// registry.
func newHub(t testing.TB, cfg Config, opt Options) *Hub {
	t.Helper()
	if opt.Registerer == nil {
		opt.Registerer = prometheus.NewRegistry()
	}
	h, err := New(cfg, wire.DefaultClientConfig(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// serve starts a fasthttp server on a loopback port for h and returns
// the WebSocket URL of its signaling path.
func serve(t testing.TB, h *Hub) string {
	t.Helper()
	return serveWith(t, h, &fasthttp.Server{})
}

// serveWith is serve with a server configured by the caller; its Handler
// is set here.
func serveWith(t testing.TB, h *Hub, srv *fasthttp.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == wire.SignalPath {
			h.ServeWS(ctx)
			return
		}
		ctx.NotFound()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return "ws://" + ln.Addr().String() + wire.SignalPath
}

// wsClient is a test WebSocket client.
type wsClient struct {
	t testing.TB
	c *websocket.Conn
}

func dial(t testing.TB, url string) *wsClient {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) sendRaw(mt int, b []byte) {
	w.t.Helper()
	if err := w.c.WriteMessage(mt, b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func (w *wsClient) send(m wire.Message) {
	w.t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		w.t.Fatalf("encode %s: %v", m.Type(), err)
	}
	w.sendRaw(websocket.TextMessage, b)
}

// recv returns the next server message; it fails the test on a close.
func (w *wsClient) recv() wire.Message {
	w.t.Helper()
	m, err := w.next()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return m
}

func (w *wsClient) next() (wire.Message, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(waitFor))
	mt, b, err := w.c.ReadMessage()
	if err != nil {
		return nil, err
	}
	if mt != websocket.TextMessage {
		w.t.Fatalf("message type %d, want text", mt)
	}
	m, err := wire.DecodeFromServer(b)
	if err != nil {
		w.t.Fatalf("server sent %q: %v", b, err)
	}
	return m, nil
}

// join joins swarm and returns the welcome; the digests and peers that
// follow are left to the caller.
func (w *wsClient) join(swarm, ticket string, caps wire.Caps) *wire.Welcome {
	w.t.Helper()
	w.send(&wire.Join{Swarm: swarm, Ticket: ticket, Caps: caps})
	m := w.recv()
	wl, ok := m.(*wire.Welcome)
	if !ok {
		w.t.Fatalf("join %s: got %#v, want welcome", swarm, m)
	}
	return wl
}

// expectError reads the next message and checks it is an error of code.
func expectError(t testing.TB, m wire.Message, code wire.Code) *wire.Error {
	t.Helper()
	e, ok := m.(*wire.Error)
	if !ok || e.Code != code {
		t.Fatalf("got %#v, want error %s", m, code)
	}
	return e
}

// expectClose reads until the connection closes and checks the close code.
func (w *wsClient) expectClose(code int) {
	w.t.Helper()
	for {
		_, err := w.next()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			w.t.Fatalf("read: %v, want close %d", err, code)
		}
		if ce.Code != code {
			w.t.Fatalf("close code %d (%q), want %d", ce.Code, ce.Text, code)
		}
		return
	}
}

// expectGone reads until the connection fails, ignoring messages.
func (w *wsClient) expectGone() {
	w.t.Helper()
	for {
		if _, err := w.next(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.t.Fatalf("connection still open after %v", waitFor)
			}
			return
		}
	}
}

// local connects an in-process peer closed at the end of the test.
func local(t testing.TB, h *Hub, seeder bool) *Local {
	t.Helper()
	l, err := h.Connect(context.Background(), LocalOptions{Seeder: seeder})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func recvLocal(t testing.TB, l *Local) wire.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	m, err := l.Recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return m
}

func sendLocal(t testing.TB, l *Local, m wire.Message) {
	t.Helper()
	if err := l.Send(m); err != nil {
		t.Fatalf("send %s: %v", m.Type(), err)
	}
}

// joinLocal joins swarm and returns the peer id, after reading welcome.
func joinLocal(t testing.TB, l *Local, swarm, ticket string, caps wire.Caps) string {
	t.Helper()
	sendLocal(t, l, &wire.Join{Swarm: swarm, Ticket: ticket, Caps: caps})
	m := recvLocal(t, l)
	w, ok := m.(*wire.Welcome)
	if !ok {
		t.Fatalf("got %#v, want welcome", m)
	}
	return w.PeerID
}

func digestOf(key string, seq uint64, size uint64) wire.SegmentDigest {
	return wire.SegmentDigest{Key: key, Seq: &seq, Size: size, SHA256: strings.Repeat("ab", 32)}
}

func peerIDs(m wire.Message) []string {
	p, ok := m.(*wire.Peers)
	if !ok {
		return nil
	}
	var ids []string
	for _, i := range p.Peers {
		ids = append(ids, i.ID)
	}
	return ids
}
