package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/node"
	"github.com/edgeswarm/edgeswarm/wire"
)

// runSignal is "bench signal": the tracker alone (no media, no WebRTC)
// with Go WebSocket viewers, one node beside a three-node cluster over
// embedded NATS, in one run: a join storm, the joins' latency, and relay
// latency within a node and across nodes.
func runSignal(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("bench signal", flag.ContinueOnError)
	fs.SetOutput(stdout)
	storm := fs.Int("viewers", 2000, "viewers that join at once, spread over the nodes (each one WebSocket)")
	swarms := fs.Int("swarms", 20, "swarms the viewers are spread over")
	relays := fs.Int("relays", 2000, "relays timed per case, one at a time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench signal: %d viewers in %d swarms, %d relays; GOMAXPROCS %d\n\n", *storm, *swarms, *relays, runtime.GOMAXPROCS(0))
	fmt.Fprintln(stdout, "| nodes | join storm | joins/s | join p50 | join p99 | relay same node p50 / p99 | relay across nodes p50 / p99 | host CPU busy |")
	fmt.Fprintln(stdout, "|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, n := range []int{1, 3} {
		r, err := signalCase(ctx, n, *storm, *swarms, *relays)
		if err != nil {
			return fmt.Errorf("%d node(s): %w", n, err)
		}
		across := "n/a"
		if n > 1 {
			across = fmt.Sprintf("%s / %s", ms(r.across[0]), ms(r.across[1]))
		}
		fmt.Fprintf(stdout, "| %d | %s | %.0f | %s | %s | %s / %s | %s | %s |\n", n, r.storm.Round(time.Millisecond),
			float64(*storm)/r.storm.Seconds(), ms(r.join[0]), ms(r.join[1]), ms(r.within[0]), ms(r.within[1]), across, r.busy)
	}
	return nil
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

type signalResult struct {
	storm        time.Duration
	join, within [2]time.Duration // p50, p99
	across       [2]time.Duration
	busy         string
}

func signalCase(ctx context.Context, nodes, viewers, swarms, relays int) (*signalResult, error) {
	ns, stop, err := signalNodes(ctx, nodes)
	if err != nil {
		return nil, err
	}
	defer stop()
	host0, ok0 := hostBusy()
	t0 := time.Now()
	conns := make([]*wsclient.Conn, viewers)
	ids := make([]string, viewers)
	lat := make([]time.Duration, viewers)
	errs := make(chan error, viewers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 512) // dials in flight
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			c, id, err := signalJoin(ctx, ns[i%nodes], fmt.Sprintf("/live/s%d/index.m3u8", i%swarms))
			if err != nil {
				errs <- err
				return
			}
			conns[i], ids[i], lat[i] = c, id, time.Since(start)
		}()
	}
	wg.Wait()
	stormTook := time.Since(t0)
	host1, ok1 := hostBusy()
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	r := &signalResult{storm: stormTook, join: latPct(lat)}
	r.busy = "n/a"
	if ok0 && ok1 {
		r.busy = fmt.Sprintf("%.0f%% of %d CPUs", 100*float64(host1-host0)/float64(stormTook)/float64(runtime.NumCPU()), runtime.NumCPU())
	}
	// Relays between viewers of one swarm: i and i+swarms share swarm
	// i%swarms; with several nodes, i+swarms*k lands on node (i+swarms*k)%nodes.
	within, across := []time.Duration{}, []time.Duration{}
	for k := 0; k < relays; k++ {
		a := k % (viewers - swarms*nodes)
		for _, other := range []int{a + swarms*nodes, a + swarms} {
			if other >= viewers {
				continue
			}
			d, err := signalRelay(ctx, conns[a], conns[other], ids[other], ids[a])
			if err != nil {
				return nil, err
			}
			if a%nodes == other%nodes {
				within = append(within, d)
			} else {
				across = append(across, d)
			}
		}
		if nodes == 1 && len(within) >= relays || len(within) >= relays && len(across) >= relays {
			break
		}
	}
	r.within = latPct(within)
	r.across = latPct(across)
	return r, nil
}

func latPct(ds []time.Duration) [2]time.Duration {
	if len(ds) == 0 {
		return [2]time.Duration{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return [2]time.Duration{s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]}
}

// signalJoin dials a node's /swarm and joins swarm; it returns when the
// welcome arrived.
func signalJoin(ctx context.Context, addr, swarm string) (*wsclient.Conn, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, "ws://"+addr+wire.SignalPath)
	if err != nil {
		return nil, "", err
	}
	if err := c.Send(&wire.Join{Swarm: swarm, Caps: wire.Caps{Upload: true}}); err != nil {
		_ = c.Close()
		return nil, "", err
	}
	for {
		m, err := c.Recv(ctx)
		if err != nil {
			_ = c.Close()
			return nil, "", fmt.Errorf("join: %w", err)
		}
		if w, ok := m.(*wire.Welcome); ok {
			return c, w.PeerID, nil
		}
	}
}

// signalRelay times one offer from a to b (whose id is to; a's id from).
func signalRelay(ctx context.Context, a, b *wsclient.Conn, to, from string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := a.Send(&wire.Relay{To: to, Session: "bench", Kind: wire.KindOffer, SDP: "v=0\r\n"}); err != nil {
		return 0, err
	}
	for {
		m, err := b.Recv(ctx)
		if err != nil {
			return 0, fmt.Errorf("relay %s -> %s: %w", from, to, err)
		}
		if r, ok := m.(*wire.Relay); ok && r.From == from {
			return time.Since(start), nil
		}
	}
}

// signalNodes starts n nodes on loopback, clustered over embedded NATS
// when n > 1, without super-peers (the tracker alone is measured), and
// waits until each sees the others.
func signalNodes(ctx context.Context, n int) ([]string, func(), error) {
	var addrs []string
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	var route string
	var all []*node.Node
	for i := range n {
		cfg := node.DefaultConfig()
		cfg.Listen, cfg.Admin = "127.0.0.1:0", "127.0.0.1:0"
		cfg.SuperPeer = false
		cfg.MaxConnsPerIP = 0
		cfg.Signal.Open = true
		cfg.Signal.MessageRate, cfg.Signal.MessageBurst = 10000, 10000
		cfg.Signal.RelayRate, cfg.Signal.RelayBurst = 10000, 10000
		cfg.LogLevel = "error"
		if n > 1 {
			cfg.Cluster.Name = "n" + strconv.Itoa(i)
			cfg.Cluster.NATS.Listen = "127.0.0.1:0"
			cfg.Cluster.NATS.ClusterListen = "127.0.0.1:0"
			if route != "" {
				cfg.Cluster.NATS.Routes = []string{route}
			}
		}
		nd, err := node.New(cfg, node.Options{})
		if err != nil {
			stop()
			return nil, nil, err
		}
		if i == 0 && n > 1 {
			route = "nats-route://" + nd.ClusterRouteAddr()
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = nd.Run(cctx); close(done) }()
		stops = append(stops, func() { cancel(); <-done })
		addrs = append(addrs, nd.Addr())
		all = append(all, nd)
	}
	for _, nd := range all {
		if err := nd.WaitClusterNodes(ctx, n); err != nil {
			stop()
			return nil, nil, err
		}
	}
	return addrs, stop, nil
}
