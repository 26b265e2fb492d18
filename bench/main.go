package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errFloorMissed reports a benchmark that ran to the end but missed one of
// its floors; the process exits with status 1 (2 for every other error).
var errFloorMissed = errors.New("a floor was missed")

// command is one benchmark of the bench tool.
type command struct {
	name    string
	summary string
	hidden  bool // run by the bench itself, not listed
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{name: "cache", summary: "cache-hit serving: the node against nginx proxy_cache, side by side", run: runCache},
		{name: "swarm", summary: "offload with N real-browser viewers: HTTP only, P2P, P2P with the super-peer, p2p-media-loader", run: runSwarm},
		{name: "swarm-ns", summary: "inside the swarm benchmark's network namespace: the ffmpeg origin, then the runner", run: runSwarmNS, hidden: true},
		{name: "busy", summary: "a competing process that burns a share of CPU (swarm --busy)", run: runBusy, hidden: true},
		{name: "signal", summary: "the tracker with Go WebSocket viewers: one node beside three over NATS; memory per viewer, join storm, relay latency within and across nodes", run: runSignal},
		{name: "signal-node", summary: "one node of the signal benchmark, in its own process", run: runSignalNode, hidden: true},
		{name: "signal-viewers", summary: "viewers of the signal benchmark, in their own process", run: runSignalViewers, hidden: true},
		{name: "soak", summary: "Go viewers with churn for a long time: the node's RSS, heap, goroutines and fds, slopes and leaks", run: runSoak},
		{name: "swarm-go", summary: "offload with many Go viewers in the homes of an emulated internet (--net), HTTP only beside the swarm", run: runSwarmGo},
		{name: "home-viewers", summary: "inside one home of swarm-go: its Go viewers", run: runHomeViewers, hidden: true},
		{name: "seeder", summary: "the super-peer against HTTP on the same segments at emulated RTTs: the node's CPU-s/MB, MB/s, memory per PeerConnection", run: runSeeder},
		{name: "seeder-viewers", summary: "the seeder benchmark's Go viewers, in their own process and network namespace", run: runSeederViewers, hidden: true},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and maps its outcome to an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errFloorMissed):
			fmt.Fprintf(stderr, "bench %s: FAIL: %v\n", c.name, err)
			return 1
		default:
			fmt.Fprintf(stderr, "bench %s: %v\n", c.name, err)
			return 2
		}
	}
	fmt.Fprintf(stderr, "bench: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: go run ./bench <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		if c.hidden {
			continue
		}
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'go run ./bench <command> -h' for the flags of a command.")
}
