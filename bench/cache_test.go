package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestNginxConfig(t *testing.T) {
	cfg := nginxConfig{
		Dir:          `/tmp/bench dir`,
		CacheDir:     `/dev/shm/bench"cache`,
		CacheMaxSize: 4 << 30,
		Listen:       "127.0.0.1:18081",
		Origin:       "127.0.0.1:18080",
	}
	conf, err := cfg.render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"worker_processes auto;",
		"daemon off;",
		"sendfile on;",
		"tcp_nopush on;",
		"access_log off;",
		"open_file_cache max=",
		`pid "/tmp/bench dir/nginx.pid";`,
		`proxy_temp_path "/tmp/bench dir/proxy";`,
		`proxy_cache_path "/dev/shm/bench\"cache" levels=1:2 keys_zone=edge:`,
		"max_size=4294967296 ",
		"server 127.0.0.1:18080;",
		"keepalive 64;",
		"listen 127.0.0.1:18081 reuseport",
		"proxy_cache edge;",
		"proxy_cache_valid 200 1d;",
		"proxy_cache_lock on;",
		"add_header X-Cache-Status $upstream_cache_status always;",
		"location = " + nginxReadyPath + " {",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "user ") {
		t.Errorf("config sets a user although none was asked for:\n%s", conf)
	}
	if strings.Count(conf, "{") != strings.Count(conf, "}") {
		t.Errorf("unbalanced braces:\n%s", conf)
	}

	cfg.User = "root"
	cfg.NoSendfile = true
	conf, err = cfg.render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nuser root;\n", "\n    sendfile off;\n    output_buffers 2 256k;\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "sendfile on") {
		t.Errorf("config has sendfile on although it was turned off:\n%s", conf)
	}
}

func TestNginxConfigRejects(t *testing.T) {
	good := nginxConfig{Dir: "/d", CacheDir: "/c", CacheMaxSize: 1, Listen: "127.0.0.1:1", Origin: "127.0.0.1:2"}
	tests := map[string]func(*nginxConfig){
		"no listen":       func(c *nginxConfig) { c.Listen = "" },
		"injected listen": func(c *nginxConfig) { c.Listen = "127.0.0.1:1; include /etc/passwd" },
		"injected origin": func(c *nginxConfig) { c.Origin = "127.0.0.1:2}" },
		"no cache dir":    func(c *nginxConfig) { c.CacheDir = "" },
		"no working dir":  func(c *nginxConfig) { c.Dir = "" },
		"zero cache size": func(c *nginxConfig) { c.CacheMaxSize = 0 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			if conf, err := c.render(); err == nil {
				t.Fatalf("render accepted %+v:\n%s", c, conf)
			}
		})
	}
}

// TestNginxAcceptsConfig has nginx check the generated configuration where
// nginx is installed.
func TestNginxAcceptsConfig(t *testing.T) {
	bin := lookPath("nginx")
	if bin == "" {
		t.Skip("nginx is not installed")
	}
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	if err := os.Mkdir(cacheDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, noSendfile := range []bool{false, true} {
		cfg := nginxConfig{Dir: dir, CacheDir: cacheDir, CacheMaxSize: 1 << 30, Listen: freeTestAddr(t), Origin: freeTestAddr(t), NoSendfile: noSendfile}
		if os.Geteuid() == 0 {
			cfg.User = "root"
		}
		conf, err := cfg.render()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), bin, "-t", "-q", "-p", dir+"/", "-c", path).CombinedOutput()
		if err != nil {
			t.Fatalf("nginx -t rejected the config: %v\n%s\n%s", err, out, conf)
		}
	}
}

func freeTestAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestCacheHitHeaders(t *testing.T) {
	tests := []struct {
		name   string
		check  func(http.Header) (bool, string)
		header http.Header
		hit    bool
	}{
		{"node hit", nodeHit, http.Header{"Cache-Status": {"edgeswarm; hit"}}, true},
		{"node hit with ttl", nodeHit, http.Header{"Cache-Status": {"edgeswarm; hit; ttl=86300"}}, true},
		{"node quoted name", nodeHit, http.Header{"Cache-Status": {`"edgeswarm";hit`}}, true},
		{"node after upstream cache", nodeHit, http.Header{"Cache-Status": {"OriginCache; hit, edgeswarm; hit"}}, true},
		{"node in second header line", nodeHit, http.Header{"Cache-Status": {"OriginCache; fwd=miss", "edgeswarm; hit"}}, true},
		{"node miss", nodeHit, http.Header{"Cache-Status": {"edgeswarm; fwd=miss; stored"}}, false},
		{"node hit of another cache only", nodeHit, http.Header{"Cache-Status": {"OriginCache; hit, edgeswarm; fwd=miss"}}, false},
		{"node hit-like parameter", nodeHit, http.Header{"Cache-Status": {"edgeswarm; fwd=hit"}}, false},
		{"node no header", nodeHit, http.Header{}, false},
		{"nginx or varnish hit", cacheStatusHit, http.Header{"X-Cache-Status": {"HIT"}}, true},
		{"nginx or varnish miss", cacheStatusHit, http.Header{"X-Cache-Status": {"MISS"}}, false},
		{"nginx revalidated", cacheStatusHit, http.Header{"X-Cache-Status": {"REVALIDATED"}}, false},
		{"no header", cacheStatusHit, http.Header{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hit, desc := tt.check(tt.header)
			if hit != tt.hit {
				t.Errorf("hit = %v (%s), want %v", hit, desc, tt.hit)
			}
			if desc == "" {
				t.Error("no description of the header")
			}
		})
	}
}

