package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafov/m3u8"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/procstat"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/wire"
)

var (
	benchPeers    = flag.Int("node.peers", 50, "viewers (Go test peers, and as many HTTP clients) in BenchmarkSuperPeerVsHTTP")
	benchSegments = flag.Int("node.segments", 4, "segments every viewer fetches per iteration in BenchmarkSuperPeerVsHTTP")
	benchSegSize  = flag.Int("node.segment", 256<<10, "synthetic segment size in bytes in BenchmarkSuperPeerVsHTTP")
)

// BenchmarkSuperPeerVsHTTP measures the node's super-peer against the
// node's own HTTP front, in one run, on the same bytes. A node with the
// synthetic demo origin caches -node.segments segments of its VOD stream;
// -node.peers Go test peers (pion) join the swarm over the node's real
// signaling WebSocket, with the ticket of the playlist response, and each
// connects to the super-peer. Then, per iteration:
//
//  1. every peer requests every segment, one after another, from the
//     super-peer by sequence, and verifies it against the digest the
//     tracker published;
//  2. as many HTTP clients (one connection each, opened beforehand) fetch
//     the same segments from the node's HTTP front and verify them the
//     same way.
//
// It reports the peer connections the super-peer held, the aggregate
// DataChannel and HTTP throughput and their ratio, the process's CPU
// seconds per MB of each, the heap per peer connection, and the UDP
// datagrams the kernel dropped for full receive buffers while the peers
// fetched (each drop costs an SCTP retransmission). The viewers,
// the HTTP clients and the node share this process and its cores: CPU and
// heap figures cover both ends of every connection, and the clients'
// work competes with the node's. Setup takes long with many peers; run
// one iteration:
//
//	go test ./node -run '^$' -bench SuperPeerVsHTTP -benchtime 1x -args -node.peers=500
func BenchmarkSuperPeerVsHTTP(b *testing.B) {
	netns.RequireLoopbackOnly(b)
	peers, segments, size := *benchPeers, *benchSegments, *benchSegSize
	if peers < 1 || segments < 1 || size < 1 {
		b.Fatalf("-node.peers %d, -node.segments %d, -node.segment %d: all must be positive", peers, segments, size)
	}
	cfg := testConfig("")
	cfg.Demo.Synthetic = true
	cfg.Demo.SegmentSize = ByteSize(size)
	cfg.CacheSize = ByteSize(max(64<<20, 4*segments*size))
	cfg.SuperPeer = true
	cfg.Seeder.Loopback = true
	cfg.Seeder.PushK = 0       // viewers take no pushes: every byte is requested
	cfg.Seeder.BusyHolders = 0 // never steer a request to the viewers that hold the segment
	cfg.Seeder.MaxPeers = max(cfg.Seeder.MaxPeers, peers)
	n := startNode(b, cfg, nil)
	base := "http://" + n.Addr()

	// The playlist names the swarm and carries the ticket; fetching the
	// segments over HTTP caches them and publishes their digests.
	r, body := httpGet(b, base+"/vod/low/index.m3u8")
	swarm, ticket := r.Header.Get(wire.SwarmHeader), r.Header.Get(wire.TicketHeader)
	p, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MEDIA || swarm == "" || ticket == "" {
		b.Fatalf("VOD playlist: %v (swarm %q, ticket %q)", err, swarm, ticket)
	}
	media := p.(*m3u8.MediaPlaylist)
	if int(media.Count()) < segments {
		b.Fatalf("the VOD playlist has %d segments, want -node.segments %d at most", media.Count(), segments)
	}
	urls := make([]string, segments)
	seqs := make([]uint64, segments)
	for i := range segments {
		urls[i] = base + "/vod/low/" + media.Segments[i].URI
		seqs[i] = media.SeqNo + uint64(i)
		if r, seg := httpGet(b, urls[i]); r.StatusCode != 200 || len(seg) != size {
			b.Fatalf("%s: %d, %d bytes", urls[i], r.StatusCode, len(seg))
		}
	}

	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	viewers := make([]*testpeer.Peer, peers)
	seederIDs := make([]string, peers)
	b.Cleanup(func() {
		var wg sync.WaitGroup
		for _, v := range viewers {
			if v != nil {
				wg.Go(func() { _ = v.Close() })
			}
		}
		wg.Wait()
	})
	var failed atomic.Int64
	var firstErr sync.Once
	connect := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range connect {
				v, id, err := joinSuperPeer(n, swarm, ticket)
				viewers[i], seederIDs[i] = v, id
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { b.Logf("viewer %d: %v", i, err) })
				}
			}
		})
	}
	for i := range peers {
		connect <- i
	}
	close(connect)
	wg.Wait()
	setup := time.Since(start)
	held := metricValue(b, n.metrics.reg, "edgeswarm_seeder_peer_connections", "", "")
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d viewers could not connect to the super-peer (it holds %v connections)", f, peers, held)
	}
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)

	// Digests, for checking the HTTP bodies like the peers check theirs.
	sums := make([]string, segments)
	for i, seq := range seqs {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		d, err := viewers[0].Digest(ctx, seq)
		cancel()
		if err != nil {
			b.Fatalf("digest of segment %d: %v", seq, err)
		}
		sums[i] = d.SHA256
	}

	// One HTTP client per viewer, each with its connection open.
	clients := make([]*http.Client, peers)
	for i := range clients {
		tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
		b.Cleanup(tr.CloseIdleConnections)
		clients[i] = &http.Client{Transport: tr}
	}
	if err := forEach(peers, 1, func(i, _ int) error {
		return httpFetch(clients[i], base+"/vod/low/index.m3u8", "")
	}); err != nil {
		b.Fatalf("opening the HTTP connections: %v", err)
	}

	sentDC0 := metricValue(b, n.metrics.reg, "edgeswarm_seeder_sent_bytes_total", "swarm", swarm)
	sentHTTP0 := metricValue(b, n.metrics.reg, "edgeswarm_bytes_sent_total", "path", "http")
	drops0 := procstat.UDPRcvbufErrors()
	b.ResetTimer()
	cpu0, t0 := procstat.CPUTime(), time.Now()
	err = forEach(peers, b.N*segments, func(i, k int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_, err := viewers[i].Fetch(ctx, seederIDs[i], seqs[(i+k)%segments])
		return err
	})
	dcTime, dcCPU := time.Since(t0), procstat.CPUTime()-cpu0
	b.StopTimer()
	drops := procstat.UDPRcvbufErrors() - drops0
	if err != nil {
		b.Fatalf("fetch from the super-peer: %v", err)
	}
	cpu0, t0 = procstat.CPUTime(), time.Now()
	err = forEach(peers, b.N*segments, func(i, k int) error {
		j := (i + k) % segments
		return httpFetch(clients[i], urls[j], sums[j])
	})
	httpTime, httpCPU := time.Since(t0), procstat.CPUTime()-cpu0
	if err != nil {
		b.Fatalf("fetch over HTTP: %v", err)
	}

	total := float64(b.N * peers * segments * size)
	if sent := metricValue(b, n.metrics.reg, "edgeswarm_seeder_sent_bytes_total", "swarm", swarm) - sentDC0; sent != total {
		b.Errorf("the super-peer sent %v bytes, want %v", sent, total)
	}
	if sent := metricValue(b, n.metrics.reg, "edgeswarm_bytes_sent_total", "path", "http") - sentHTTP0; sent != total {
		b.Errorf("the HTTP front sent %v body bytes, want %v", sent, total)
	}
	for _, v := range viewers {
		if err := v.Err(); err != nil {
			b.Errorf("viewer %s: %v", v.ID(), err)
		}
	}
	mb := total / 1e6
	dcMBs, httpMBs := mb/dcTime.Seconds(), mb/httpTime.Seconds()
	b.Logf("%d viewers and %d HTTP clients share this process and its %d cores with the node: "+
		"CPU and heap figures cover both ends of every connection", peers, peers, runtime.NumCPU())
	b.Logf("%.0f MB each way: DataChannels %.1f MB/s (%v), HTTP %.1f MB/s (%v); %d peers connected in %v",
		mb, dcMBs, dcTime.Round(time.Millisecond), httpMBs, httpTime.Round(time.Millisecond), peers, setup.Round(time.Millisecond))
	b.ReportMetric(held, "peerconns")
	b.ReportMetric(setup.Seconds(), "connect-s")
	b.ReportMetric(dcMBs, "dc-MB/s")
	b.ReportMetric(httpMBs, "http-MB/s")
	b.ReportMetric(dcMBs/httpMBs, "dc/http")
	b.ReportMetric(dcCPU.Seconds()/mb, "dc-cpu-s/MB")
	b.ReportMetric(httpCPU.Seconds()/mb, "http-cpu-s/MB")
	b.ReportMetric(float64(drops), "udp-drops")
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(peers), "heap-B/peerconn")
}

