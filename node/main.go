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
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/origin/demo"
)

// subcommand is one "edgeswarm NAME ..." command besides serving.
type subcommand struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error
	// exit, when set instead of run, returns the exit code itself (check's
	// status says its verdict).
	exit func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// subcommands are listed in --help in this order.
func subcommands() []subcommand {
	return []subcommand{
		{name: "demo-origin", summary: "serve the built-in demo origin alone (see edgeswarm demo-origin --help)", run: runDemoOrigin},
		{name: "check", summary: "check a stream for edgeswarm: playlists, segments, cacheability, CORS, key rewrites (see edgeswarm check --help)", exit: runCheck},
		{name: "health", summary: "exit 0 if the node on --admin is up (--ready: serving), 1 otherwise: the container health check", exit: healthExit},
	}
}

// Main is the edgeswarm command. It returns the process exit code; only
// package main exits. Every error that stops it is one line on stderr
// naming what failed and the key or flag to change: exit code 2 for a
// configuration error, 1 for a failure to start or to serve.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 {
		for _, sc := range subcommands() {
			if args[0] != sc.name {
				continue
			}
			if sc.exit != nil {
				return sc.exit(ctx, args[1:], stdout, stderr)
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			if err := sc.run(ctx, args[1:], stdout, stderr, log); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				fmt.Fprintln(stderr, "edgeswarm "+sc.name+":", oneLine(err))
				return 2
			}
			return 0
		}
	}
	cfg, err := ParseConfig(args, getenv, stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errVersion):
		b := readBuild()
		fmt.Fprintf(stdout, "edgeswarm %s (commit %s, %s)\n", b.version, b.commit, b.goVersion)
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "edgeswarm:", oneLine(err))
		return 2
	}
	log := newLogger(cfg, stderr)
	if getenv("GOMEMLIMIT") == "" {
		// The cache is most of the heap. Without a limit the collector lets
		// the heap grow to twice the live data, which for a full cache is
		// twice --cache-size; the limit keeps the process near what the
		// operator sized it for.
		limit := int64(cfg.CacheSize) + max(int64(cfg.CacheSize)/4, 256<<20)
		debug.SetMemoryLimit(limit)
		log.Info("memory limit set from cache_size", "limit", ByteSize(limit).String())
	}
	load := func() (Config, error) { return ParseConfig(args, getenv, io.Discard) }
	n, err := New(cfg, Options{Log: log, Load: load})
	if err != nil {
		fmt.Fprintln(stderr, "edgeswarm: cannot start:", oneLine(err))
		return 1
	}
	// Registered before the addresses are printed: whoever waits for them
	// may send SIGHUP at once.
	stopHUP := n.reloadOnHangup(ctx)
	defer stopHUP()
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
		fmt.Fprintln(stderr, "edgeswarm:", oneLine(err))
		return 1
	}
	return 0
}

// oneLine joins the lines of a (possibly joined) error with "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// newLogger builds the process logger from log_format and log_level
// (both already validated).
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(cfg.LogLevel)
	opt := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}

func parseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log_level: %q, want debug, info, warn or error", s)
}

// build is what the binary knows of its own build.
type build struct{ version, commit, goVersion string }

// readBuild reads the module version, the VCS commit (with "+dirty" when
// built from a modified tree) and the Go version from the build info.
func readBuild() build {
	b := build{version: "unknown", commit: "unknown", goVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := bi.Main.Version; v != "" {
		b.version = v
	}
	b.goVersion = bi.GoVersion
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.commit != "unknown" {
		b.commit += "+dirty"
	}
	return b
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
	fs.SetOutput(io.Discard) // a bad flag is the caller's one-line error
	cfg := demo.DefaultConfig()
	listen := fs.String("listen", "127.0.0.1:8081", "address to serve the demo origin on")
	fs.IntVar(&cfg.Window, "window", cfg.Window, "live window in segments")
	fs.BoolVar(&cfg.Synthetic, "synthetic", cfg.Synthetic, "serve synthetic segments (not playable) of --segment-size")
	fs.TextVar(&cfg.SegmentSize, "segment-size", cfg.SegmentSize, "synthetic segment size, e.g. 1MiB")
	fs.DurationVar(&cfg.SegmentDuration, "segment-duration", cfg.SegmentDuration, "synthetic segment duration")
	fs.IntVar(&cfg.Renditions, "renditions", cfg.Renditions, "synthetic renditions")
	fs.BoolVar(&cfg.NewStream, "new-stream", cfg.NewStream, "the live stream starts with the origin: playlists list only the segments since")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: edgeswarm demo-origin [flags]\n\nServes the built-in demo origin alone, for a node elsewhere to use as its origin.\n\nFlags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return err
	}
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
