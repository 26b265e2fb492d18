package node

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeswarm/edgeswarm/origin/demo"
)

// TestCheckCommand runs `edgeswarm check` against the demo origin on
// loopback: text and JSON agree on the verdict, and the exit status says it.
func TestCheckCommand(t *testing.T) {
	cfg := demo.DefaultConfig()
	cfg.Synthetic = true
	d, err := demo.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	// ProxyFromEnvironment never proxies loopback addresses.
	master := srv.URL + "/vod/master.m3u8"

	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"check", "--page-origin", "https://www.example.com", master}, &stdout, &stderr, func(string) string { return "" })
	text := stdout.String()
	if code == 2 || !strings.Contains(text, "verdict: ") || !strings.Contains(text, "rendition 1: ") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, text, stderr.String())
	}

	stdout.Reset()
	code2 := Main(context.Background(), []string{"check", "--json", master}, &stdout, &stderr, func(string) string { return "" })
	var rep struct {
		URL        string `json:"url"`
		Verdict    string `json:"verdict"`
		Renditions []struct {
			Segments int `json:"segments"`
		} `json:"renditions"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("--json printed no JSON: %v\n%s", err, stdout.String())
	}
	if u, _ := url.Parse(rep.URL); u == nil || u.Path != "/vod/master.m3u8" || len(rep.Renditions) == 0 || rep.Renditions[0].Segments == 0 {
		t.Errorf("JSON report %+v", rep)
	}
	if (rep.Verdict == "ok") != (code2 == 0) {
		t.Errorf("verdict %s with exit status %d", rep.Verdict, code2)
	}

	for _, args := range [][]string{{"check"}, {"check", "--page-origin", "www.example.com", master}, {"check", "ftp://x/y"}} {
		if code := Main(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestCheckCommandJudgesByTheNodeConfig: with --config the check judges
// an origin's answers by that node's upstream.ttl, as the node would.
func TestCheckCommandJudgesByTheNodeConfig(t *testing.T) {
	cfg := demo.DefaultConfig()
	cfg.Synthetic = true
	cfg.CacheControl = "public" // no freshness information: upstream.ttl.segment decides
	d, err := demo.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	master := srv.URL + "/vod/master.m3u8"
	dir := t.TempDir()
	good := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(good, []byte("upstream:\n  ttl:\n    segment: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("upstream:\n  ttl:\n    segmnt: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	segment := func(args ...string) (fresh float64, source string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), append(append([]string{"check", "--json"}, args...), master), &stdout, &stderr, func(string) string { return "" }); code == 2 {
			t.Fatalf("%q: exit 2: %s", args, stderr.String())
		}
		var rep struct {
			Renditions []struct {
				Samples []struct {
					Cache struct {
						FreshSeconds float64 `json:"fresh_seconds"`
						Source       string  `json:"source"`
					} `json:"cache"`
				} `json:"samples"`
			} `json:"renditions"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Renditions) == 0 || len(rep.Renditions[0].Samples) == 0 {
			t.Fatalf("%q: no segment sample in %s (%v)", args, stdout.String(), err)
		}
		c := rep.Renditions[0].Samples[0].Cache
		return c.FreshSeconds, c.Source
	}
	if fresh, source := segment(); fresh != 0 || source != "none" {
		t.Errorf("defaults: segment fresh %vs from %s, want 0 from none", fresh, source)
	}
	if fresh, source := segment("--config", good); fresh != 3600 || source != "upstream.ttl.segment" {
		t.Errorf("upstream.ttl.segment 1h: segment fresh %vs from %s, want 3600 from upstream.ttl.segment", fresh, source)
	}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"check", "--config", bad, master}, &stdout, &stderr, func(string) string { return "" }); code != 2 || !strings.Contains(stderr.String(), "segmnt") {
		t.Errorf("a config with an unknown key: exit %d, stderr %q; want 2 naming the key", code, stderr.String())
	}
}

// TestCheckCommandDASH checks the demo's DASH streams: one report per
// Representation, with its segments sampled.
func TestCheckCommandDASH(t *testing.T) {
	d, err := demo.New(demo.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	for _, p := range []string{"/dash/vod.mpd", "/dash/live.mpd"} {
		var stdout, stderr bytes.Buffer
		Main(context.Background(), []string{"check", "--json", srv.URL + p}, &stdout, &stderr, func(string) string { return "" })
		var rep struct {
			Verdict    string `json:"verdict"`
			Renditions []struct {
				Representation string            `json:"representation"`
				Kind           string            `json:"kind"`
				Segments       int               `json:"segments"`
				Samples        []json.RawMessage `json:"samples"`
			} `json:"renditions"`
			Reasons []string `json:"reasons"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("%s: --json printed no JSON: %v\n%s%s", p, err, stdout.String(), stderr.String())
		}
		if len(rep.Renditions) != 3 || rep.Verdict == "p2p-will-not-work" {
			t.Fatalf("%s: %+v", p, rep)
		}
		for _, r := range rep.Renditions {
			want := "vod"
			if strings.Contains(p, "live") {
				want = "live"
			}
			if r.Representation == "" || r.Kind != want || r.Segments == 0 || len(r.Samples) < 2 {
				t.Errorf("%s: representation %+v", p, r)
			}
		}
	}
}
