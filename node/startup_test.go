package node

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// runMain runs the command as an operator would and returns its exit
// code and what it wrote. GOMEMLIMIT is set so that Main leaves the test
// process's memory limit alone.
func runMain(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "off"
		}
		return env[k]
	}
	code = Main(context.Background(), args, &out, &errb, getenv)
	return code, out.String(), errb.String()
}

// withoutLogs drops the log records (logfmt, "time=...") from stderr.
func withoutLogs(stderr string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if l != "" && !strings.HasPrefix(l, "time=") {
			b.WriteString(l)
		}
	}
	return b.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartupErrorsAreOneLine: every failure to start is one line on
// stderr naming what failed and the key or flag, with a non-zero exit,
// never a panic.
func TestStartupErrorsAreOneLine(t *testing.T) {
	busyTCP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyTCP.Close()
	busyUDP, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyUDP.Close()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	base := []string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--ice-udp", "127.0.0.1:0", "--stun-listen", "127.0.0.1:0", "--origin", o.URL + "/"}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	for _, tt := range []struct {
		name string
		args []string
		code int
		want []string // all in the one line
	}{
		{"busy public port", with("--listen", busyTCP.Addr().String()), 1, []string{"listen:", "address already in use"}},
		{"busy admin port", with("--admin", busyTCP.Addr().String()), 1, []string{"admin:", "address already in use"}},
		{"busy ICE port", with("--ice-udp", busyUDP.LocalAddr().String()), 1, []string{"seeder.ice_udp:", "address already in use"}},
		{"missing TLS certificate", with("--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"), 1, []string{"tls_cert, tls_key:", "no such file"}},
		{"TLS certificate without key", with("--tls-cert", "/nonexistent/cert.pem"), 2, []string{"tls_cert, tls_key: set both or neither"}},
		{"origin without a host", with("--origin", "http:///x/"), 2, []string{"origin:", "host is required"}},
		{"origin not http", with("--origin", "ftp://o/"), 2, []string{"origin:", "not an http(s) URL"}},
		{"bad size flag", with("--cache-size", "lots"), 2, []string{"-cache-size", "invalid size"}},
		{"bad duration flag", with("--stale-grace", "5x"), 2, []string{"-stale-grace", "not a duration"}},
		{"bad log level", with("--log-level", "loud"), 2, []string{"log_level:", "debug, info, warn or error"}},
		{"missing config file", with("--config", "/nonexistent/edgeswarm.yaml"), 2, []string{"config:", "no such file"}},
		{"stray argument", with("serve"), 2, []string{`unexpected argument "serve"`}},
		{"unknown flag", with("--cache", "1GiB"), 2, []string{"flag provided but not defined: -cache"}},
		{"demo-origin bad flag", []string{"demo-origin", "--segment-size", "big"}, 2, []string{"edgeswarm demo-origin:", "invalid size"}},
		{"demo-origin bad value", []string{"demo-origin", "--window", "1"}, 2, []string{"edgeswarm demo-origin:", "window:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			stderr = withoutLogs(stderr)
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "edgeswarm") {
				t.Fatalf("the error is not one line:\n%s", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
		})
	}
}

// TestConfigFileErrorsNameKeys: messages name the YAML key path the
// operator wrote, never an internal name.
func TestConfigFileErrorsNameKeys(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{"bad duration", "stale_grace: 5x\n", []string{"stale_grace: `5x` is not a duration", "(line 1)"}},
		{"bad nested duration", "upstream:\n  ttl:\n    segment: soon\n", []string{"upstream.ttl.segment: `soon` is not a duration", "(line 3)"}},
		{"bad size", "cache_size: 12 bananas\n", []string{"cache_size: invalid size", "(line 1)"}},
		{"bad nested size", "upstream:\n  max_body_size: huge\n", []string{"upstream.max_body_size: invalid size"}},
		{"unknown key", "upstream:\n  routs: []\n", []string{"upstream.routs: unknown key (line 2)"}},
		{"route url", "upstream:\n  routes:\n    - prefix: /tv/\n      url: ftp://o/\n", []string{"upstream.routes[0].url:", "scheme must be http or https"}},
		{"key rewrite", "upstream:\n  routes: [{prefix: /, url: 'http://o/'}]\n  key:\n    rewrites: [{match: '(', replace: x}]\n", []string{"upstream.key.rewrites[0].match:"}},
		{"negative stale grace", "stale_grace: -1s\n", []string{"stale_grace: must not be negative"}},
		{"zero upstream timeout", "upstream:\n  timeout: 0s\n", []string{"upstream.timeout: must be positive"}},
		{"signal", "signal:\n  max_peers: 0\n", []string{"signal.max_peers: must be positive"}},
		{"seeder size", "seeder:\n  peer_upload_bps: fast\n", []string{"seeder.peer_upload_bps: invalid size"}},
		{"demo size", "demo:\n  segment_size: 1GiB\n", []string{"demo.segment_size:"}},
		{"analytics", "analytics:\n  max_streams: 0\n", []string{"analytics.max_streams: must be 1..10000"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, nil, "--config", writeFile(t, "c.yaml", tt.yaml), "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0")
			if stderr = withoutLogs(stderr); code != 2 || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			for _, bad := range []string{"origin.routes", "origin.key", "origin.ttl", "origin.timeout", "cache.", "node.Config"} {
				if strings.Contains(stderr, bad) {
					t.Errorf("stderr %q names %q, which is no key", stderr, bad)
				}
			}
		})
	}
}

