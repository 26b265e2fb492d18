package node

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/edgeswarm/edgeswarm/check"
	"github.com/edgeswarm/edgeswarm/origin"
)

// runCheck is `edgeswarm check URL`. Exit status: 0 ok, 1 warnings or P2P
// will not work (the report says which), 2 bad usage or no check possible.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edgeswarm check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := check.DefaultConfig()
	fs.StringVar(&cfg.PageOrigin, "page-origin", "", "origin of the page embedding the player, e.g. https://www.example.com (checks CORS; empty: not checked)")
	fs.IntVar(&cfg.Samples, "samples", cfg.Samples, "segments fetched per rendition for their size and headers")
	nodeConfig := fs.String("config", "", "the node's YAML configuration `file`: the check judges cacheability by its upstream.ttl settings, as that node would (default: the node's defaults)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 60*time.Second, "time limit for the whole check")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgeswarm check [flags] URL")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Fetches an HLS master playlist like a player and reports, per rendition, what")
		fmt.Fprintln(stderr, "decides whether the stream works through edgeswarm and between peers.")
		fmt.Fprintln(stderr, "Exit status: 0 ok, 1 warnings or P2P will not work, 2 the check could not run.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 30 * time.Second}}
	defer client.CloseIdleConnections()
	ttl := origin.DefaultConfig().TTL
	if *nodeConfig != "" {
		nc := DefaultConfig()
		if err := nc.LoadFile(*nodeConfig); err != nil {
			fmt.Fprintln(stderr, "edgeswarm check: --config:", err)
			return 2
		}
		if err := nc.Validate(); err != nil {
			fmt.Fprintln(stderr, "edgeswarm check: --config:", err)
			return 2
		}
		ttl = nc.Upstream.TTL
	}
	c, err := check.New(client, cfg, check.WithTTL(ttl))
	if err != nil {
		fmt.Fprintln(stderr, "edgeswarm check:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := c.Check(ctx, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "edgeswarm check:", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "edgeswarm check:", err)
		return 2
	}
	if rep.Verdict != check.VerdictOK {
		return 1
	}
	return 0
}
