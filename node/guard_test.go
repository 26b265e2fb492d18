package node

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/wire"
)

// fdChildEnv marks the re-executed test binary that runs the node under a
// low file descriptor limit.
const fdChildEnv = "EDGESWARM_FD_CHILD"

// TestNodeSurvivesFDExhaustion runs a node in a child process whose
// RLIMIT_NOFILE is 96, opens far more idle connections to it than that,
// and checks that the node keeps serving: the admin port answers, a
// viewer still gets a segment while the idle connections are held, and
// again once they are gone.
func TestNodeSurvivesFDExhaustion(t *testing.T) {
	if os.Getenv(fdChildEnv) != "" {
		fdChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNodeSurvivesFDExhaustion$", "-test.count=1")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = stdin.Close()
		if err := <-exited; err != nil {
			t.Errorf("child: %v\n%s", err, stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	var pub, admin string
	for lines.Scan() {
		if _, err := fmt.Sscanf(lines.Text(), "NODE %s %s", &pub, &admin); err == nil {
			break
		}
	}
	if pub == "" {
		t.Fatalf("the child printed no addresses:\n%s", stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	var idle []net.Conn
	for range 300 {
		c, err := net.Dial("tcp", pub)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	// Every connection has reached the node once the shed ones add up.
	waitFor(t, func() bool { return adminMetric(t, admin, "edgeswarm_connections_shed_total") >= 300-64 })
	if resp, _ := httpGet(t, "http://"+admin+"/healthz"); resp.StatusCode != 200 {
		t.Fatalf("admin /healthz while descriptors are short: %d", resp.StatusCode)
	}
	if resp, body := httpGet(t, "http://"+pub+"/seg.ts"); resp.StatusCode != 200 || string(body) != "segment" {
		t.Fatalf("viewer while idle connections are held: %d %q", resp.StatusCode, body)
	}
	for _, c := range idle {
		_ = c.Close()
	}
	if resp, body := httpGet(t, "http://"+pub+"/seg2.ts"); resp.StatusCode != 200 || string(body) != "segment" {
		t.Fatalf("viewer after the idle connections left: %d %q", resp.StatusCode, body)
	}
}

// fdChild is the child's side: a node with 96 descriptors at most, until
// stdin closes.
func fdChild(t *testing.T) {
	lim := syscall.Rlimit{Cur: 96, Max: 96}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err != nil {
		t.Fatal(err)
	}
	lim.Max = cur.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("segment")) })
	cfg := testConfig(o.URL)
	cfg.SuperPeer = false
	cfg.MaxConnsPerIP = 0 // every test connection comes from 127.0.0.1
	n := startNode(t, cfg, nil)
	fmt.Printf("NODE %s %s\n", n.Addr(), n.AdminAddr())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// adminMetric reads one unlabelled series from the admin port.
func adminMetric(t *testing.T, admin, name string) float64 {
	t.Helper()
	resp, body := httpGet(t, "http://"+admin+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func TestPerIPConnectionCap(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("segment")) })
	cfg := testConfig(o.URL)
	cfg.MaxConnsPerIP = 3
	n := startNode(t, cfg, nil)
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", n.Addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The fourth from the same address is closed without an answer.
	c, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "GET /a.ts HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Fatalf("the connection over the cap got %q", b)
	}
	_ = c.Close()
	if v := adminMetric(t, n.AdminAddr(), `edgeswarm_connections_refused_total{reason="per_ip"}`); v != 1 {
		t.Fatalf("refused per_ip = %v, want 1", v)
	}
	// A held connection is served; once one closes, a new one is admitted.
	_, _ = io.WriteString(held[0], "GET /a.ts HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(held[0]), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("held connection: %v %v", resp, err)
	}
	_ = held[0].Close()
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + n.Addr() + "/a.ts")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == 200
	})
	for _, c := range held[1:] {
		_ = c.Close()
	}
}

func TestHasBareLF(t *testing.T) {
	for _, tt := range []struct {
		in     string
		prevCR bool
		bad    bool
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, false},
		{"GET / HTTP/1.1\nHost: x\n\n", false, true},
		{"\n", true, false},
		{"\n", false, true},
		{"abc", false, false},
		{"a\r\nb\n", false, true},
	} {
		if bad, _ := hasBareLF([]byte(tt.in), tt.prevCR); bad != tt.bad {
			t.Errorf("hasBareLF(%q, %v) = %v", tt.in, tt.prevCR, bad)
		}
	}
}

