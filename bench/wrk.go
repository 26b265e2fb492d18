package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// resultMarker starts the line the generated wrk script's done() prints with
// exact figures; wrk's own summary rounds them to two decimals and units.
const resultMarker = "BENCH-RESULT "

// runStats is what one wrk run measured.
type runStats struct {
	Requests    int64   `json:"requests"`
	Bytes       int64   `json:"bytes"` // response bytes, headers included
	DurationSec float64 `json:"duration_sec"`
	ReqPerSec   float64 `json:"req_per_sec"`
	MBPerSec    float64 `json:"mb_per_sec"` // 10^6 bytes per second
	P50Ms       float64 `json:"p50_ms"`
	P75Ms       float64 `json:"p75_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	// CPUUsPerReq is the CPU time (user and system, from /proc) the server's
	// processes used during the run, per request wrk completed; 0 where it
	// could not be measured. It includes the kernel's work on the server's
	// sockets, loopback delivery to wrk among it.
	CPUUsPerReq float64 `json:"server_cpu_us_per_req,omitempty"`
	// WrkCPUSec is the CPU time wrk itself used (user and system).
	WrkCPUSec float64 `json:"wrk_cpu_sec,omitempty"`
	// WrkCPUUsPerReq is WrkCPUSec per request. On one machine the load
	// generator's CPU is taken from the servers', and what it costs to
	// read an answer depends on how the server wrote it.
	WrkCPUUsPerReq float64 `json:"wrk_cpu_us_per_req,omitempty"`
	// ServerProcs and ServerThreads count the server's processes and
	// their threads at the end of the run: what it had before the
	// kernel's scheduler.
	ServerProcs   int `json:"server_procs,omitempty"`
	ServerThreads int `json:"server_threads,omitempty"`
	// OtherCPUs is how many CPUs, on average over the run, were busy with
	// work that was neither the server's nor wrk's: the origin and, on a
	// shared machine, everybody else. It says how noisy a run was; 0 where
	// /proc could not be read.
	OtherCPUs float64     `json:"host_other_cpus,omitempty"`
	Errors    errorCounts `json:"errors"`
}

// errorCounts are wrk's socket errors and its count of HTTP statuses that
// are not 2xx or 3xx.
type errorCounts struct {
	Connect int64 `json:"connect"`
	Read    int64 `json:"read"`
	Write   int64 `json:"write"`
	Timeout int64 `json:"timeout"`
	Status  int64 `json:"status"`
}

func (e errorCounts) total() int64 { return e.Connect + e.Read + e.Write + e.Timeout + e.Status }

// doneLine is the JSON the generated script's done() prints.
type doneLine struct {
	DurationUs float64 `json:"duration_us"`
	Requests   float64 `json:"requests"`
	Bytes      float64 `json:"bytes"`
	Errors     struct {
		Connect, Read, Write, Status, Timeout float64
	} `json:"errors"`
	LatencyUs struct {
		P50, P75, P90, P99 float64
	} `json:"latency_us"`
}

// parseWrk reads the output of `wrk --latency`. It takes the exact figures
// from the result line of the generated script when present and falls back
// to wrk's rounded human summary otherwise.
func parseWrk(out string) (runStats, error) {
	var s runStats
	var haveRate, haveDone bool
	var transferPerSec float64
	pct := map[string]*float64{"50%": &s.P50Ms, "75%": &s.P75Ms, "90%": &s.P90Ms, "99%": &s.P99Ms}
	inDist := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, resultMarker):
			var d doneLine
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, resultMarker)), &d); err != nil {
				return runStats{}, fmt.Errorf("wrk result line %q: %w", line, err)
			}
			if d.DurationUs <= 0 {
				return runStats{}, fmt.Errorf("wrk result line %q: no duration", line)
			}
			s.Requests, s.Bytes = int64(d.Requests), int64(d.Bytes)
			s.DurationSec = d.DurationUs / 1e6
			s.P50Ms, s.P75Ms, s.P90Ms, s.P99Ms = d.LatencyUs.P50/1e3, d.LatencyUs.P75/1e3, d.LatencyUs.P90/1e3, d.LatencyUs.P99/1e3
			s.Errors = errorCounts{
				Connect: int64(d.Errors.Connect), Read: int64(d.Errors.Read), Write: int64(d.Errors.Write),
				Timeout: int64(d.Errors.Timeout), Status: int64(d.Errors.Status),
			}
			haveDone = true
		case haveDone:
			// The exact line wins over everything printed around it.
		case line == "Latency Distribution":
			inDist = true
		case inDist && len(fields) == 2 && pct[fields[0]] != nil:
			ms, err := parseWrkDuration(fields[1])
			if err != nil {
				return runStats{}, err
			}
			*pct[fields[0]] = ms
		case len(fields) >= 5 && fields[1] == "requests" && fields[2] == "in":
			// "123456 requests in 10.00s, 1.50GB read"
			inDist = false
			n, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return runStats{}, fmt.Errorf("wrk request count %q: %w", fields[0], err)
			}
			ms, err := parseWrkDuration(strings.TrimSuffix(fields[3], ","))
			if err != nil {
				return runStats{}, err
			}
			b, err := parseWrkBytes(fields[4])
			if err != nil {
				return runStats{}, err
			}
			s.Requests, s.DurationSec, s.Bytes = n, ms/1e3, int64(b)
		case strings.HasPrefix(line, "Socket errors:"):
			// "Socket errors: connect 0, read 3, write 0, timeout 1"
			for _, kv := range strings.Split(strings.TrimPrefix(line, "Socket errors:"), ",") {
				f := strings.Fields(kv)
				if len(f) != 2 {
					return runStats{}, fmt.Errorf("wrk socket errors %q", line)
				}
				n, err := strconv.ParseInt(f[1], 10, 64)
				if err != nil {
					return runStats{}, fmt.Errorf("wrk socket errors %q: %w", line, err)
				}
				switch f[0] {
				case "connect":
					s.Errors.Connect = n
				case "read":
					s.Errors.Read = n
				case "write":
					s.Errors.Write = n
				case "timeout":
					s.Errors.Timeout = n
				}
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")), 10, 64)
			if err != nil {
				return runStats{}, fmt.Errorf("wrk status errors %q: %w", line, err)
			}
			s.Errors.Status = n
		case strings.HasPrefix(line, "Requests/sec:") && len(fields) == 2:
			v, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return runStats{}, fmt.Errorf("wrk requests/sec %q: %w", line, err)
			}
			s.ReqPerSec, haveRate = v, true
		case strings.HasPrefix(line, "Transfer/sec:") && len(fields) == 2:
			v, err := parseWrkBytes(fields[1])
			if err != nil {
				return runStats{}, err
			}
			transferPerSec = v
		}
	}
	if err := sc.Err(); err != nil {
		return runStats{}, err
	}
	switch {
	case haveDone:
		s.ReqPerSec = float64(s.Requests) / s.DurationSec
		s.MBPerSec = float64(s.Bytes) / s.DurationSec / 1e6
	case haveRate:
		s.MBPerSec = transferPerSec / 1e6
	default:
		return runStats{}, errors.New("wrk output has neither a result line nor Requests/sec")
	}
	return s, nil
}

// parseWrkDuration parses wrk's time format ("812.00us", "1.23ms", "2.00s",
// "1.50m", "1.00h") into milliseconds.
func parseWrkDuration(s string) (float64, error) {
	units := []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("wrk duration %q", s)
			}
			return v * u.ms, nil
		}
	}
	return 0, fmt.Errorf("wrk duration %q: unknown unit", s)
}

// parseWrkBytes parses wrk's byte format ("512.00B", "1.50KB", "3.20GB"),
// whose units are powers of 1024.
func parseWrkBytes(s string) (float64, error) {
	num, ok := strings.CutSuffix(s, "B")
	if !ok {
		return 0, fmt.Errorf("wrk byte count %q: no unit", s)
	}
	scale := 1.0
	if n := len(num); n > 0 {
		if i := strings.IndexByte("KMGTP", num[n-1]); i >= 0 {
			num = num[:n-1]
			for range i + 1 {
				scale *= 1024
			}
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("wrk byte count %q", s)
	}
	return v * scale, nil
}

// wrkScript returns the Lua script for a run over paths: a single path is
// left to wrk's static request (no Lua per request); several are cycled
// through from pre-formatted requests, each thread starting at a different
// one. Either way done() prints the exact figures on a resultMarker line.
func wrkScript(paths []string) string {
	var b strings.Builder
	b.WriteString("-- Generated by the edgeswarm bench tool.\n")
	if len(paths) > 1 {
		b.WriteString("local paths = {\n")
		for _, p := range paths {
			fmt.Fprintf(&b, "  %s,\n", luaQuote(p))
		}
		b.WriteString(`}
