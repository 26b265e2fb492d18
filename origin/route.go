package origin

import (
	"sort"
	"strings"

	"github.com/valyala/fasthttp"
)

// route is one configured route, ready to use.
type route struct {
	prefix string
	base   base
	addr   string // host:port dialled
	hc     *fasthttp.HostClient
	// override and dropQuery are the route's ttl.override and
	// cache_key.drop_query.
	override  bool
	dropQuery []string
}

// routeTable holds the routes, longest prefix first.
type routeTable []*route

func (t routeTable) sort() {
	sort.SliceStable(t, func(i, j int) bool { return len(t[i].prefix) > len(t[j].prefix) })
}

// match returns the route serving path and the remainder of the path after
// the prefix. It refuses paths whose remainder could leave the route's base
// path once an origin decodes it.
func (t routeTable) match(path string) (*route, string, bool) {
	for _, r := range t {
		if strings.HasPrefix(path, r.prefix) {
			rem := path[len(r.prefix):]
			if !safeRemainder(rem) {
				return nil, "", false
			}
			return r, rem, true
		}
	}
	return nil, "", false
}

// safeRemainder reports whether rem (a raw, percent-encoded path below a
// route prefix) stays below the route's base path however many times the
// origin (or something in front of it) percent-decodes it: no '.' or '..'
// segment, no slash or backslash and no NUL inside a segment, at any
// decoding depth; no empty segment, no literal '\', '?' or '#'.
func safeRemainder(rem string) bool {
	if strings.IndexByte(rem, '%') < 0 {
		return plainSafe(rem)
	}
	return safeEscaped(rem)
}

// safeEscaped is safeRemainder's general case: every segment is checked at
// each level of percent-decoding.
func safeEscaped(rem string) bool {
	if strings.ContainsAny(rem, "\\?#\x00") || strings.Contains(rem, "//") || strings.HasPrefix(rem, "/") {
		return false
	}
	for seg := range strings.SplitSeq(rem, "/") {
		if !safeSegment(seg) {
			return false
		}
	}
	return true
}

// maxDecodeDepth is how many layers of percent-encoding a segment may have.
const maxDecodeDepth = 4

// plainSafe is safeRemainder for a path without escapes, in one pass: it
// runs on every request.
func plainSafe(rem string) bool {
	start := 0
	for i := 0; i <= len(rem); i++ {
		if i == len(rem) || rem[i] == '/' {
			seg := rem[start:i]
			if seg == "." || seg == ".." || (seg == "" && i < len(rem)) {
				return false // dot segment, leading slash or "//"
			}
			start = i + 1
			continue
		}
		switch rem[i] {
		case '\\', '?', '#', 0:
			return false
		}
	}
	return true
}

func safeSegment(seg string) bool {
	for range maxDecodeDepth {
		if seg == "." || seg == ".." || strings.ContainsAny(seg, "/\\\x00") {
			return false
		}
		next, changed := unescapeOnce(seg)
		if !changed {
			return true
		}
		seg = next
	}
	return false
}

// unescapeOnce decodes the valid %XX escapes of s; malformed ones stay.
func unescapeOnce(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, false
	}
	var b strings.Builder
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				c = h<<4 | l
				i += 2
				changed = true
			}
		}
		b.WriteByte(c)
	}
	return b.String(), changed
}

// appendEscaped writes s for use in a request line: valid escapes and bytes
// allowed by allowed are kept as they are, everything else (space, controls,
// non-ASCII, a stray '%') is percent-encoded, so a request line can never be
// split or smuggled whatever the node passes in.
func appendEscaped(b []byte, s string, allowed *[256]bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			if _, ok := unhex(s[i+1]); ok {
				if _, ok := unhex(s[i+2]); ok {
					b = append(b, s[i:i+3]...)
					i += 2
					continue
				}
			}
		}
		if c != '%' && allowed[c] {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return b
}

// publicPath maps an origin URL (as found in a playlist or a Location header)
// back to the public path it is served under. scheme may be empty (a
// network-path reference, "//host/path"). It is the URLMapper of the client.
func (t routeTable) publicPath(scheme, host, path string) (string, bool) {
	host = strings.ToLower(host)
	if path == "" {
		path = "/"
	}
	var best *route
	for _, r := range t {
		if scheme != "" && scheme != r.base.scheme {
			continue
		}
		if !sameHost(host, r.base.host, r.base.scheme) {
			continue
		}
		if !strings.HasPrefix(path, r.base.path) {
			continue
		}
		if best == nil || len(r.base.path) > len(best.base.path) {
			best = r
		}
	}
	if best == nil {
		return "", false
	}
	rem := path[len(best.base.path):]
	if rem != "" && !safeRemainder(rem) {
		return "", false
	}
	return best.prefix + rem, true
}

// sameHost compares hosts, treating a missing port as the scheme's default.
func sameHost(a, b, scheme string) bool {
	if a == b {
		return true
	}
	isTLS := scheme == "https"
	return fasthttp.AddMissingPort(a, isTLS) == fasthttp.AddMissingPort(b, isTLS)
}
