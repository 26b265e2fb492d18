package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/edgeswarm/edgeswarm/node"
)

// runSignalNode is the hidden "signal-node" command: one node of bench
// signal, without super-peer (the tracker alone is measured), in a process
// of its own so that its memory is its own. It prints "ROUTE addr" (its
// embedded NATS route address, empty alone) once it listens and "READY
// addr" (its public address) once it sees --nodes nodes; then each "mem"
// line on stdin is answered with "MEM heap stacks rss goroutines" (heap in
// use after a collection, goroutine stacks, resident set, in bytes) and
// each "heap PATH" line with a heap profile written to PATH and "HEAP";
// "cpu PATH" starts a CPU profile into PATH ("CPU"), "cpustop" ends it
// ("CPUSTOP"). It exits when stdin ends.
func runSignalNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signal-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", 1, "nodes of the cluster, this one included")
	name := fs.String("name", "n0", "the node's cluster name")
	route := fs.String("route", "", "the NATS route of a node already running (nats-route://host:port)")
	pollers := fs.Int("pollers", -1, "signal.pollers (-1: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := node.DefaultConfig()
	if *pollers >= 0 {
		cfg.Signal.Pollers = *pollers
	}
	cfg.Listen, cfg.Admin = "127.0.0.1:0", "127.0.0.1:0"
	cfg.SuperPeer = false
	cfg.MaxConnsPerIP = 0
	cfg.Signal.Open = true
	cfg.Signal.MessageRate, cfg.Signal.MessageBurst = 10000, 10000
	cfg.Signal.RelayRate, cfg.Signal.RelayBurst = 10000, 10000
	cfg.Signal.MaxPeers, cfg.Signal.MaxSwarmPeers = 1<<22, 1<<22
	cfg.LogLevel = "error"
	if *nodes > 1 {
		cfg.Cluster.Name = *name
		cfg.Cluster.NATS.Listen = "127.0.0.1:0"
		cfg.Cluster.NATS.ClusterListen = "127.0.0.1:0"
		if *route != "" {
			cfg.Cluster.NATS.Routes = []string{*route}
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nd, err := node.New(cfg, node.Options{Log: log})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- nd.Run(ctx) }()
	r := ""
	if a := nd.ClusterRouteAddr(); a != "" {
		r = "nats-route://" + a
	}
	fmt.Fprintf(stdout, "ROUTE %s\n", r)
	if err := nd.WaitClusterNodes(ctx, *nodes); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "READY %s\n", nd.Addr())
	// Stopped by a signal, the node ends with stdin still open.
	go func() { <-ctx.Done(); _ = os.Stdin.Close() }()
	sc := bufio.NewScanner(os.Stdin)
	var cpu *os.File
	for sc.Scan() {
		if path, ok := strings.CutPrefix(sc.Text(), "cpu "); ok {
			// A CPU profile until "cpustop" (--cpu-profile: the storm).
			if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
				cpu = f
			}
			fmt.Fprintln(stdout, "CPU")
			continue
		}
		if sc.Text() == "cpustop" {
			if cpu != nil {
				pprof.StopCPUProfile()
				_ = cpu.Close()
				cpu = nil
			}
			fmt.Fprintln(stdout, "CPUSTOP")
			continue
		}
		if path, ok := strings.CutPrefix(sc.Text(), "heap "); ok {
			// A heap profile, for looking into a figure (--heap-profile).
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				_ = f.Close()
			}
			fmt.Fprintln(stdout, "HEAP")
			continue
		}
		if sc.Text() != "mem" {
			continue
		}
		// As a node that ran a few minutes: the runtime collects at least
		// every two minutes, and each collection halves the stacks that
		// use under a quarter of theirs (a handshake grows a viewer's
		// reader, idle it needs little) and empties pools of the cycle
		// before.
		for range 3 {
			runtime.GC()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(stdout, "MEM %d %d %d %d\n", ms.HeapInuse, ms.StackInuse, selfRSS(), runtime.NumGoroutine())
	}
	cancel()
	return <-done
}

// selfRSS is this process's resident set in bytes, 0 where /proc is not.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}