// TestOneSizeTypeEverywhere: every size key takes the same spellings.
func TestOneSizeTypeEverywhere(t *testing.T) {
	cfg, err := ParseConfig([]string{"--config", writeFile(t, "c.yaml", `
cache_size: 48MiB
upstream:
  max_body_size: 48MiB
demo:
  segment_size: 512KiB
seeder:
  node_upload_bps: 100MiB
  peer_upload_bps: 1.5MB
`)}, func(string) string { return "" }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CacheSize != 48<<20 || cfg.Upstream.MaxBodySize != 48<<20 || cfg.Demo.SegmentSize != 512<<10 ||
		cfg.Seeder.NodeUploadBps != 100<<20 || cfg.Seeder.PeerUploadBps != 1_500_000 {
		t.Fatalf("sizes: %+v %v %v %v %v", cfg.CacheSize, cfg.Upstream.MaxBodySize, cfg.Demo.SegmentSize, cfg.Seeder.NodeUploadBps, cfg.Seeder.PeerUploadBps)
	}
}

func TestHelpListsSubcommandsAndDefaults(t *testing.T) {
	code, stdout, _ := runMain(t, nil, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{
		"Subcommands:", "demo-origin",
		"--listen address", `default ":8080"`, "env EDGESWARM_LISTEN", "yaml listen",
		"--cache-size size", `default "1GiB"`,
		"--stale-grace duration", `default "1m0s"`,
		"--super-peer\n", `default "true"`,
		"--max-conns-per-ip n", `default "256"`,
		"--log-format format", `default "text"`, "--log-level level", `default "info"`, "EDGESWARM_LOG_LEVEL",
		"--version", "--config file", "admin_token",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("--help does not show %q:\n%s", w, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runMain(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "edgeswarm ") || !strings.Contains(stdout, runtime.Version()) || !strings.Contains(stdout, "commit ") {
		t.Fatalf("exit %d, %q", code, stdout)
	}
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	n := startNode(t, testConfig(o.URL), nil)
	_, body := httpGet(t, "http://"+n.AdminAddr()+"/metrics")
	b := readBuild()
	want := `edgeswarm_build_info{commit="` + b.commit + `",goversion="` + runtime.Version() + `",version="` + b.version + `"} 1`
	if !strings.Contains(string(body), want) {
		t.Fatalf("/metrics has no %s", want)
	}
}

func TestLogFormatAndLevel(t *testing.T) {
	cfg, err := ParseConfig(nil, func(k string) string {
		return map[string]string{"EDGESWARM_LOG_FORMAT": "json", "EDGESWARM_LOG_LEVEL": "warn"}[k]
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := newLogger(cfg, &buf)
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "shown" || rec["level"] != "WARN" {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	// The file sets them too; a flag wins over it.
	cfg, err = ParseConfig([]string{"--config", writeFile(t, "c.yaml", "log_format: json\nlog_level: debug\n"), "--log-format", "text"},
		func(string) string { return "" }, &bytes.Buffer{})
	if err != nil || cfg.LogFormat != "text" || cfg.LogLevel != "debug" {
		t.Fatalf("%q %q %v", cfg.LogFormat, cfg.LogLevel, err)
	}
}

func TestPprofOnlyWithAdminToken(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	get := func(admin, auth string) int {
		req, _ := http.NewRequest("GET", "http://"+admin+"/debug/pprof/goroutine?debug=1", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	n := startNode(t, testConfig(o.URL), nil)
	if c := get(n.AdminAddr(), ""); c != http.StatusNotFound {
		t.Fatalf("pprof without a configured token: %d, want 404", c)
	}
	cfg := testConfig(o.URL)
	cfg.AdminToken = "0123456789abcdef-token"
	n = startNode(t, cfg, nil)
	for _, tt := range []struct {
		auth string
		code int
	}{
		{"", 401}, {"Bearer wrong", 401}, {"Basic " + cfg.AdminToken, 401}, {"Bearer " + cfg.AdminToken + "x", 401},
		{"Bearer " + cfg.AdminToken, 200},
	} {
		if c := get(n.AdminAddr(), tt.auth); c != tt.code {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, c, tt.code)
		}
	}
}

// FuzzConfigFile: any file is decoded or refused with a message, and a
// message that names a line names the key on it when there is one.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"stale_grace: 5x\n", "upstream:\n  ttl:\n    segment: soon\n", "cache_size: [1]\n", "a: b\n",
		"upstream:\n  routes:\n    - {prefix: /, url: 'http://o/'}\n", "signal: {max_peers: x}\n", "- 1\n", "{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := DefaultConfig()
		err := c.decodeYAML(data, "f.yaml")
		if err == nil {
			return
		}
		if !strings.HasPrefix(err.Error(), "config f.yaml: ") {
			t.Fatalf("message %q does not name the file", err)
		}
	})
}
