package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseWrk(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name string
		file string // under testdata, or
		text string // inline output
		want runStats
	}{
		{
			name: "summary only",
			file: "wrk-playlist.txt",
			want: runStats{
				Requests: 949, Bytes: mibs(3.10), DurationSec: 1.63,
				ReqPerSec: 581.26, MBPerSec: 1.90 * mib / 1e6,
				P50Ms: 6.06, P75Ms: 251.18, P90Ms: 486.36, P99Ms: 654.26,
			},
		},
		{
			name: "non-2xx responses and microseconds",
			file: "wrk-non2xx.txt",
			want: runStats{
				Requests: 17819, Bytes: mibs(2.99), DurationSec: 1.10,
				ReqPerSec: 16188.22, MBPerSec: 2.72 * mib / 1e6,
				P50Ms: 0.284, P75Ms: 1.06, P90Ms: 4.99, P99Ms: 40.15,
				Errors: errorCounts{Status: 17819},
			},
		},
		{
			name: "exact result line wins over the rounded summary",
			file: "wrk-segments-script.txt",
			want: runStats{
				Requests: 986, Bytes: 1034019186, DurationSec: 1.026705,
				ReqPerSec: 986 / 1.026705, MBPerSec: 1034019186 / 1.026705 / 1e6,
				P50Ms: 4.012, P75Ms: 12.841, P90Ms: 71.787, P99Ms: 265.572,
			},
		},
		{
			name: "single path script",
			file: "wrk-playlist-script.txt",
			want: runStats{
				Requests: 5433, Bytes: 18618891, DurationSec: 1.144387,
				ReqPerSec: 5433 / 1.144387, MBPerSec: 18618891 / 1.144387 / 1e6,
				P50Ms: 0.875, P75Ms: 3.225, P90Ms: 7.024, P99Ms: 22.312,
			},
		},
		{
			name: "socket errors",
			text: `Running 10s test @ http://127.0.0.1:8080/
  2 threads and 64 connections
  Latency Distribution
     50%    1.00ms
     75%    2.00ms
     90%    3.00ms
     99%    1.50s
  1000 requests in 10.00s, 1.00GB read
  Socket errors: connect 1, read 2, write 3, timeout 4
Requests/sec:    100.00
Transfer/sec:    102.40MB
`,
			want: runStats{
				Requests: 1000, Bytes: 1 << 30, DurationSec: 10,
				ReqPerSec: 100, MBPerSec: 102.4 * mib / 1e6,
				P50Ms: 1, P75Ms: 2, P90Ms: 3, P99Ms: 1500,
				Errors: errorCounts{Connect: 1, Read: 2, Write: 3, Timeout: 4},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.text
			if tt.file != "" {
				text = readTestdata(t, tt.file)
			}
			got, err := parseWrk(text)
			if err != nil {
				t.Fatalf("parseWrk: %v", err)
			}
			assertStats(t, got, tt.want)
		})
	}
}

func TestParseWrkRejects(t *testing.T) {
	tests := map[string]string{
		"empty":          "",
		"usage":          "Usage: wrk <options> <url>\n  Options:\n",
		"bad result":     resultMarker + "{not json\n",
		"no duration":    resultMarker + `{"requests":5}` + "\n",
		"bad percentile": "  Latency Distribution\n     50%    1.00parsecs\nRequests/sec: 1\n",
		"bad transfer":   "Requests/sec: 1\nTransfer/sec: 12.00XB\n",
		"bad errors":     "  Socket errors: connect x, read 0, write 0, timeout 0\nRequests/sec: 1\n",
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			if s, err := parseWrk(text); err == nil {
				t.Fatalf("parseWrk accepted %q as %+v", text, s)
			}
		})
	}
}

func TestParseWrkUnits(t *testing.T) {
	durations := map[string]float64{"812.00us": 0.812, "1.23ms": 1.23, "2.00s": 2000, "1.50m": 90000, "1.00h": 3600000}
	for in, want := range durations {
		got, err := parseWrkDuration(in)
		if err != nil || !near(got, want) {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	sizes := map[string]float64{"512.00B": 512, "1.50KB": 1536, "2.00MB": 2 << 20, "0.96GB": 0.96 * (1 << 30), "1.00TB": 1 << 40}
	for in, want := range sizes {
		got, err := parseWrkBytes(in)
		if err != nil || !near(got, want) {
			t.Errorf("parseWrkBytes(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ms", "-1.00ms", "3.00d"} {
		if _, err := parseWrkDuration(in); err == nil {
			t.Errorf("parseWrkDuration(%q) succeeded", in)
		}
	}
	for _, in := range []string{"", "B", "12.00", "1.00XB", "-2.00KB"} {
		if _, err := parseWrkBytes(in); err == nil {
			t.Errorf("parseWrkBytes(%q) succeeded", in)
		}
	}
}

func TestWrkScript(t *testing.T) {
	t.Run("one path is a static request", func(t *testing.T) {
		s := wrkScript([]string{"/vod/a/index.m3u8"})
		if strings.Contains(s, "function request") {
			t.Errorf("a single path should use wrk's static request, script:\n%s", s)
		}
		if !strings.Contains(s, "function done") || !strings.Contains(s, resultMarker) {
			t.Errorf("script does not print the result line:\n%s", s)
		}
	})
	t.Run("several paths are cycled", func(t *testing.T) {
		paths := []string{"/vod/a/0.ts", "/vod/a/1.ts", `/vod/b/2.ts?q="x"\y`}
		s := wrkScript(paths)
		for _, want := range []string{`"/vod/a/0.ts",`, `"/vod/a/1.ts",`, `"/vod/b/2.ts?q=\"x\"\\y",`, "function request", "function done"} {
			if !strings.Contains(s, want) {
				t.Errorf("script lacks %s:\n%s", want, s)
			}
		}
	})
}

func TestLuaQuote(t *testing.T) {
	tests := map[string]string{
		"/a/b.ts":      `"/a/b.ts"`,
		`q"uote`:       `"q\"uote"`,
		`back\slash`:   `"back\\slash"`,
		"new\nline":    `"new\010line"`,
		"caf\xc3\xa9":  `"caf\195\169"`,
		"]]--[[ evil)": `"]]--[[ evil)"`,
	}
	for in, want := range tests {
		if got := luaQuote(in); got != want {
			t.Errorf("luaQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzParseWrk(f *testing.F) {
	for _, name := range []string{"wrk-playlist.txt", "wrk-non2xx.txt", "wrk-segments-script.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseWrk(text)
		if err == nil && (s.ReqPerSec < 0 || math.IsNaN(s.ReqPerSec)) {
			t.Errorf("parseWrk(%q) = %+v", text, s)
		}
	})
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assertStats(t testing.TB, got, want runStats) {
	t.Helper()
	if got.Requests != want.Requests || got.Errors != want.Errors {
		t.Errorf("requests, errors = %d, %+v; want %d, %+v", got.Requests, got.Errors, want.Requests, want.Errors)
	}
	if math.Abs(float64(got.Bytes-want.Bytes)) > 1 {
		t.Errorf("bytes = %d, want %d", got.Bytes, want.Bytes)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"duration", got.DurationSec, want.DurationSec},
		{"req/s", got.ReqPerSec, want.ReqPerSec},
		{"MB/s", got.MBPerSec, want.MBPerSec},
		{"p50", got.P50Ms, want.P50Ms},
		{"p75", got.P75Ms, want.P75Ms},
		{"p90", got.P90Ms, want.P90Ms},
		{"p99", got.P99Ms, want.P99Ms},
	} {
		if !near(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func mibs(f float64) int64 { return int64(f * (1 << 20)) }
