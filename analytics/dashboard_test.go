package analytics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeswarm/edgeswarm/analytics/internal/dashbundle"
)

// The committed bundle is what the sources build to (go generate ./analytics).
func TestDashboardDistFresh(t *testing.T) {
	dir, err := filepath.Abs("dashboard")
	if err != nil {
		t.Fatal(err)
	}
	built, err := dashbundle.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range built {
		have, err := os.ReadFile(filepath.Join(dir, "dist", name))
		if err != nil || !bytes.Equal(have, b) {
			t.Errorf("dashboard/dist/%s is stale: run go generate ./analytics", name)
		}
	}
}

func TestDashboardServesOnlyItsOwnFiles(t *testing.T) {
	a, _, _ := newTest(t, DefaultConfig())
	srv := httptest.NewServer(a.Dashboard())
	t.Cleanup(srv.Close)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, page := get("/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, ref := range []string{`src="/dashboard/app.js"`, `href="/dashboard/app.css"`} {
		if !strings.Contains(page, ref) {
			t.Errorf("page does not reference %s", ref)
		}
	}
	if strings.Contains(page, "://") {
		t.Error("the page loads something from another origin")
	}
	resp, js := get("/dashboard/app.js")
	if resp.StatusCode != 200 || !strings.Contains(js, "edgeswarm.admin_token") || !strings.Contains(js, "uplot") {
		t.Errorf("app.js: %s, %d bytes", resp.Status, len(js))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if resp, _ := get("/dashboard/nothing.js"); resp.StatusCode != 404 {
		t.Errorf("unknown asset: %s", resp.Status)
	}
}
