//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test re-runs its own binary: once in a network namespace of its own
// (where it may create devices: root, or a user namespace), and from
// there once more as the far end, in a second namespace behind the link.
const delayLineTestEnv = "EDGESWARM_DELAYLINE_TEST"

// Datagrams cross the emulated link intact, in both directions, and each
// round trip takes at least the link's RTT.
func TestDelayLine(t *testing.T) {
	switch os.Getenv(delayLineTestEnv) {
	case "far":
		delayLineFarEnd(t)
		return
	case "near":
		delayLineNearEnd(t)
		return
	}
	unshare := lookPath("unshare")
	if unshare == "" {
		t.Fatal("unshare is missing (Debian: util-linux): the test needs a network namespace")
	}
	ns := []string{"-n"}
	if os.Geteuid() != 0 {
		ns = []string{"-r", "-n"}
	}
	cmd := exec.Command(unshare, append(ns, os.Args[0], "-test.run", "^TestDelayLine$", "-test.v")...)
	cmd.Env = append(os.Environ(), delayLineTestEnv+"=near")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestDelayLine")) {
		t.Fatalf("the test in its network namespace: %v\n%s", err, out)
	}
}

func delayLineNearEnd(t *testing.T) {
	if err := ipCmd("link", "set", "lo", "up"); err != nil {
		t.Fatal(err)
	}
	const rtt = 40 * time.Millisecond
	l, err := newDelayLink("estest0", "10.78.0.1/30", "estest1", rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	far := exec.Command(os.Args[0], "-test.run", "^TestDelayLine$")
	far.Env = append(os.Environ(), delayLineTestEnv+"=far")
	far.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	in, _ := far.StdinPipe()
	outp, _ := far.StdoutPipe()
	far.Stderr = os.Stderr
	if err := far.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); far.Wait() }()
	if err := l.moveTo(far.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "configure")
	sc := bufio.NewScanner(outp)
	var addr string
	for sc.Scan() { // the test framework may print lines of its own
		if a, ok := strings.CutPrefix(sc.Text(), "echo "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatalf("the far end never said where it echoes (%v)", sc.Err())
	}
	c, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for i := range 5 {
		msg := bytes.Repeat([]byte{byte('a' + i)}, 100+i*300)
		t0 := time.Now()
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // bounds a broken test only
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: no echo: %v", i, err)
		}
		if took := time.Since(t0); took < rtt {
			t.Errorf("datagram %d: round trip %v, shorter than the link's %v", i, took, rtt)
		}
		if !bytes.Equal(buf[:n], msg) {
			t.Errorf("datagram %d: echoed %d bytes, sent %d", i, n, len(msg))
		}
	}
	if d := l.Dropped(); d != 0 {
		t.Errorf("%d packets dropped", d)
	}
}

// delayLineFarEnd waits until the bench moved the far device here,
// configures it and echoes datagrams until stdin closes.
func delayLineFarEnd(t *testing.T) {
	sc := bufio.NewScanner(os.Stdin)
	if !sc.Scan() {
		t.Fatal("no configure line")
	}
	if err := configureFarEnd("estest1", "10.78.0.2/30"); err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenPacket("udp4", "10.78.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Println("echo " + c.LocalAddr().String())
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteTo(buf[:n], from)
		}
	}()
	for sc.Scan() {
	}
}
