package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// groupCPU is the CPU time (user and system) used so far by the live
// processes of process group pgid: a server the bench started, with any
// workers it forked. ok is false when /proc cannot be read.
func groupCPU(pgid int) (total time.Duration, ok bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		grp, ticks, err := parseProcStat(string(b))
		if err != nil || grp != pgid {
			continue
		}
		total += time.Duration(ticks) * clockTick
		ok = true
	}
	return total, ok
}

// groupTasks counts the live processes of process group pgid and their
// threads: how many tasks a server puts before the kernel's scheduler (the
// node's GOMAXPROCS and runtime threads, nginx's master and workers,
// varnishd's manager and its pools of worker threads). ok is false when
// /proc cannot be read.
func groupTasks(pgid int) (procs, threads int, ok bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		grp, n, err := parseProcThreads(string(b))
		if err != nil || grp != pgid {
			continue
		}
		procs++
		threads += n
	}
	return procs, threads, procs > 0
}

// parseProcThreads reads the process group and the thread count (field
// 20) from a /proc/<pid>/stat line.
func parseProcThreads(line string) (pgrp, threads int, err error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("no command name in %q", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state): pgrp is field 5, num_threads 20.
	if len(f) < 18 {
		return 0, 0, fmt.Errorf("%d fields after the command name, want at least 18", len(f))
	}
	if pgrp, err = strconv.Atoi(f[2]); err != nil {
		return 0, 0, fmt.Errorf("pgrp: %w", err)
	}
	if threads, err = strconv.Atoi(f[17]); err != nil || threads < 1 {
		return 0, 0, fmt.Errorf("num_threads %q: not a positive count", f[17])
	}
	return pgrp, threads, nil
}

// parseProcStat reads the process group and utime+stime (in clock ticks)
// from a /proc/<pid>/stat line. The command name, in parentheses, may hold
// spaces and parentheses itself, so the fields are counted from the last
// ')'.
func parseProcStat(line string) (pgrp int, ticks int64, err error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("no command name in %q", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	if pgrp, err = strconv.Atoi(f[2]); err != nil {
		return 0, 0, fmt.Errorf("pgrp: %w", err)
	}
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return 0, 0, fmt.Errorf("cpu time %q: not a count of ticks", s)
		}
		ticks += v
	}
	return pgrp, ticks, nil
}

// hostBusy is the CPU time all CPUs of the host spent on anything but idle
// and I/O wait so far, from /proc/stat. ok is false when it cannot be read.
func hostBusy() (busy time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	ticks, err := parseHostStat(string(b))
	if err != nil {
		return 0, false
	}
	return time.Duration(ticks) * clockTick, true
}

// parseHostStat returns the busy clock ticks of the aggregate "cpu" line of
// /proc/stat: user, nice, system, irq, softirq and steal (idle and iowait
// are not busy; guest time is already inside user).
func parseHostStat(stat string) (int64, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("first line %q is not the aggregate cpu line", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("cpu field %d %q: not a count of ticks", i, f[i])
		}
		busy += v
	}
	if len(f) > 8 {
		v, err := strconv.ParseInt(f[8], 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("cpu steal %q: not a count of ticks", f[8])
		}
		busy += v
	}
	return busy, nil
}
