package seeder

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/procstat"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
)

var (
	benchPeers   = flag.Int("seeder.peers", 500, "viewers (Go test peers) in BenchmarkSeederDownload")
	benchSegSize = flag.Int("seeder.segment", 256<<10, "segment size in bytes in BenchmarkSeederDownload")
)

// BenchmarkSeederDownload connects -seeder.peers Go test peers (pion) to
// one super-peer over loopback, then, per iteration, has every viewer
// fetch one segment from it. It reports the peer connections the seeder
// held, aggregate DataChannel egress, CPU and heap per viewer, and the
// same bytes served by a plain net/http server (loopback, same process,
// same concurrency) as a baseline. Both WebRTC ends run in this process,
// so the CPU and memory figures cover a seeder connection and a viewer
// connection together.
//
// It measures the seeder alone, behind fakes of the tracker and the
// cache. The reference the project quotes, the super-peer against the
// node's own HTTP front on the same bytes in the same run with viewers
// joined over the real signaling WebSocket, is BenchmarkSuperPeerVsHTTP
// in package node.
//
//	go test ./seeder -run '^$' -bench SeederDownload -benchtime 3x
func BenchmarkSeederDownload(b *testing.B) {
	netns.RequireLoopbackOnly(b)
	cfg := DefaultConfig()
	cfg.PushK, cfg.BusyHolders = 0, 0
	cfg.MaxPeers = *benchPeers
	e := newEnv(b, cfg, false)
	e.ctx = context.Background() // setup may take longer than a test's
	const segments = 8
	var keys []string
	for i := range segments {
		d := e.src.add(fmt.Sprintf("/live/ch1/720p/%d.ts", i), seq(uint64(i)), *benchSegSize)
		e.tr.publish(testSwarm, d)
		keys = append(keys, d.Key)
	}

	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	viewers := make([]*testpeer.Peer, *benchPeers)
	ids := make([]string, *benchPeers)
	connect := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 16 {
		wg.Go(func() {
			for i := range connect {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				v, err := testpeer.Join(ctx, e.tr.Dial(), testSwarm, testpeer.Options{OnlySeeders: true})
				if err == nil {
					ids[i], err = v.WaitReady(ctx, "")
					viewers[i] = v
				}
				cancel()
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	for i := range viewers {
		connect <- i
	}
	close(connect)
	wg.Wait()
	b.Cleanup(func() {
		for _, v := range viewers {
			if v != nil {
				v.Close()
			}
		}
	})
	setup := time.Since(start)
	held := testutil.ToFloat64(e.s.m.peers)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d viewers could not connect (the seeder holds %v connections)", f, *benchPeers, held)
	}
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)

	// The HTTP reference serves the same bytes from the same source.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := e.src.Segment(r.Context(), r.URL.Path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *benchPeers}}
	b.Cleanup(client.CloseIdleConnections)

	run := func(fetch func(i, n int) error) (time.Duration, time.Duration) {
		cpu0 := procstat.CPUTime()
		t0 := time.Now()
		var wg sync.WaitGroup
		for i := range viewers { // each viewer fetches its segments one after another
			wg.Go(func() {
				for n := range b.N {
					if err := fetch(i, n); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(t0), procstat.CPUTime() - cpu0
	}

	drops0 := procstat.UDPRcvbufErrors()
	b.ResetTimer()
	sent0 := testutil.ToFloat64(e.s.m.sent.WithLabelValues(testSwarm))
	rtcTime, rtcCPU := run(func(i, n int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := viewers[i].Fetch(ctx, ids[i], uint64((i+n)%segments))
		return err
	})
	b.StopTimer()
	drops := procstat.UDPRcvbufErrors() - drops0
	sent := testutil.ToFloat64(e.s.m.sent.WithLabelValues(testSwarm)) - sent0
	httpTime, _ := run(func(i, n int) error {
		resp, err := client.Get("http://" + l.Addr().String() + keys[(i+n)%segments])
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	})
	bytes := float64(b.N * *benchPeers * *benchSegSize)
	if sent != bytes {
		b.Errorf("the seeder sent %v bytes, want %v", sent, bytes)
	}
	rtcMBs := bytes / 1e6 / rtcTime.Seconds()
	httpMBs := bytes / 1e6 / httpTime.Seconds()
	b.ReportMetric(held, "peerconns")
	b.ReportMetric(setup.Seconds(), "connect-s")
	b.ReportMetric(rtcMBs, "dc-MB/s")
	b.ReportMetric(httpMBs, "http-MB/s")
	b.ReportMetric(rtcMBs/httpMBs, "dc/http")
	b.ReportMetric(float64(rtcCPU.Milliseconds())/bytes*1e6, "cpu-ms/MB")
	b.ReportMetric(float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/float64(*benchPeers)/1024, "heap-KiB/peer")
	b.ReportMetric(float64(drops), "udp-drops")
	b.ReportMetric(float64(runtime.NumGoroutine())/float64(*benchPeers), "goroutines/peer")
}
