package node

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/origin/demo"
)

// Main is the edgeswarm command. It returns the process exit code; only
// package main exits.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if len(args) > 0 && args[0] == "check" {
		return runCheck(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "demo-origin" {
		if err := runDemoOrigin(ctx, args[1:], stdout, stderr, log); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(stderr, "edgeswarm demo-origin:", err)
			return 2
		}
		return 0
	}
	cfg, err := ParseConfig(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "edgeswarm:", err)
		return 2
	}
	if getenv("GOMEMLIMIT") == "" {
		// The cache is most of the heap. Without a limit the collector lets
		// the heap grow to twice the live data, which for a full cache is
		// twice --cache-size; the limit keeps the process near what the
		// operator sized it for.
		limit := int64(cfg.CacheSize) + max(int64(cfg.CacheSize)/4, 256<<20)
		debug.SetMemoryLimit(limit)
		log.Info("memory limit set from cache_size", "limit", ByteSize(limit).String())
	}
	n, err := New(cfg, Options{Log: log})
	if err != nil {
		fmt.Fprintln(stderr, "edgeswarm:", err)
		return 1
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	if cfg.usesDemo() {
		fmt.Fprintf(stdout, "edgeswarm: serving the built-in demo origin\n  open %s://%s/ (the demo player; open it in several tabs to see P2P)\n  stream %s://%s/live/master.m3u8\n",
			scheme, browsable(n.Addr()), scheme, browsable(n.Addr()))
	} else {
		fmt.Fprintf(stdout, "edgeswarm: serving %s://%s\n", scheme, browsable(n.Addr()))
	}
	fmt.Fprintf(stdout, "  metrics http://%s/metrics\n", n.AdminAddr())
	if err := n.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "edgeswarm:", err)
		return 1
	}
	return 0
}

// browsable turns a listen address into one a browser can open.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func runDemoOrigin(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("edgeswarm demo-origin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := demo.DefaultConfig()
	listen := fs.String("listen", "127.0.0.1:8081", "address to serve the demo origin on")
	fs.IntVar(&cfg.Window, "window", cfg.Window, "live window in segments")
	fs.BoolVar(&cfg.Synthetic, "synthetic", cfg.Synthetic, "serve synthetic segments (not playable) of --segment-size")
	size := ByteSize(cfg.SegmentSize)
	fs.TextVar(&size, "segment-size", size, "synthetic segment size, e.g. 1MiB")
	fs.DurationVar(&cfg.SegmentDuration, "segment-duration", cfg.SegmentDuration, "synthetic segment duration")
	fs.IntVar(&cfg.Renditions, "renditions", cfg.Renditions, "synthetic renditions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.SegmentSize = int(size)
	if err := cfg.Validate(); err != nil {
		return err
	}
	d, err := demo.New(cfg, nil)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "edgeswarm demo origin: http://%s/live/master.m3u8 and /vod/master.m3u8\n", browsable(ln.Addr().String()))
	log.Info("demo origin serving", "listen", ln.Addr().String(), "synthetic", cfg.Synthetic)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil && !strings.Contains(err.Error(), "closed") {
		return err
	}
	return nil
}
