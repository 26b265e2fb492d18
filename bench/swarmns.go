package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/liveorigin"
)

// runSwarmNS is the hidden "swarm-ns" command that the swarm benchmark
// runs inside its loopback-only network namespace: it starts the ffmpeg
// origin there when --ffmpeg names the encoder (waiting for a full
// playlist window, and pointing the node at it through the runner's
// config), then runs the command after "--" (the runner) in its own
// process group, and stops the group and the encoder when the runner ends
// or the bench is stopped.
func runSwarmNS(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("swarm-ns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "the runner's config file, which gets the origin's address")
	ffmpeg := fs.String("ffmpeg", "", "ffmpeg binary: start the ffmpeg origin")
	headers := fs.String("origin-headers", string(liveorigin.HeadersMaxAge), "cache headers of the ffmpeg origin")
	netProfile := fs.String("net", "", "build the emulated internet of this profile")
	turn := fs.Bool("turn", false, "with --net: hand viewers the TURN server too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	runner := fs.Args()
	if len(runner) == 0 || *cfgPath == "" {
		return errors.New("swarm-ns: want --config and a command after --")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if *ffmpeg != "" {
		h, err := liveorigin.ParseHeaders(*headers)
		if err != nil {
			return err
		}
		stop, err := startFFmpegOrigin(ctx, *cfgPath, *ffmpeg, h, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *netProfile != "" {
		stop, err := startNet(ctx, *cfgPath, *netProfile, *turn, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return runGroup(ctx, runner, stderr)
}

// startFFmpegOrigin starts the encoder and its static file server on the
// namespace's loopback, waits until the playlist lists a full window, and
// adds --origin and a description of the origin to the runner's config.
func startFFmpegOrigin(ctx context.Context, cfgPath, ffmpeg string, h liveorigin.Headers, log *slog.Logger) (stop func(), err error) {
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	var rc runConfig
	if err := json.Unmarshal(b, &rc); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	lc := liveorigin.DefaultConfig()
	lc.FFmpeg = ffmpeg
	o, err := liveorigin.Start(ctx, lc, log)
	if err != nil {
		return nil, err
	}
	var cl cleanups
	defer func() {
		if err != nil {
			cl.run()
		}
	}()
	cl.add(func() { _ = o.Close() })
	wait := time.Duration(lc.Window+2)*lc.SegmentDuration + 30*time.Second
	log.Info("waiting for the ffmpeg origin's first playlist window", "segments", lc.Window, "about", time.Duration(lc.Window)*lc.SegmentDuration)
	wctx, cancel := context.WithTimeout(ctx, wait)
	_, err = o.Ready(wctx, lc.Window)
	cancel()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: o.Handler(h), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	cl.add(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	rc.NodeArgs = append(rc.NodeArgs, "--origin", "http://"+ln.Addr().String())
	if rc.Settings == nil {
		rc.Settings = map[string]any{}
	}
	rc.Settings["origin"] = fmt.Sprintf("ffmpeg: libx264 %dx%d %d fps %d kbit/s (%s), GOP %v, %v segments, %d-segment window, AAC %d Hz %d kbit/s; static files, cache headers %s",
		lc.Width, lc.Height, lc.FrameRate, lc.VideoBitrate/1000, lc.Preset, lc.GOP, lc.SegmentDuration, lc.Window, lc.AudioRate, lc.AudioBitrate/1000, h)
	if err := writeJSON(cfgPath, rc); err != nil {
		return nil, err
	}
	log.Info("ffmpeg origin serving", "url", "http://"+ln.Addr().String()+liveorigin.MasterPath, "cache_headers", string(h))
	return cl.run, nil
}

// runGroup runs argv in its own process group with its output on stderr.
// When ctx ends it asks the group to stop (SIGTERM) and kills what is
// left after stopGrace; when argv exits, whatever it left behind in its
// group goes too.
func runGroup(ctx context.Context, argv []string, stderr io.Writer) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = signalGroup(pid, syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(stopGrace):
			_ = signalGroup(pid, syscall.SIGKILL)
			err = <-done
		}
	}
	_ = signalGroup(pid, syscall.SIGKILL)
	return err
}
