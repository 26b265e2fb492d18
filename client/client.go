package client

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
)

//go:embed dist/edgeswarm.js dist/edgeswarm.mjs dist/edgeswarm.d.ts dist/vendor demo/index.html
var files embed.FS

// Asset is one file the node serves.
type Asset struct {
	// Body is the file's content. Callers must not modify it.
	Body []byte
	// ContentType is the value of the Content-Type header.
	ContentType string
	// ETag is a strong entity tag (quoted), derived from Body.
	ETag string
	// CacheControl is the value of the Cache-Control header: the script is
	// revalidated often so that a node upgrade reaches viewers quickly.
	CacheControl string
	// Gzip is Body gzip-compressed, for clients that accept it.
	Gzip []byte
}

// Paths of the assets, as the node should route them.
const (
	PathScript = "/edgeswarm.js"  // the IIFE bundle, global edgeswarm
	PathModule = "/edgeswarm.mjs" // the ES module
	PathTypes  = "/edgeswarm.d.ts"
	PathDemo   = "/" // the demo page: hls.js playing /live/master.m3u8
	PathHls    = "/vendor/hls.light.min.js"
)

var sources = map[string]string{
	PathScript:               "dist/edgeswarm.js",
	PathModule:               "dist/edgeswarm.mjs",
	PathTypes:                "dist/edgeswarm.d.ts",
	PathDemo:                 "demo/index.html",
	PathHls:                  "dist/vendor/hls.light.min.js",
	"/vendor/LICENSE.hls.js": "dist/vendor/LICENSE.hls.js",
}

// Assets returns every asset by URL path. Each call builds a new map; the
// bodies are shared and read-only.
func Assets() map[string]Asset {
	out := make(map[string]Asset, len(sources))
	for p, name := range sources {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			continue // not embedded in this build
		}
		sum := sha256.Sum256(b)
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		out[p] = Asset{
			Body:         b,
			ContentType:  contentType(name),
			ETag:         `"` + hex.EncodeToString(sum[:12]) + `"`,
			CacheControl: cacheControl(p),
			Gzip:         gz.Bytes(),
		}
	}
	return out
}

// Handler returns the asset at a URL path (query not included).
func Handler(p string) (body []byte, contentType, etag string, ok bool) {
	a, ok := Assets()[p]
	return a.Body, a.ContentType, a.ETag, ok
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".ts":
		return "application/typescript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

func cacheControl(p string) string {
	switch {
	case p == PathDemo:
		return "no-cache"
	case strings.HasPrefix(p, "/vendor/"):
		return "public, max-age=86400"
	}
	return "public, max-age=300"
}
