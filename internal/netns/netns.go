package netns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
)

// envMarker is set in the environment of the re-executed test binary. Its
// value is "1" inside the namespace, or the reason isolation failed.
const envMarker = "EDGESWARM_NETNS"

// Run runs the tests of m inside a loopback-only network namespace and
// returns the exit code for os.Exit. When the process is already isolated
// (only loopback interfaces are up) it just runs the tests. Otherwise it
// re-executes the test binary, with the same arguments, in a new network
// namespace whose loopback interface it brings up, and returns the child's
// exit code. If the namespace cannot be created (not root, not Linux), the
// tests run in place and RequireLoopbackOnly fails each test that needs
// the isolation, with the reason.
func Run(m *testing.M) int {
	switch os.Getenv(envMarker) {
	case "1":
		if err := loopbackUp(); err != nil {
			fmt.Fprintf(os.Stderr, "netns: bringing up lo in the new namespace: %v\n", err)
			return 1
		}
		return m.Run()
	case "":
	default: // a reason from an earlier attempt: do not try again
		return m.Run()
	}
	if ok, _ := LoopbackOnly(); ok {
		return m.Run()
	}
	code, err := reexec()
	if err == nil {
		return code
	}
	// The namespace could not be created: run here, and let
	// RequireLoopbackOnly explain to every test that needs it.
	os.Setenv(envMarker, err.Error())
	return m.Run()
}

// RequireLoopbackOnly fails t unless the process can reach nothing but
// loopback: no interface other than a loopback one is up.
func RequireLoopbackOnly(t testing.TB) {
	t.Helper()
	ok, err := LoopbackOnly()
	if err != nil {
		t.Fatalf("netns: listing network interfaces: %v", err)
	}
	if ok {
		return
	}
	reason := os.Getenv(envMarker)
	if reason == "" || reason == "1" {
		reason = "TestMain does not call netns.Run"
	}
	t.Fatalf("this test must run in a loopback-only network namespace, and it could not be created: %s "+
		"(run the tests as root, or with CAP_SYS_ADMIN, on Linux)", reason)
}

// LoopbackOnly reports whether every interface that is up is a loopback
// interface, and that at least one is.
func LoopbackOnly() (bool, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return false, err
	}
	lo := false
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 {
			continue
		}
		if i.Flags&net.FlagLoopback == 0 {
			return false, nil
		}
		lo = true
	}
	return lo, nil
}

// reexec runs os.Args again in a new network namespace and returns its
// exit code. The error says why the child could not be started.
func reexec() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding the test binary: %w", err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envMarker+"=1")
	if err := newNetNS(cmd); err != nil {
		return 0, err
	}
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.Exited():
		return exit.ExitCode(), nil
	case errors.As(err, &exit):
		return 0, fmt.Errorf("test binary in the new namespace: %v", err)
	}
	return 0, fmt.Errorf("creating a network namespace: %w", err)
}
