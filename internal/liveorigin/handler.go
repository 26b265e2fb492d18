package liveorigin

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
)

// Headers is the cache-header policy of the static file server.
type Headers string

// The cache-header policies real packagers and static servers use.
const (
	// HeadersNoCache sends "Cache-Control: no-cache" on playlists and
	// segments: a shared cache must revalidate every response.
	HeadersNoCache Headers = "no-cache"
	// HeadersMaxAge sends "max-age=1" on playlists and a day on segments,
	// which do not change once written.
	HeadersMaxAge Headers = "max-age"
	// HeadersNone sends no Cache-Control, leaving freshness to heuristics.
	HeadersNone Headers = "none"
)

// AllHeaders lists the policies, for flag help.
var AllHeaders = []Headers{HeadersNoCache, HeadersMaxAge, HeadersNone}

// Cache-Control values of HeadersMaxAge.
const (
	PlaylistMaxAge = "max-age=1"
	SegmentMaxAge  = "max-age=86400"
)

// ParseHeaders reads a policy name.
func ParseHeaders(s string) (Headers, error) {
	for _, h := range AllHeaders {
		if string(h) == s {
			return h, nil
		}
	}
	return "", fmt.Errorf("cache headers %q: want no-cache, max-age or none", s)
}

// cacheControl is the header value for a file, "" for none.
func (h Headers) cacheControl(playlist bool) string {
	switch h {
	case HeadersNoCache:
		return "no-cache"
	case HeadersMaxAge:
		if playlist {
			return PlaylistMaxAge
		}
		return SegmentMaxAge
	}
	return ""
}

// Handler serves the origin's files as a static file server: GET and HEAD
// of complete playlists and segments only (never a file ffmpeg is still
// writing, never a directory listing), with Content-Type, Last-Modified, an
// ETag, ranges and conditional requests, CORS for any origin, and
// Cache-Control as policy h says.
func (o *Origin) Handler(h Headers) http.Handler {
	return &fileServer{dir: o.dir, headers: h}
}

type fileServer struct {
	dir     string
	headers Headers
}

var _ http.Handler = (*fileServer)(nil)

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := path.Clean("/" + r.URL.Path)
	var ctype string
	playlist := false
	switch {
	case strings.HasSuffix(name, ".m3u8"):
		ctype, playlist = "application/vnd.apple.mpegurl", true
	case strings.HasSuffix(name, ".ts"):
		ctype = "video/mp2t"
	default:
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		http.Error(w, "origin directory gone", http.StatusServiceUnavailable)
		return
	}
	defer root.Close()
	f, err := root.Open(strings.TrimPrefix(name, "/"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "cannot open "+name, http.StatusForbidden)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Access-Control-Allow-Origin", "*")
	// nginx's form: modification time and size in hex.
	hd.Set("ETag", `"`+strconv.FormatInt(st.ModTime().Unix(), 16)+"-"+strconv.FormatInt(st.Size(), 16)+`"`)
	if cc := s.headers.cacheControl(playlist); cc != "" {
		hd.Set("Cache-Control", cc)
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}
