package client

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeswarm/edgeswarm/client/internal/bundle"
)

// TestDistFresh rebuilds the bundle from src/ and fails when the committed
// dist/ differs: run `go generate ./client` after changing the sources.
func TestDistFresh(t *testing.T) {
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := bundle.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range built {
		got, err := os.ReadFile(filepath.Join("dist", name))
		if err != nil {
			t.Fatalf("%s: %v (run go generate ./client)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("dist/%s is stale against src/: run go generate ./client", name)
		}
	}
}

func TestAssets(t *testing.T) {
	a := Assets()
	tests := []struct {
		path, ctype, contains string
	}{
		{PathScript, "text/javascript; charset=utf-8", "var edgeswarm="},
		{PathModule, "text/javascript; charset=utf-8", "export{"},
		{PathTypes, "application/typescript; charset=utf-8", "export declare function attachHls"},
		{PathDemo, "text/html; charset=utf-8", "/live/master.m3u8"},
		{PathHls, "text/javascript; charset=utf-8", "Hls"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := a[tt.path]
			if !ok {
				t.Fatalf("asset %s missing", tt.path)
			}
			if got.ContentType != tt.ctype {
				t.Errorf("content type %q, want %q", got.ContentType, tt.ctype)
			}
			if !strings.Contains(string(got.Body), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			if len(got.ETag) < 4 || got.ETag[0] != '"' || got.CacheControl == "" {
				t.Errorf("bad validators: etag %q cache-control %q", got.ETag, got.CacheControl)
			}
			body, ct, etag, ok := Handler(tt.path)
			if !ok || ct != got.ContentType || etag != got.ETag || !bytes.Equal(body, got.Body) {
				t.Errorf("Handler(%q) disagrees with Assets", tt.path)
			}
		})
	}
	if _, _, _, ok := Handler("/nope.js"); ok {
		t.Error("Handler served an unknown path")
	}
}

// TestETagsDiffer checks that the entity tags identify the content.
func TestETagsDiffer(t *testing.T) {
	seen := map[string]string{}
	for p, a := range Assets() {
		if q, dup := seen[a.ETag]; dup {
			t.Errorf("%s and %s share ETag %s", p, q, a.ETag)
		}
		seen[a.ETag] = p
	}
}
