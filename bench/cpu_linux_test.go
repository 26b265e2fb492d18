package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		pgrp       int
		ticks      int64
		err        string
	}{
		{"plain", "4242 (nginx) S 4241 4241 4241 0 -1 4194624 563 0 0 0 37 12 0 0 20 0 1 0 1234 0 0", 4241, 49, ""},
		{"spaces and parentheses in the name", "77 (a (b) c) R 1 70 70 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 9 0 0", 70, 11, ""},
		{"no name", "77 a R 1 70", 0, 0, "no command name"},
		{"truncated", "77 (x) R 1 70 70", 0, 0, "fields after the command name"},
		{"bad group", "77 (x) R 1 x 70 0 -1 0 0 0 0 0 5 6", 0, 0, "pgrp"},
		{"bad time", "77 (x) R 1 70 70 0 -1 0 0 0 0 0 5 -6", 0, 0, "cpu time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pgrp, ticks, err := parseProcStat(tc.line)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one about %q", err, tc.err)
				}
				return
			}
			if err != nil || pgrp != tc.pgrp || ticks != tc.ticks {
				t.Fatalf("= %d, %d, %v; want %d, %d", pgrp, ticks, err, tc.pgrp, tc.ticks)
			}
		})
	}
}

func TestParseProcThreads(t *testing.T) {
	for _, tc := range []struct {
		name, line    string
		pgrp, threads int
		err           string
	}{
		{"varnish child", "16388 (cache-main) S 16373 16368 32288 0 -1 4194624 563 0 0 0 37 12 0 0 20 0 216 0 1234 0 0", 16368, 216, ""},
		{"spaces and parentheses in the name", "77 (a (b) c) R 1 70 70 0 -1 0 0 0 0 0 5 6 0 0 20 0 3 0 9 0 0", 70, 3, ""},
		{"no name", "77 a R 1 70", 0, 0, "no command name"},
		{"truncated", "77 (x) R 1 70 70 0 -1 0 0 0 0 0 5 6", 0, 0, "fields after the command name"},
		{"no threads", "77 (x) R 1 70 70 0 -1 0 0 0 0 0 5 6 0 0 20 0 0 0 9", 0, 0, "num_threads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pgrp, threads, err := parseProcThreads(tc.line)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one about %q", err, tc.err)
				}
				return
			}
			if err != nil || pgrp != tc.pgrp || threads != tc.threads {
				t.Fatalf("= %d, %d, %v; want %d, %d", pgrp, threads, err, tc.pgrp, tc.threads)
			}
		})
	}
}

// groupTasks counts every process of a group and nothing outside it.
func TestGroupTasksCountsTheWholeGroup(t *testing.T) {
	// A shell in its own group with two sleeping children.
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	defer func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		cmd.Wait()
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		procs, threads, ok := groupTasks(pgid)
		if ok && procs == 3 && threads == 3 {
			break // the shell and both children, one thread each
		}
		if time.Now().After(deadline) {
			t.Fatalf("groupTasks = %d processes, %d threads, %v; want 3, 3", procs, threads, ok)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if procs, threads, ok := groupTasks(os.Getpid() + 1<<22); ok || procs != 0 || threads != 0 {
		t.Fatalf("a group with no process: %d, %d, %v", procs, threads, ok)
	}
}

// groupCPU counts the CPU of every process in a group, forked workers
// included, and nothing outside it.
func TestGroupCPUCountsTheWholeGroup(t *testing.T) {
	// A shell in its own group whose child spins.
	cmd := exec.Command("sh", "-c", "sh -c 'while :; do :; done' & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	defer func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		cmd.Wait()
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		used, ok := groupCPU(pgid)
		if !ok && time.Now().After(deadline) {
			t.Fatal("groupCPU found no process in the group")
		}
		if used >= 5*clockTick {
			break // the spinning child is counted
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group used %v of CPU after spinning for 20 s", used)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if used, ok := groupCPU(os.Getpid() + 1<<22); ok || used != 0 {
		t.Fatalf("a group with no process: %v, %v", used, ok)
	}
}

func TestParseHostStat(t *testing.T) {
	stat := "cpu  100 5 50 9000 40 3 2 7 0 0\ncpu0 50 2 25 4500 20 1 1 3 0 0\nintr 1\n"
	got, err := parseHostStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	// user + nice + system + irq + softirq + steal; idle and iowait are not busy.
	if want := int64(100 + 5 + 50 + 3 + 2 + 7); got != want {
		t.Errorf("busy = %d, want %d", got, want)
	}
	if got, err := parseHostStat("cpu 1 2 3 4 5 6 7\n"); err != nil || got != 1+2+3+6+7 {
		t.Errorf("old kernel without steal: %d, %v", got, err)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 x 4 5 6 7 8\n", "cpu 1 2 3\n"} {
		if _, err := parseHostStat(bad); err == nil {
			t.Errorf("parseHostStat(%q) accepted", bad)
		}
	}
	if _, ok := hostBusy(); !ok {
		t.Error("hostBusy cannot read this Linux host's /proc/stat")
	}
}
