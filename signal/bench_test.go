package signal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/wire"
)

// BenchmarkSwarmPeers connects N WebSocket peers (EDGESWARM_SIGNAL_PEERS,
// default 2000) in swarms of EDGESWARM_SIGNAL_SWARM_SIZE (default 50),
// each joining and relaying one offer to each of its candidates, and
// reports the hub's memory per connected peer and join latency.
//
// The clients run in a child process (this test binary re-executed), so
// that the figures are the server's alone and each process needs one
// file descriptor per peer: N must stay below `ulimit -n` (raise it
// first where the hard limit allows, e.g. ulimit -n 65536), e.g.:
//
//	EDGESWARM_SIGNAL_PEERS=19500 go test ./signal -run '^$' -bench SwarmPeers -benchtime 1x
//
// EDGESWARM_SIGNAL_SERVER_READ_BUFFER sets the fasthttp server's
// ReadBufferSize (default 4096), which a connection hijacked from fasthttp
// keeps unless the hub detaches it (see ServeWS).
func BenchmarkSwarmPeers(b *testing.B) {
	n := envInt("EDGESWARM_SIGNAL_PEERS", 2000)
	size := envInt("EDGESWARM_SIGNAL_SWARM_SIZE", 50)
	var lim = fdLimit()
	if lim < uint64(n)+100 {
		b.Skipf("open file limit %d is below %d peers; raise it with ulimit -n", lim, n)
	}
	for b.Loop() {
		runSwarmBench(b, n, size)
	}
}

func runSwarmBench(b *testing.B, n, size int) {
	cfg := DefaultConfig()
	cfg.Open = true
	cfg.JoinTimeout = time.Minute
	h, err := New(cfg, wire.DefaultClientConfig(), Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	// A connection hijacked from fasthttp keeps its server's read buffer
	// and request context until its hijack handler returns: ServeWS
	// detaches plain sockets so that it returns at once.
	srv := &fasthttp.Server{Handler: h.ServeWS, Concurrency: 1 << 20, ReadBufferSize: envInt("EDGESWARM_SIGNAL_SERVER_READ_BUFFER", 4096)}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()

	before := memNow()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchClients$", "-test.v")
	cmd.Env = append(os.Environ(),
		"EDGESWARM_SIGNAL_BENCH_ADDR="+ln.Addr().String(),
		"EDGESWARM_SIGNAL_PEERS="+strconv.Itoa(n),
		"EDGESWARM_SIGNAL_SWARM_SIZE="+strconv.Itoa(size))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var report string
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			report = line
			break
		}
	}
	if report == "" {
		_ = cmd.Wait()
		b.Fatal("clients reported nothing")
	}
	after := memNow()
	h.mu.Lock()
	live := len(h.sessions)
	h.mu.Unlock()
	goroutines := runtime.NumGoroutine()
	if path := os.Getenv("EDGESWARM_SIGNAL_HEAPPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	perPeer := float64(after.total()-before.total()) / float64(n)
	rssPer := float64(after.rss-before.rss) / float64(n)
	b.ReportMetric(perPeer, "heap+stack-B/peer")
	b.ReportMetric(rssPer, "rss-B/peer")
	b.Logf("%d peers in swarms of %d (%d connected when measured, %d goroutines): server heap+stack %.0f B/peer (heap %.0f, stacks %.0f), RSS %.0f B/peer; clients: %s",
		n, size, live, goroutines, perPeer,
		float64(after.heap-before.heap)/float64(n), float64(after.stack-before.stack)/float64(n), rssPer, report)
	_ = stdin.Close()
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	_ = cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = h.Close(ctx)
	_ = srv.Shutdown()
	<-served
}

type memSample struct{ heap, stack, rss uint64 }

func (m memSample) total() uint64 { return m.heap + m.stack }

func memNow() memSample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := memSample{heap: ms.HeapInuse, stack: ms.StackInuse}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			s.rss = pages * uint64(os.Getpagesize())
		}
	}
	return s
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestBenchClients is the client side of BenchmarkSwarmPeers; it does
// nothing unless the benchmark started it.
func TestBenchClients(t *testing.T) {
	addr := os.Getenv("EDGESWARM_SIGNAL_BENCH_ADDR")
	if addr == "" {
		t.Skip("run by BenchmarkSwarmPeers")
	}
	n := envInt("EDGESWARM_SIGNAL_PEERS", 2000)
	size := envInt("EDGESWARM_SIGNAL_SWARM_SIZE", 50)
	url := "ws://" + addr + wire.SignalPath
	dialer := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: time.Minute}

	type peer struct {
		c     *websocket.Conn
		cands []string
	}
	peers := make([]*peer, n)
	lat := make([]time.Duration, n)
	var relaysIn atomic.Int64
	var wg, readers sync.WaitGroup
	next := atomic.Int64{}
	var failed atomic.Int64
	start := time.Now()
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, _, err := dialer.Dial(url, nil)
				if err != nil {
					failed.Add(1)
					continue
				}
				t0 := time.Now()
				j, _ := wire.Encode(&wire.Join{Swarm: fmt.Sprintf("/live/s%d.m3u8", i/size), Caps: wire.Caps{Upload: i%4 != 3}})
				_ = c.WriteMessage(websocket.TextMessage, j)
				p := &peer{c: c}
				for {
					_, b, err := c.ReadMessage()
					if err != nil {
						failed.Add(1)
						break
					}
					m, _ := wire.DecodeFromServer(b)
					if _, ok := m.(*wire.Welcome); ok {
						lat[i] = time.Since(t0)
						continue
					}
					if _, ok := m.(*wire.Peers); ok {
						p.cands = peerIDs(m)
					}
					// Candidates follow welcome; the first peer of a swarm
					// gets them when the next uploader joins.
					break
				}
				peers[i] = p
				// The client reads in the background from now on
				// (answering pings, however long the other joins take),
				// counting relays.
				readers.Go(func() {
					for {
						_, b, err := p.c.ReadMessage()
						if err != nil {
							return
						}
						if bytes := string(b); strings.Contains(bytes, `"type":"relay"`) {
							relaysIn.Add(1)
						}
					}
				})
			}
		})
	}
	wg.Wait()
	joinTime := time.Since(start)
	var sent int64
	relayStart := time.Now()
	for _, p := range peers {
		if p == nil {
			continue
		}
		for _, id := range p.cands {
			r, _ := wire.Encode(&wire.Relay{To: id, Session: "b1", Kind: wire.KindOffer, SDP: "v=0 bench offer"})
			if p.c.WriteMessage(websocket.TextMessage, r) == nil {
				sent++
			}
		}
	}
	// Wait (bounded) for the relays to arrive.
	tick := time.NewTicker(10 * time.Millisecond)
	for deadline := time.Now().Add(time.Minute); relaysIn.Load() < sent && time.Now().Before(deadline); {
		<-tick.C
	}
	tick.Stop()
	relayTime := time.Since(relayStart)
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
	fmt.Printf("RESULT joined=%d failed=%d joins_in=%v join_p50=%v join_p99=%v relays=%d/%d in %v\n",
		n-int(failed.Load()), failed.Load(), joinTime.Round(time.Millisecond), q(0.5), q(0.99),
		relaysIn.Load(), sent, relayTime.Round(time.Millisecond))
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the connections until the parent measured
	for _, p := range peers {
		if p != nil {
			_ = p.c.Close()
		}
	}
	readers.Wait()
}
