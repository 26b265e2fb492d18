package analytics

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strings"
)

//go:generate go run ./internal/dashgen

//go:embed dashboard/index.html dashboard/dist/app.js dashboard/dist/app.css
var dashFiles embed.FS

// DashboardPrefix is where the dashboard's script and style are served.
const DashboardPrefix = "/dashboard/"

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Dashboard returns the dashboard: its page at "/" and its script and
// style under DashboardPrefix, all embedded; nothing is loaded from
// elsewhere. The page asks for the admin token and reads the API.
func (a *Analytics) Dashboard() http.Handler {
	files := map[string]asset{}
	for path, f := range map[string]struct{ name, ct string }{
		"/":                         {"dashboard/index.html", "text/html; charset=utf-8"},
		DashboardPrefix + "app.js":  {"dashboard/dist/app.js", "text/javascript; charset=utf-8"},
		DashboardPrefix + "app.css": {"dashboard/dist/app.css", "text/css; charset=utf-8"},
	} {
		b, err := dashFiles.ReadFile(f.name)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		files[path] = asset{body: b, contentType: f.ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		// Only the node's own files and API: nothing from elsewhere.
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		if strings.Contains(r.Header.Get("If-None-Match"), f.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(f.body)
	})
}
