package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestVarnishVCL(t *testing.T) {
	vcl, err := varnishConfig{Origin: "127.0.0.1:8081"}.render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"vcl 4.1;",
		`.host = "127.0.0.1";`,
		`.port = "8081";`,
		`if (req.url == "` + varnishReadyPath + `")`,
		"return (synth(204));",
		`hash_data(regsub(req.url, "\?.*$", ""));`,
		"set beresp.ttl = 1d;",
		"set beresp.grace = 1h;",
		`set resp.http.X-Cache-Status = "HIT";`,
	} {
		if !strings.Contains(vcl, want) {
			t.Errorf("VCL lacks %q:\n%s", want, vcl)
		}
	}
	if strings.Contains(vcl, "req.http.host") {
		t.Errorf("VCL hashes on Host, the node's and nginx's keys do not:\n%s", vcl)
	}
}

func TestVarnishArgs(t *testing.T) {
	c := varnishConfig{Dir: "/tmp/b/varnish", VCLPath: "/tmp/b/bench.vcl", Listen: "127.0.0.1:6081", Origin: "127.0.0.1:8081", StorageSize: 4 << 30}
	args, err := c.args()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(args, " ")
	want := "-F -n /tmp/b/varnish -T none -j none -a 127.0.0.1:6081 -f /tmp/b/bench.vcl -s malloc,4294967296"
	if got != want {
		t.Errorf("varnishd %s\nwant     %s", got, want)
	}
}

func TestVarnishConfigRejects(t *testing.T) {
	good := varnishConfig{Dir: "/d", VCLPath: "/d/b.vcl", Listen: "127.0.0.1:1", Origin: "127.0.0.1:2", StorageSize: 1}
	tests := map[string]func(*varnishConfig){
		"no listen":       func(c *varnishConfig) { c.Listen = "" },
		"name as listen":  func(c *varnishConfig) { c.Listen = "localhost:1" },
		"injected origin": func(c *varnishConfig) { c.Origin = `127.0.0.1:2"; }` },
		"port not a port": func(c *varnishConfig) { c.Origin = "127.0.0.1:99999" },
		"no working dir":  func(c *varnishConfig) { c.Dir = "" },
		"no storage":      func(c *varnishConfig) { c.StorageSize = 0 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			_, rerr := c.render()
			_, aerr := c.args()
			if rerr == nil && aerr == nil {
				t.Errorf("%+v accepted", c)
			}
		})
	}
	if _, err := good.render(); err != nil {
		t.Errorf("good config: %v", err)
	}
	if _, err := good.args(); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestParseVarnishVersion(t *testing.T) {
	tests := []struct{ out, want string }{
		{"varnishd (varnish-7.1.1 revision 7cee1c581bead20e88d101ab3d72afb29f14d87a)\nCopyright (c) 2006 Verdens Gang AS\n", "varnish-7.1.1"},
		{"varnishd (varnish-trunk revision 0123abc)", "varnish-trunk"},
		{"varnishd (varnish-6.0.11)", "varnish-6.0.11"},
		{"  something else\n", "something else"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := parseVarnishVersion(tt.out); got != tt.want {
			t.Errorf("parseVarnishVersion(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}

func TestVarnishError(t *testing.T) {
	out := `Debug: Version: varnish-7.1.1 revision 7cee1c5
Debug: Platform: Linux,6.1,x86_64,-jnone,-smalloc,-sdefault,-hcritbit
Error: Message from VCC-compiler:
Expected ';' got '}'
(input Line 12 Pos 5)
    }
----#

Running VCC-compiler failed, exited with 2
VCL compilation failed
`
	got := varnishError(out)
	for _, want := range []string{"Error: Message from VCC-compiler:", "Expected ';' got '}'", "VCL compilation failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("varnishError lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Debug:") {
		t.Errorf("varnishError keeps debug lines:\n%s", got)
	}
	if got := varnishError("Debug: Child (1) Started\nChild launched OK\n"); got != "" {
		t.Errorf("varnishError of a healthy start = %q, want empty", got)
	}
	bind := "Error: Could not get socket 127.0.0.1:6081: Address already in use\n(-? gives usage)\n"
	if got := varnishError(bind); !strings.Contains(got, "Address already in use") {
		t.Errorf("varnishError(%q) = %q", bind, got)
	}
}

// TestVarnishAcceptsVCL has varnishd compile the generated VCL where varnish
// is installed.
func TestVarnishAcceptsVCL(t *testing.T) {
	bin := lookPath("varnishd")
	if bin == "" {
		t.Skip("varnish is not installed")
	}
	dir := t.TempDir()
	vcl, err := varnishConfig{Origin: freeTestAddr(t)}.render()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bench.vcl")
	if err := os.WriteFile(path, []byte(vcl), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, "-C", "-j", "none", "-n", filepath.Join(dir, "n"), "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("varnishd -C rejected the VCL: %v\n%s\n%s", err, out, vcl)
	}
}

// TestVarnishServesFromCache runs varnishd the way the benchmark does, in
// front of a scripted origin on loopback, and checks what the bench relies
// on: the ready path answers without reaching the origin, the second GET of
// a URL is a hit by cacheStatusHit with the origin's bytes, the query
// string does not make a new object, and stop ends varnishd.
func TestVarnishServesFromCache(t *testing.T) {
	bin := lookPath("varnishd")
	if bin == "" {
		t.Skip("varnish is not installed")
	}
	var fetches atomic.Int64
	body := strings.Repeat("segment ", 4096)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Cache-Control", "no-store") // the VCL keeps VOD objects whatever the origin says
		io.WriteString(w, body)
	}))
	t.Cleanup(origin.Close)

	dir := t.TempDir()
	c := varnishConfig{Dir: filepath.Join(dir, "varnish"), VCLPath: filepath.Join(dir, "bench.vcl"),
		Listen: freeTestAddr(t), Origin: strings.TrimPrefix(origin.URL, "http://"), StorageSize: 64 << 20}
	vcl, err := c.render()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.VCLPath, []byte(vcl), 0o600); err != nil {
		t.Fatal(err)
	}
	args, err := c.args()
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProc(dir, serverVarnish, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	t.Cleanup(client.CloseIdleConnections)
	base := "http://" + c.Listen
	if err := p.waitReady(t.Context(), client, base+varnishReadyPath, http.StatusNoContent, 60*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, varnishError(p.logTail()))
	}
	if n := fetches.Load(); n != 0 {
		t.Fatalf("the ready path reached the origin %d times", n)
	}
	get := func(path string) (bool, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || string(b) != body {
			t.Fatalf("GET %s: %s, %d bytes, want 200 with the origin's %d", path, resp.Status, len(b), len(body))
		}
		hit, _ := cacheStatusHit(resp.Header)
		return hit, resp.Header.Get("X-Cache-Status")
	}
	if hit, h := get("/vod/low/0.ts"); hit {
		t.Errorf("first GET is a hit (%s)", h)
	}
	if hit, h := get("/vod/low/0.ts"); !hit {
		t.Errorf("second GET is not a hit (%s)", h)
	}
	if hit, h := get("/vod/low/0.ts?token=abc"); !hit {
		t.Errorf("GET with a query is not a hit (%s): the key should be the path", h)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("origin fetched %d times, want 1", n)
	}
	p.stop()
	select {
	case <-p.done:
	default:
		t.Error("varnishd still running after stop")
	}
}
