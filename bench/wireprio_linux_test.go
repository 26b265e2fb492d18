package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const wireprioChildEnv = "EDGESWARM_TEST_RAISE_WIRE"

// raiseWire sets every thread of its process to wireNice, and a child
// started with niceArgs runs at the niceness the process had before. The
// check runs in a child of the test binary, so that the tests beside it
// keep their priority.
func TestRaiseWire(t *testing.T) {
	if os.Getenv(wireprioChildEnv) != "" {
		renice, err := raiseWire()
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			tid, _ := strconv.Atoi(task.Name())
			if p, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil && 20-p != wireNice {
				t.Errorf("thread %d at nice %d, want %d", tid, 20-p, wireNice)
			}
		}
		name, args := niceArgs(renice, "nice")
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != os.Getenv(wireprioChildEnv) {
			t.Errorf("a child runs at nice %s, want the caller's %s", got, os.Getenv(wireprioChildEnv))
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("raising a priority needs root")
	}
	was, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaiseWire$", "-test.v")
	cmd.Env = append(os.Environ(), wireprioChildEnv+"="+strconv.Itoa(20-was))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