// FuzzHasBareLF checks the scanner against the plain definition, and that
// splitting the input anywhere gives the same answer.
func FuzzHasBareLF(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 5)
	f.Add([]byte("GET / HTTP/1.1\nHost: x\n\n"), 15)
	f.Add([]byte("\r\n"), 1)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		want := false
		for i, c := range b {
			if c == '\n' && (i == 0 || b[i-1] != '\r') {
				want = true
				break
			}
		}
		if got, _ := hasBareLF(b, false); got != want {
			t.Fatalf("hasBareLF(%q) = %v, want %v", b, got, want)
		}
		if len(b) == 0 {
			return
		}
		cut = int(uint(cut) % uint(len(b)))
		bad, cr := hasBareLF(b[:cut], false)
		if !bad {
			bad, _ = hasBareLF(b[cut:], cr)
		}
		if bad != want {
			t.Fatalf("split at %d: %v, want %v", cut, bad, want)
		}
	})
}

// TestShedsLongestIdleNeverBusy drives the guard on a real loopback
// listener with room for two connections: a third sheds the one idle the
// longest, never one serving a request, and with none idle it is refused.
func TestShedsLongestIdleNeverBusy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(nil)
	g := newGuardListener(ln, 0, 4, m, func(string, ...any) {}) // 4 fds, 2 in reserve
	defer g.Close()
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := g.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// closedByServer reports whether the server side of c was closed.
	closedByServer := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second)) // bounds a failing test only
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF
	}
	a, b := dial(), dial()
	<-accepted
	sb := <-accepted
	g.connState(sb, fasthttp.StateActive) // b is being served
	dial()
	sc := <-accepted
	if !closedByServer(a) {
		t.Fatal("the idle connection was not shed")
	}
	g.connState(sc, fasthttp.StateActive)
	d := dial() // both open ones busy: refused
	if !closedByServer(d) {
		t.Fatal("a connection over the cap with none idle was kept")
	}
	g.connState(sb, fasthttp.StateIdle)
	_ = dial()
	<-accepted
	if !closedByServer(b) {
		t.Fatal("the connection idle again was not shed")
	}
	if got := testutil.ToFloat64(m.shed); got != 2 {
		t.Fatalf("shed = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.refusedFDs); got != 1 {
		t.Fatalf("refused fd_limit = %v, want 1", got)
	}
}

func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"192.0.2.7:4000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:4000", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:4000", "2001:db8:1:2::"},
		{"[2001:db8:1:2::1]:1", "2001:db8:1:2::"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := clientKey(a).String(); got != tt.want {
			t.Errorf("clientKey(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

// TestSignalingConnectionsLeaveFasthttpAndStayCounted: a viewer's
// signaling WebSocket is served by the hub on a duplicate of its socket,
// so that fasthttp's read buffer and request context (about 10 KiB) are
// not held for each of tens of thousands of idle viewers; the guard still
// counts it against max_conns_per_ip until it closes.
func TestSignalingConnectionsLeaveFasthttpAndStayCounted(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("segment")) })
	cfg := testConfig(o.URL)
	cfg.MaxConnsPerIP = 2
	cfg.Signal.Open = true
	n := startNode(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var held []*wsclient.Conn
	for range 2 {
		c, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		held = append(held, c)
	}
	// fasthttp lets go of a connection's buffers and request context once
	// its hijack handler returned: no goroutine of fasthttp serves them.
	waitFor(t, func() bool {
		var b bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		return !bytes.Contains(b.Bytes(), []byte("fasthttp.hijackConnHandler"))
	})
	// Both still count: a third connection from the address is refused.
	c, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "GET /a.ts HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Fatalf("a connection over the cap got %q", b)
	}
	_ = c.Close()
	if v := adminMetric(t, n.AdminAddr(), `edgeswarm_connections_refused_total{reason="per_ip"}`); v != 1 {
		t.Fatalf("refused per_ip = %v, want 1", v)
	}
	// The WebSockets work: a join is welcomed.
	if err := held[0].Send(&wire.Join{Swarm: "/live/low/index.m3u8", Caps: wire.Caps{Upload: true}}); err != nil {
		t.Fatal(err)
	}
	if m, err := held[0].Recv(ctx); err != nil {
		t.Fatalf("no welcome: %v", err)
	} else if _, ok := m.(*wire.Welcome); !ok {
		t.Fatalf("got %T, want a welcome", m)
	}
	// One closes: its place is free again.
	_ = held[1].Close()
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + n.Addr() + "/a.ts")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == 200
	})
}
