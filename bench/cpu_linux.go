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

// procStatFields splits a /proc/<pid>/stat line after the command name
// (in parentheses, which may hold spaces and parentheses itself, so the
// fields are counted from the last ')'): f[0] is field 3 (state). It wants
// at least n fields there and reads the process group (field 5).
func procStatFields(line string, n int) (f []string, pgrp int, err error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return nil, 0, fmt.Errorf("no command name in %q", line)
	}
	f = strings.Fields(line[i+1:])
	if len(f) < n {
		return nil, 0, fmt.Errorf("%d fields after the command name, want at least %d", len(f), n)
	}
	if pgrp, err = strconv.Atoi(f[2]); err != nil {
		return nil, 0, fmt.Errorf("pgrp: %w", err)
	}
	return f, pgrp, nil
}

// parseProcThreads reads the process group and the thread count (field
// 20) from a /proc/<pid>/stat line.
func parseProcThreads(line string) (pgrp, threads int, err error) {
	f, pgrp, err := procStatFields(line, 18)
	if err != nil {
		return 0, 0, err
	}
	if threads, err = strconv.Atoi(f[17]); err != nil || threads < 1 {
		return 0, 0, fmt.Errorf("num_threads %q: not a positive count", f[17])
	}
	return pgrp, threads, nil
}

// parseProcStat reads the process group and utime+stime (fields 14 and
// 15, in clock ticks) from a /proc/<pid>/stat line.
func parseProcStat(line string) (pgrp int, ticks int64, err error) {
	f, pgrp, err := procStatFields(line, 13)
	if err != nil {
		return 0, 0, err
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
