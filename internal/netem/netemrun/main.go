//go:build linux

// Command netemrun runs a command inside an emulated internet: it builds
// the homes of internal/netem around its own (private) network namespace,
// describes them to the command in the environment, and tears them down
// when the command ends or it is stopped.
//
//	netemrun --homes cone,cone,symmetric,symmetric [--rtt 20ms] -- node nat.cjs
//
// The command gets NETEM_WAN (the wan address, where the node listens) and
// NETEM_HOMES, a JSON array of {netns, nat, addr, public}: the path of each
// home's network namespace (for nsenter --net=), its NAT, its viewers'
// LAN address and its router's public address. The exit status is the
// command's, or 2 when the emulated internet could not be built.
//
// It must run in a private network namespace that has only loopback up
// (unshare -n): it refuses the host's.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/netem"
)

type home struct {
	NetNS  string `json:"netns"`
	NAT    string `json:"nat"`
	Addr   string `json:"addr"`
	Public string `json:"public"`
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("netemrun", flag.ContinueOnError)
	homes := fs.String("homes", "cone,cone", "the homes' NATs in order: cone or symmetric, comma-separated")
	rtt := fs.Duration("rtt", 20*time.Millisecond, "round-trip time each home's access link adds (half each way)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "netemrun: want a command after --")
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := netem.Config{Seed: 1}
	for _, h := range strings.Split(*homes, ",") {
		l := netem.Link{Delay: *rtt / 2}
		cfg.Homes = append(cfg.Homes, netem.Home{NAT: netem.NAT(strings.TrimSpace(h)), Up: l, Down: l})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	bctx, cancel := context.WithTimeout(ctx, time.Minute)
	n, err := netem.New(bctx, cfg, log)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "netemrun:", err)
		return 2
	}
	defer n.Close()
	var hs []home
	for _, h := range n.Homes() {
		hs = append(hs, home{NetNS: h.NetNS(), NAT: string(h.Config.NAT), Addr: h.Addr.String(), Public: h.Public.String()})
	}
	b, _ := json.Marshal(hs)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "NETEM_WAN="+n.WANAddr().String(), "NETEM_HOMES="+string(b))
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "netemrun:", err)
		return 2
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			err = <-done
		}
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.Exited():
		return exit.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "netemrun:", err)
	return 1
}