local reqs = {}
local i = 0
local threads = 0

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  for k, p in ipairs(paths) do
    reqs[k] = wrk.format("GET", p)
  end
  i = (thread_index or 0) % #reqs
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
`)
	}
	b.WriteString(`
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('` + resultMarker + `{"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"p50":%.0f,"p75":%.0f,"p90":%.0f,"p99":%.0f}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99)))
end
`)
	return b.String()
}

// luaQuote returns s as a Lua string literal that survives any bytes.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// wrkRun is one invocation of wrk.
type wrkRun struct {
	Bin         string
	URL         string // first path; the script picks the rest
	Script      string // path of the Lua script
	Threads     int
	Connections int
	Duration    time.Duration
	Timeout     time.Duration // per request
}

func (w wrkRun) args() []string {
	return []string{
		"--latency",
		"--threads", strconv.Itoa(w.Threads),
		"--connections", strconv.Itoa(w.Connections),
		"--duration", fmt.Sprintf("%ds", int((w.Duration+time.Second-1)/time.Second)),
		"--timeout", fmt.Sprintf("%ds", int((w.Timeout+time.Second-1)/time.Second)),
		"--script", w.Script,
		w.URL,
	}
}

// run executes wrk, bounded to its duration plus a margin.
func (w wrkRun) run(ctx context.Context) (runStats, string, error) {
	ctx, cancel := context.WithTimeout(ctx, w.Duration+w.Timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.Bin, w.args()...)
	cmd.WaitDelay = stopGrace
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return runStats{}, string(out), fmt.Errorf("wrk %s: %w", w.URL, context.Cause(ctx))
	}
	if err != nil {
		return runStats{}, string(out), fmt.Errorf("wrk %s: %w; output:\n%s", w.URL, err, indent(strings.TrimSpace(string(out))))
	}
	s, err := parseWrk(string(out))
	if err != nil {
		return runStats{}, string(out), fmt.Errorf("wrk %s: %w; output:\n%s", w.URL, err, indent(strings.TrimSpace(string(out))))
	}
	if ps := cmd.ProcessState; ps != nil {
		s.WrkCPUSec = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	return s, string(out), nil
}