// joinSuperPeer joins swarm over the node's signaling WebSocket as a
// viewer that takes no pushes and offers only to the super-peer, and
// waits until their connection is ready.
func joinSuperPeer(n *Node, swarm, ticket string) (*testpeer.Peer, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
	if err != nil {
		return nil, "", err
	}
	v, err := testpeer.Join(ctx, conn, swarm, testpeer.Options{OnlySeeders: true, Ticket: ticket})
	if err != nil {
		conn.Close()
		return nil, "", err
	}
	id, err := v.WaitReady(ctx, "")
	if err != nil {
		return v, "", fmt.Errorf("connecting to the super-peer: %w (%v)", err, v.Err())
	}
	return v, id, nil
}

// forEach runs fetch(i, k) for k in [0, rounds) one after another, for
// every i in [0, workers) at once, and returns the first error.
func forEach(workers, rounds int, fetch func(i, k int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			for k := range rounds {
				if err := fetch(i, k); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// httpFetch GETs url and, when sum is not empty, checks the body's SHA-256.
func httpFetch(c *http.Client, url, sum string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	if sum != "" && hex.EncodeToString(h.Sum(nil)) != sum {
		return fmt.Errorf("%s: body does not match its digest", url)
	}
	return nil
}

// metricValue returns the value of the gauge or counter name in reg whose
// label has the value (any series when label is empty), 0 when absent.
func metricValue(tb testing.TB, reg *prometheus.Registry, name, label, value string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				match = match || (lp.GetName() == label && lp.GetValue() == value)
			}
			if match {
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
