package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// stopGrace is how long a stopped process gets to exit before it is killed.
const stopGrace = 5 * time.Second

// proc is a long-running child process (origin, node, nginx) in its own
// process group, so that stopping it also stops any workers it forked.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid once done is closed
}

// startProc starts bin with args; its stdout and stderr go to
// dir/<name>.log, whose end is quoted in errors.
func startProc(dir, name, bin string, args ...string) (*proc, error) {
	return startCmd(dir, name, exec.Command(bin, args...), nil)
}

// startCmd starts a command its caller has set up (environment, stdin) as
// startProc does; with tee, its output also goes there.
func startCmd(dir, name string, cmd *exec.Cmd, tee io.Writer) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if tee != nil {
		w := io.MultiWriter(logFile, tee)
		cmd.Stdout, cmd.Stderr = w, w
	}
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// stop asks the process group to terminate and kills it after stopGrace.
// It is safe to call on a process that already exited.
func (p *proc) stop() {
	pid := p.cmd.Process.Pid
	select {
	case <-p.done:
	default:
		_ = signalGroup(pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			_ = signalGroup(pid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(stopGrace):
			}
		}
	}
	// Workers that outlived their parent, if any, go with the group.
	_ = signalGroup(pid, syscall.SIGKILL)
}

// logTail returns the last lines the process wrote, for error messages.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(bytes.TrimSpace(b))
}

// failure wraps err with the process name and the end of its log.
func (p *proc) failure(err error) error {
	tail := p.logTail()
	if tail == "" {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	return fmt.Errorf("%s: %w; its output ends with:\n%s", p.name, err, indent(tail))
}

// waitReady polls url until it answers with status want, the process exits,
// ctx ends or timeout passes. Polling is the only way to learn when another
// program is ready.
func (p *proc) waitReady(ctx context.Context, client *http.Client, url string, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		status, err := probe(ctx, client, url)
		switch {
		case err != nil:
			last = err
		case status == want:
			return nil
		default:
			last = fmt.Errorf("GET %s answered %d, want %d", url, status, want)
		}
		select {
		case <-p.done:
			return p.failure(fmt.Errorf("exited before it was ready (%v)", p.waitErr))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return p.failure(fmt.Errorf("not ready after %v: %v", timeout, last))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago, for programs that take a listen address rather than a listener.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// freeUDPAddr is freeAddr for UDP: the node's ICE port, kept on loopback
// and apart for each node.
func freeUDPAddr() (string, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := c.LocalAddr().String()
	return addr, c.Close()
}

// cleanups runs deferred stop functions in reverse order.
type cleanups []func()

func (c *cleanups) add(f func()) { *c = append(*c, f) }

func (c *cleanups) run() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
	*c = nil
}

func indent(s string) string {
	var b bytes.Buffer
	for _, line := range bytes.Split([]byte(s), []byte("\n")) {
		b.WriteString("    ")
		b.Write(line)
		b.WriteByte('\n')
	}
	return string(bytes.TrimRight(b.Bytes(), "\n"))
}
