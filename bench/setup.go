package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// The setup the process benchmarks (soak, swarm, swarm-go) share: their
// folders, the demo origin in a process of its own, and a node in front
// of it.

// benchFolders returns a benchmark's results folder (out, or bench/results
// in the module at root), a new temporary folder that the caller removes,
// and the node binary to run (nodeBin, or the module built into that
// folder).
func benchFolders(ctx context.Context, name, root, out, nodeBin string, log *slog.Logger) (results, tmp, bin string, err error) {
	if results = out; results == "" {
		results = filepath.Join(root, "bench", "results")
	}
	if tmp, err = os.MkdirTemp("", "edgeswarm-bench-"+name+"-"); err != nil {
		return "", "", "", err
	}
	if bin = nodeBin; bin == "" {
		if bin, err = buildNode(ctx, tmp, log); err != nil {
			os.RemoveAll(tmp)
			return "", "", "", err
		}
	}
	return results, tmp, bin, nil
}

// startDemoOrigin runs `edgeswarm demo-origin` on addr with extra flags
// and waits until it serves its live master playlist.
func startDemoOrigin(ctx context.Context, tmp, bin, addr string, extra ...string) (*proc, error) {
	p, err := startProc(tmp, "origin", bin, append([]string{"demo-origin", "--listen", addr}, extra...)...)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, &http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/live/master.m3u8", 200, 20*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// startBenchNode writes yaml as the node's config file, runs the node
// with it and args, and waits until its admin address adm is ready.
func startBenchNode(ctx context.Context, tmp, name, bin, yaml, adm string, args ...string) (*proc, error) {
	return startBenchNodeNice(ctx, tmp, name, bin, yaml, adm, 0, args...)
}

// startBenchNodeNice is startBenchNode with the node run renice above this
// process's niceness (swarm-go, niceArgs).
func startBenchNodeNice(ctx context.Context, tmp, name, bin, yaml, adm string, renice int, args ...string) (*proc, error) {
	cfgPath := filepath.Join(tmp, name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	cmd, cargs := niceArgs(renice, bin, append([]string{"--config", cfgPath, "--admin", adm}, args...)...)
	p, err := startProc(tmp, name, cmd, cargs...)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, &http.Client{Timeout: 10 * time.Second}, "http://"+adm+"/readyz", 200, 20*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}
