//go:build linux

package main

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// lineWriter hands each write to a channel: the test's sign that the
// runner it started has got so far.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// The runner's exit status comes back, and a stopped bench stops the
// runner's whole process group, children included.
func TestRunGroup(t *testing.T) {
	var exit *exec.ExitError
	if err := runGroup(context.Background(), []string{"sh", "-c", "exit 3"}, io.Discard); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("runGroup(exit 3) = %v, want exit status 3", err)
	}

	out := make(lineWriter, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// A runner that started a child of its own (as it starts the node).
		done <- runGroup(ctx, []string{"sh", "-c", `sleep 600 & echo $!; wait`}, out)
	}()
	var line string
	select {
	case line = <-out:
	case err := <-done:
		t.Fatalf("the runner ended before it was stopped: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("the runner wrote %q, want its child's pid", line)
	}
	fd, err := unix.PidfdOpen(child, 0)
	if err != nil {
		t.Fatalf("pidfd of the runner's child %d: %v", child, err)
	}
	defer unix.Close(fd)
	cancel()
	if err := <-done; err == nil {
		t.Error("a stopped runner reported success")
	}
	// The child went with its group: its pidfd turns readable when it
	// exits. Ten seconds is only a bound on a broken test.
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 10_000); err != nil || n != 1 {
		t.Errorf("the runner's child %d still runs after the runner was stopped (poll: %d, %v)", child, n, err)
	}
}