func TestPlaylistURIs(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:9/vod/master.m3u8")
	tests := []struct {
		name string
		body string
		want []string
	}{
		{
			name: "master",
			body: "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=3000000\r\n/vod/high/index.m3u8?token=a\r\n",
			want: []string{"http://127.0.0.1:9/vod/low/index.m3u8", "http://127.0.0.1:9/vod/high/index.m3u8?token=a"},
		},
		{
			name: "media with absolute URI and BOM",
			body: "\ufeff#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n0.ts\n#EXTINF:4.0,\n../x/1.ts\n#EXTINF:4.0,\nhttp://cdn.invalid/2.ts\n#EXT-X-ENDLIST\n",
			want: []string{"http://127.0.0.1:9/vod/0.ts", "http://127.0.0.1:9/x/1.ts", "http://cdn.invalid/2.ts"},
		},
		{
			name: "no URIs",
			body: "#EXTM3U\n#EXT-X-ENDLIST\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uris, err := playlistURIs(base, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range uris {
				got = append(got, u.String())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "<html>not found</html>", "0.ts\n#EXTM3U\n", "#EXTM3U\n%zz.ts\n"} {
		if uris, err := playlistURIs(base, bad); err == nil {
			t.Errorf("playlistURIs(%q) = %v, want an error", bad, uris)
		}
	}
}

func FuzzPlaylistURIs(f *testing.F) {
	f.Add("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow/index.m3u8\n")
	f.Add("#EXTM3U\n#EXTINF:4,\n0.ts\n#EXT-X-ENDLIST\n")
	base, _ := url.Parse("http://127.0.0.1:9/vod/master.m3u8")
	f.Fuzz(func(t *testing.T, body string) {
		uris, err := playlistURIs(base, body)
		if err != nil {
			return
		}
		for _, u := range uris {
			if u == nil {
				t.Fatal("nil URI")
			}
			_ = u.RequestURI()
		}
	})
}

func TestParseSize(t *testing.T) {
	tests := map[string]int64{
		"1MiB": 1 << 20, "4GiB": 4 << 30, "512KiB": 512 << 10, "1.5MB": 1_500_000,
		"2gb": 2_000_000_000, "1048576": 1 << 20, "64 MiB": 64 << 20, "1m": 1 << 20, "100B": 100,
	}
	for in, want := range tests {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "0", "-1MiB", "1XB", "1.2.3MiB", "1 MiB extra"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestFloors(t *testing.T) {
	run := func(rps, mbps, p99 float64) runStats {
		return runStats{ReqPerSec: rps, MBPerSec: mbps, P50Ms: p99 / 4, P99Ms: p99}
	}
	workload := func(name string, node, nginx []runStats, varnish ...runStats) workloadReport {
		w := workloadReport{Name: name, Servers: []serverReport{{Name: serverNode, Runs: node}, {Name: serverNginx, Runs: nginx}}}
		if len(varnish) > 0 {
			w.Servers = append(w.Servers, serverReport{Name: serverVarnish, Runs: varnish})
		}
		w.summarize()
		return w
	}
	tests := []struct {
		name      string
		workloads []workloadReport
		want      map[string]bool // floor -> pass
	}{
		{
			name: "all met, medians ignore one bad run",
			workloads: []workloadReport{
				workload("playlists",
					[]runStats{run(140, 1, 2), run(10, 1, 2), run(135, 1, 2)},
					[]runStats{run(100, 1, 2), run(100, 1, 2), run(100, 1, 2)}),
				workload("segments",
					[]runStats{run(1000, 1120, 9), run(1000, 1120, 9)},
					[]runStats{run(1000, 990, 10), run(1000, 1010, 9)}),
			},
			want: map[string]bool{
				"playlists: req/s >= 1.30x best": true,
				"playlists: p99 <= 1.00x best":   true,
				"segments: MB/s >= 1.10x best":   true,
				"segments: p99 <= 1.00x best":    true,
			},
		},
		{
			name: "all missed",
			workloads: []workloadReport{
				workload("playlists", []runStats{run(129, 1, 3)}, []runStats{run(100, 1, 2)}),
				workload("segments", []runStats{run(900, 1090, 8)}, []runStats{run(1000, 1000, 7)}),
			},
			want: map[string]bool{
				"playlists: req/s >= 1.30x best": false,
				"playlists: p99 <= 1.00x best":   false,
				"segments: MB/s >= 1.10x best":   false,
				"segments: p99 <= 1.00x best":    false,
			},
		},
		{
			// The node beats nginx by far but not Varnish: the floors are
			// against Varnish, latency included, even where nginx's p99
			// would have passed.
			name: "judged against the better of nginx and varnish",
			workloads: []workloadReport{
				workload("segments", []runStats{run(1000, 2200, 48)},
					[]runStats{run(1000, 1700, 60)},
					run(1000, 2400, 45)),
			},
			want: map[string]bool{
				"segments: MB/s >= 1.10x best": false,
				"segments: p99 <= 1.00x best":  false,
			},
		},
		{
			name: "a second node build is never the baseline",
			workloads: []workloadReport{func() workloadReport {
				w := workloadReport{Name: "segments", Servers: []serverReport{
					{Name: serverNode, Runs: []runStats{run(1000, 2200, 40)}},
					{Name: serverNginx, Runs: []runStats{run(1000, 1900, 50)}},
					{Name: serverNodeB, Runs: []runStats{run(1000, 9000, 10)}},
				}}
				w.summarize()
				if w.Baseline != serverNginx || w.Ratios[serverNodeB].MBPerSec != 2200.0/9000 {
					t.Errorf("baseline %q, ratios %+v", w.Baseline, w.Ratios)
				}
				return w
			}()},
			want: map[string]bool{
				"segments: MB/s >= 1.10x best": true,
				"segments: p99 <= 1.00x best":  true,
			},
		},
		{
			name: "varnish below nginx: nginx is the baseline",
			workloads: []workloadReport{
				workload("segments", []runStats{run(1000, 2200, 48)},
					[]runStats{run(1000, 1900, 50)},
					run(1000, 1500, 30)),
			},
			want: map[string]bool{
				"segments: MB/s >= 1.10x best": true,
				"segments: p99 <= 1.00x best":  true,
			},
		},
		{
			name: "errors fail a floor whatever the ratio; workloads not run are not judged",
			workloads: []workloadReport{
				workload("playlists",
					[]runStats{{ReqPerSec: 500, P99Ms: 1, Errors: errorCounts{Status: 3}}},
					[]runStats{run(100, 1, 2)}),
			},
			want: map[string]bool{"playlists: req/s >= 1.30x best": false, "playlists: p99 <= 1.00x best": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]bool{}
			for _, f := range cacheFloors() {
				if r, ok := f.check(tt.workloads); ok {
					got[r.Floor] = r.Pass
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("floors judged: %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: pass = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

// A floor's rounds met pairs each of the node's runs with the baseline's
// run of the same round: a median that passes on two lucky rounds of five
// shows as 2/5.
func TestFloorRoundsMet(t *testing.T) {
	run := func(mbps, p99 float64) runStats { return runStats{ReqPerSec: mbps, MBPerSec: mbps, P99Ms: p99} }
	w := workloadReport{Name: "segments", Servers: []serverReport{
		{Name: serverNode, Runs: []runStats{run(1200, 10), run(1200, 30), run(1000, 10), run(1200, 9), run(1150, 31)}},
		{Name: serverNginx, Runs: []runStats{run(500, 5), run(500, 5), run(500, 5), run(500, 5), run(500, 5)}},
		{Name: serverVarnish, Runs: []runStats{run(1000, 12), run(1000, 20), run(1000, 9), run(1000, 10), run(1000, 30)}},
	}}
	w.summarize()
	want := map[string][2]int{ // floor -> rounds met, rounds
		"segments: MB/s >= 1.10x best": {4, 5}, // round 3 is 1.00x
		"segments: p99 <= 1.00x best":  {2, 5}, // rounds 1 and 4; 30 > 20, 10 > 9, 31 > 30
	}
	for _, f := range cacheFloors() {
		r, ok := f.check([]workloadReport{w})
		if !ok {
			continue
		}
		if r.Baseline != serverVarnish {
			t.Fatalf("%s: baseline %q, want varnish", r.Floor, r.Baseline)
		}
		if got := [2]int{r.RoundsMet, r.Rounds}; got != want[r.Floor] {
			t.Errorf("%s: rounds met %d/%d, want %d/%d", r.Floor, got[0], got[1], want[r.Floor][0], want[r.Floor][1])
		}
	}
}

func TestParseGOMAXPROCS(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{"# HELP go_sched_gomaxprocs_threads The current runtime.GOMAXPROCS setting.\n# TYPE go_sched_gomaxprocs_threads gauge\ngo_sched_gomaxprocs_threads 2\ngo_threads 9\n", 2},
		{"go_threads 9\ngo_sched_gomaxprocs_threads 16\n", 16},
		{"go_sched_gomaxprocs_threads_total 3\ngo_threads 9\n", 0},
		{"go_sched_gomaxprocs_threads NaN\n", 0},
		{"go_sched_gomaxprocs_threads 0\n", 0},
		{"", 0},
	} {
		if got := parseGOMAXPROCS(tc.text); got != tc.want {
			t.Errorf("parseGOMAXPROCS(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

func TestCheckEnv(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"GOMAXPROCS=1", true},
		{"GODEBUG=gctrace=1", true}, // the value may hold '='
		{"_X1=", true},              // an empty value is a value
		{"=1", false},
		{"GOMAXPROCS", false},
		{"9A=1", false},
		{"A B=1", false},
		{"A-B=1", false},
	} {
		if err := checkEnv(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkEnv(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

// A second node from the same binary with only its environment changed is
// measured beside the first: the A/B of a runtime setting.
func TestCompareEnvAddsSecondNode(t *testing.T) {
	o, err := parseCacheFlags([]string{"--compare-node-env", "GOMAXPROCS=1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.compares() || o.CompareBin != "" || len(o.CompareEnv) != 1 {
		t.Errorf("options %+v: want a second node from the first's binary", o)
	}
	if o, _ := parseCacheFlags(nil, io.Discard); o.compares() {
		t.Error("a second node without --compare-node-bin or --compare-node-env")
	}
}

// The child gets the environment it was given on top of the bench's.
func TestStartEnv(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDGESWARM_BENCH_KEPT", "kept")
	b := &cacheBench{dir: t.TempDir()}
	t.Cleanup(b.stop.run)
	p, err := b.startEnv("env", sh, []string{"GOMAXPROCS=1"}, "-c", `echo "$GOMAXPROCS $EDGESWARM_BENCH_KEPT"`)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	out, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "1 kept" {
		t.Errorf("child saw %q, want %q", got, "1 kept")
	}
}

func TestMarkdown(t *testing.T) {
	w := workloadReport{
		Name: "segments", Paths: []string{"/a/0.ts", "/a/1.ts"}, ObjectBytes: 1 << 20,
		Servers: []serverReport{
			{Name: serverNode, Runs: []runStats{{ReqPerSec: 1100, MBPerSec: 1258.3, P50Ms: 20, P99Ms: 80, CPUUsPerReq: 300, OtherCPUs: 0.25,
				WrkCPUUsPerReq: 125.5, ServerProcs: 1, ServerThreads: 9}}},
			{Name: serverNginx, Runs: []runStats{{ReqPerSec: 1000, MBPerSec: 1048.6, P50Ms: 25, P99Ms: 100, CPUUsPerReq: 400}}},
			// No load generator CPU for nginx yet: no CPU-bound ratio (below).
			{Name: serverVarnish, Runs: []runStats{{ReqPerSec: 500, MBPerSec: 524.3, P50Ms: 10, P99Ms: 50, CPUUsPerReq: 200}}},
		},
		WarmAfter: map[string]bool{serverNode: true, serverNginx: false, serverVarnish: true},
	}
	w.summarize()
	r := cacheReport{Settings: cacheSettings{Connections: 64, Threads: 2, Duration: "10s", Rounds: 1, NginxSendfile: true},
		Host: hostInfo{CPUs: 2, Varnish: "varnish-7.1.1", NodeGOMAXPROCS: 2}, Workloads: []workloadReport{w}}
	for _, f := range cacheFloors() {
		if fr, ok := f.check(r.Workloads); ok {
			r.Floors = append(r.Floors, fr)
		}
	}
	r.Pass = true
	var b bytes.Buffer
	r.writeMarkdown(&b)
	out := b.String()
	for _, want := range []string{
		"median of 1 round (alternating order)",
		"(sendfile on)",
		"; varnish-7.1.1 (malloc);",
		"| segments (2 URLs, 1.0 MiB each) | edgeswarm | 1100 | 1258.3 | 20.00 ms | 80.00 ms | 300.0 µs | 0.25 | 0 |",
		"|  | nginx | 1000 | 1048.6 | 25.00 ms | 100.00 ms | 400.0 µs | 0.00 | 0 |",
		"|  | varnish | 500 | 524.3 | 10.00 ms | 50.00 ms | 200.0 µs | 0.00 | 0 |",
		"| | edgeswarm / nginx (best) | 1.10x | 1.20x | 0.80x | 0.80x | 0.75x | | |",
		"| | edgeswarm / varnish | 2.20x | 2.40x | 2.00x | 1.60x | 1.50x | | |",
		"| segments: MB/s >= 1.10x best | nginx | 1.20x | PASS | 1/1 |",
		"| segments: p99 <= 1.00x best | nginx | 0.80x | PASS | 1/1 |",
		"Every round, in the order run; every server may run on all 2 CPUs: edgeswarm with GOMAXPROCS 2, nginx one worker per CPU,",
		"| segments | edgeswarm | 1258 MB/s | 80.0 ms | 0.25 | 125.5 µs | 1 / 9 |",
		"|  | nginx | 1049 MB/s | 100.0 ms | 0.00 | n/a | n/a |",
		"WARNING: nginx no longer served every segments URL from cache",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "CPU-bound") {
		t.Errorf("a CPU-bound ratio without the baseline's load generator CPU:\n%s", out)
	}
	// With it: (400 + 174.5) / (300 + 125.5) = 1.35x.
	r.Workloads[0].Servers[1].Runs[0].WrkCPUUsPerReq = 174.5
	r.Workloads[0].summarize()
	b.Reset()
	r.writeMarkdown(&b)
	if want := "CPU-bound segments: with the server and wrk filling every CPU, edgeswarm / nginx would be 1.35x"; !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
	if strings.Contains(out, "NOTE: up to") {
		t.Errorf("a host with 0.25 other CPUs busy is flagged busy:\n%s", out)
	}
	// A busy host is said to be one.
	r.Workloads[0].Servers[1].Runs[0].OtherCPUs = 1.2
	r.Workloads[0].summarize()
	b.Reset()
	r.writeMarkdown(&b)
	if !strings.Contains(b.String(), "NOTE: up to 1.20 CPUs of the host were busy with other work") {
		t.Errorf("a busy host is not flagged:\n%s", b.String())
	}
}

func TestCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no command", nil, 2, "usage: go run ./bench <command>"},
		{"unknown command", []string{"nope"}, 2, `unknown command "nope"`},
		{"help", []string{"help"}, 0, ""},
		{"cache help", []string{"cache", "-h"}, 0, "-workload"},
		{"bad workload", []string{"cache", "--workload", "videos"}, 2, "--workload"},
		{"threads above connections", []string{"cache", "--connections", "2", "--threads", "4"}, 2, "--threads 4"},
		{"bad size", []string{"cache", "--cache-size", "lots"}, 2, "--cache-size"},
		{"stray argument", []string{"cache", "extra"}, 2, "unexpected arguments"},
		{"node env without a value", []string{"cache", "--node-env", "GOMAXPROCS"}, 2, `--node-env: "GOMAXPROCS": want KEY=VALUE`},
		{"compare env with a bad name", []string{"cache", "--compare-node-env", "1X=2"}, 2, `--compare-node-env: "1X=2": "1X" is not an environment variable name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, stderr.String())
			}
		})
	}
}

func TestFindToolsNamesMissingPackages(t *testing.T) {
	tests := []struct {
		name    string
		have    map[string]bool
		install bool
		want    string
	}{
		{"no nginx", map[string]bool{"wrk": true, "varnishd": true}, false, "install the Debian package(s) nginx-light (apt-get install nginx-light)"},
		{"no wrk", map[string]bool{"nginx": true, "varnishd": true}, false, "apt-get install wrk"},
		{"no varnish", map[string]bool{"nginx": true, "wrk": true}, false, "apt-get install varnish)"},
		{"none", nil, false, "apt-get install nginx-light varnish wrk), or rerun as root with --install"},
	}
	if os.Geteuid() != 0 {
		tests = append(tests, struct {
			name    string
			have    map[string]bool
			install bool
			want    string
		}{"install needs root", nil, true, "--install needs root"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			look := func(name string) string {
				if tt.have[name] {
					return "/bin/true"
				}
				return ""
			}
			var stderr bytes.Buffer
			_, err := findTools(t.Context(), look, tt.install, true, &stderr, slog.New(slog.NewTextHandler(&stderr, nil)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("varnish not asked for", func(t *testing.T) {
		look := func(name string) string {
			if name == "varnishd" {
				return ""
			}
			return "/bin/true"
		}
		var stderr bytes.Buffer
		tl, err := findTools(t.Context(), look, false, false, &stderr, slog.New(slog.NewTextHandler(&stderr, nil)))
		if err != nil {
			t.Fatalf("findTools with --varnish=false and no varnishd: %v", err)
		}
		if tl.varnishd != "" {
			t.Errorf("varnishd = %q, want none", tl.varnishd)
		}
	})
}

// A second node gets its own CPU-bound ratio against the baseline and its
// GOMAXPROCS beside the first's.
func TestMarkdownSecondNode(t *testing.T) {
	w := workloadReport{
		Name: "segments", Paths: []string{"/a/0.ts"}, ObjectBytes: 680000,
		Servers: []serverReport{
			{Name: serverNode, Runs: []runStats{{MBPerSec: 1000, P99Ms: 50, CPUUsPerReq: 180, WrkCPUUsPerReq: 140}}},
			{Name: serverNodeB, Runs: []runStats{{MBPerSec: 1500, P99Ms: 40, CPUUsPerReq: 140, WrkCPUUsPerReq: 132}}},
			{Name: serverVarnish, Runs: []runStats{{MBPerSec: 2000, P99Ms: 60, CPUUsPerReq: 190, WrkCPUUsPerReq: 130}}},
		},
	}
	w.summarize()
	if w.Baseline != serverVarnish {
		t.Fatalf("baseline %q: the second node must never be one", w.Baseline)
	}
	r := cacheReport{Settings: cacheSettings{Connections: 64, Threads: 2, Duration: "10s", Rounds: 1},
		Host: hostInfo{CPUs: 2, NodeGOMAXPROCS: 2, NodeBGOMAXPROCS: 1}, Workloads: []workloadReport{w}}
	var b bytes.Buffer
	r.writeMarkdown(&b)
	out := b.String()
	for _, want := range []string{
		"edgeswarm with GOMAXPROCS 2 (edgeswarm-b 1), nginx one worker per CPU",
		"edgeswarm / varnish would be 1.00x",                        // (190 + 130) / (180 + 140)
		"CPU-bound segments: edgeswarm-b / varnish would be 1.18x.", // 320 / 272
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
