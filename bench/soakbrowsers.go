package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Browser viewers of the soak: the swarm benchmark's runner and page
// (bench/swarm) with its attach mode, so that the node also serves real
// browsers' signaling, WebRTC and HTTP for the whole soak. The runner and
// its Chromium are processes of their own: the soak samples the node's
// process only.

// soakBrowserLatency is the browsers' liveSyncDurationCount: three
// segments behind the live edge, where the Go viewers play too.
const soakBrowserLatency = 3

// soakBrowserStop is how long the runner gets, once asked to stop, to
// collect the browsers' reports and close them.
const soakBrowserStop = 2 * time.Minute

// soakBrowserFiles is where the bundled runner and page are.
type soakBrowserFiles struct {
	runner, page, nodeModules string
}

// prepareSoakBrowsers checks what the browser viewers need and installs
// the client's npm packages when they are missing. It runs before the soak
// enters its network namespace, where npm could not reach its registry.
func prepareSoakBrowsers(ctx context.Context, o soakOptions, root string, stderr io.Writer, log *slog.Logger) error {
	if _, err := os.Stat(filepath.Join(root, "bench", "swarm", "runner.ts")); err != nil {
		return errors.New("bench/swarm/runner.ts not found: run from the edgeswarm repository, or pass --browsers 0")
	}
	for _, tool := range []string{"node", "npm"} {
		if lookPath(tool) == "" {
			return fmt.Errorf("%s is missing (Debian: nodejs and npm), needed by --browsers (0 runs Go viewers only)", tool)
		}
	}
	if err := ensureChromium(ctx, o.Chromium, false, stderr, log); err != nil {
		return err
	}
	return npmCI(ctx, filepath.Join(root, "client"), false, stderr, log)
}

// bundleSoakBrowsers builds the runner and the page into tmp.
func bundleSoakBrowsers(ctx context.Context, root, tmp string) (soakBrowserFiles, error) {
	client := filepath.Join(root, "client")
	f := soakBrowserFiles{runner: filepath.Join(tmp, "runner.cjs"), page: filepath.Join(tmp, "page.js"), nodeModules: filepath.Join(client, "node_modules")}
	esbuild := filepath.Join(f.nodeModules, ".bin", "esbuild")
	for _, b := range []struct {
		in, out string
		args    []string
	}{
		{"bench/swarm/runner.ts", f.runner, []string{"--platform=node", "--format=cjs", "--target=node20", "--external:playwright-core"}},
		{"bench/swarm/page.ts", f.page, []string{"--platform=browser", "--format=iife", "--target=es2020"}},
	} {
		cmd := exec.CommandContext(ctx, esbuild, append([]string{b.in, "--bundle", "--outfile=" + b.out, "--log-level=warning"}, b.args...)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return f, fmt.Errorf("esbuild %s: %w\n%s", b.in, err, indent(string(out)))
		}
	}
	return f, nil
}

// soakRunConfig is the runner's configuration for the soak: one case of
// o.Browsers viewers with edgeswarm.js (and the super-peer when the node
// has one) and the virtual player, attached to the running node.
func soakRunConfig(o soakOptions, nodeBin, base, pageJS, out string) runConfig {
	scenario := scenarioSuper
	if !o.P2P {
		scenario = scenarioP2P // edgeswarm.js among the browsers, no super-peer
	}
	rc := runConfig{
		Node: nodeBin, Chromium: o.Chromium, PageJS: pageJS, Out: out,
		Viewers: []int{o.Browsers}, Scenarios: []string{scenario}, Latencies: []int{soakBrowserLatency},
		Mode: "virtual", WatchS: o.Duration.Seconds(), StaggerMs: (2 * time.Second).Milliseconds(),
		Stream: o.Stream, Rendition: o.Rendition, NodeArgs: []string{},
		Attach: &runAttach{Base: base, ProgressS: o.Sample.Seconds()},
	}
	rc.Settings = map[string]any{"soak": true, "browsers": o.Browsers, "scenario": scenario, "mode": rc.Mode,
		"latency": soakBrowserLatency, "stream": o.Stream, "rendition": o.Rendition}
	return rc
}

// soakBrowsers is the running runner.
type soakBrowsers struct {
	p     *proc
	stdin io.WriteCloser
	out   string
}

// startSoakBrowsers starts the runner against the node at base. Its
// viewers join two seconds apart and watch until stop.
// Its progress lines go to stderr besides its log.
func startSoakBrowsers(o soakOptions, f soakBrowserFiles, nodeBin, base, tmp string, stderr io.Writer) (*soakBrowsers, error) {
	rc := soakRunConfig(o, nodeBin, base, f.page, filepath.Join(tmp, "browsers-raw.json"))
	cfgPath := filepath.Join(tmp, "browsers.json")
	if err := writeJSON(cfgPath, rc); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", f.runner, cfgPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+f.nodeModules, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	// Its output is copied to stderr: a Chromium that outlived it and
	// kept the pipe open must not hold up its exit.
	cmd.WaitDelay = stopGrace
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	p, err := startCmd(tmp, "browsers", cmd, stderr)
	if err != nil {
		stdin.Close()
		return nil, err
	}
	return &soakBrowsers{p: p, stdin: stdin, out: rc.Out}, nil
}

// stop asks the runner to stop (its stdin ends), waits for it to write its
// results, and reads them. A runner that exited before it was asked to, or
// wrote nothing readable, is an error that quotes its log.
func (b *soakBrowsers) stop(ctx context.Context) (*swarmCase, string, error) {
	var early error
	select {
	case <-b.p.done:
		early = fmt.Errorf("exited while the viewers watched (%v)", b.p.waitErr)
	default:
	}
	b.stdin.Close()
	select {
	case <-b.p.done:
	case <-ctx.Done():
	case <-time.After(soakBrowserStop):
	}
	b.p.stop()
	select {
	case <-b.p.done:
		if early == nil && b.p.waitErr != nil {
			early = fmt.Errorf("failed (%v)", b.p.waitErr)
		}
	default:
		if early == nil {
			early = errors.New("did not exit when asked to")
		}
	}
	f, err := os.Open(b.out)
	if err != nil {
		if early == nil {
			early = errors.New("wrote no results")
		}
		return nil, "", b.p.failure(early)
	}
	raw, err := readSwarmRaw(f)
	f.Close()
	if err != nil {
		return nil, "", b.p.failure(err)
	}
	if len(raw.Cases) != 1 {
		return nil, "", b.p.failure(fmt.Errorf("reported %d cases, want one", len(raw.Cases)))
	}
	if early != nil {
		return &raw.Cases[0], raw.Host.Chromium, b.p.failure(early)
	}
	return &raw.Cases[0], raw.Host.Chromium, nil
}
