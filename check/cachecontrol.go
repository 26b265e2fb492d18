package check

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// directives are the parsed directives of a Cache-Control-style header
// (Cache-Control, CDN-Cache-Control). Names are lower-cased; a directive
// without an argument has the value "". The first occurrence of a name wins.
type directives map[string]string

// maxDirectives bounds how many directives are read from one response.
const maxDirectives = 64

// parseDirectives reads the comma-separated directives of every value of a
// Cache-Control-style header: token or token=token or token="quoted".
// Malformed members are skipped (RFC 9111 §4.2.1 leaves them to the cache;
// ignoring them is what caches do), but reported in bad.
func parseDirectives(values []string) (d directives, bad []string) {
	d = directives{}
	for _, v := range values {
		for len(v) > 0 && len(d) < maxDirectives {
			var member string
			member, v = nextMember(v)
			member = strings.TrimSpace(member)
			if member == "" {
				continue
			}
			name, arg, hasArg := strings.Cut(member, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			arg = strings.TrimSpace(arg)
			if !isToken(name) {
				bad = append(bad, member)
				continue
			}
			if hasArg && len(arg) >= 2 && arg[0] == '"' && arg[len(arg)-1] == '"' {
				arg = unquote(arg[1 : len(arg)-1])
			} else if hasArg && !isToken(arg) {
				bad = append(bad, member)
				continue
			}
			if _, dup := d[name]; !dup {
				d[name] = arg
			}
		}
	}
	return d, bad
}

// nextMember returns the text up to the next comma outside a quoted string
// and the rest after it.
func nextMember(s string) (member, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func unquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// seconds reads a delta-seconds argument; ok is false when it is not one.
// Values beyond 2^31 are capped as RFC 9111 §1.2.2 says.
func (d directives) seconds(name string) (time.Duration, bool) {
	v, present := d[name]
	if !present || v == "" {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > 1<<31 {
		n = 1 << 31
	}
	return time.Duration(n) * time.Second, true
}

func (d directives) has(name string) bool { _, ok := d[name]; return ok }

// Cacheability is how a shared cache (RFC 9111) may store and reuse one
// response.
type Cacheability struct {
	// Stored: a shared cache may store the response at all.
	Stored bool `json:"stored"`
	// Shared: a stored response may be served to other viewers; false for
	// one with Set-Cookie, which caches in front of players do not share.
	Shared bool `json:"shared"`
	// Revalidate: every reuse must be revalidated with the origin first
	// (no-cache, or stored with no freshness at all).
	Revalidate bool `json:"revalidate"`
	// FreshSeconds is the freshness lifetime minus the origin's Age.
	FreshSeconds float64 `json:"fresh_seconds"`
	// Source names where the lifetime came from: "s-maxage", "max-age",
	// "Expires", "heuristic" (Last-Modified) or "none".
	Source string `json:"source"`
	// Header is the header the directives were read from: Cache-Control,
	// or CDN-Cache-Control (RFC 9213) when the origin sent one.
	Header string `json:"header,omitempty"`
	// Validator says whether the response can be revalidated cheaply
	// (ETag or Last-Modified).
	Validator bool `json:"validator"`
	// Vary lists the request headers the response varies on.
	Vary []string `json:"vary,omitempty"`
	// Summary says all of the above in one line.
	Summary string `json:"summary"`
	// Problems are the reasons the response is not stored or not shared,
	// or is shared in fragments (Vary), in words.
	Problems []string `json:"problems,omitempty"`
}

// cacheableByDefault are the statuses RFC 9110 §15.1 lets a cache store
// without explicit freshness.
var cacheableByDefault = map[int]bool{200: true, 203: true, 204: true, 206: true, 300: true, 301: true,
	308: true, 404: true, 405: true, 410: true, 414: true, 501: true}

// cacheability interprets the response's caching headers as a shared cache
// does. now is when the response was received.
func cacheability(status int, h http.Header, now time.Time) Cacheability {
	c := Cacheability{Header: "Cache-Control", Source: "none"}
	values := h.Values("Cache-Control")
	if cdn := h.Values("CDN-Cache-Control"); len(cdn) > 0 {
		values, c.Header = cdn, "CDN-Cache-Control"
	}
	d, bad := parseDirectives(values)
	for _, b := range bad {
		c.Problems = append(c.Problems, fmt.Sprintf("%s member %q is malformed and ignored", c.Header, b))
	}
	c.Validator = h.Get("ETag") != "" || h.Get("Last-Modified") != ""
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				c.Vary = append(c.Vary, http.CanonicalHeaderKey(f))
			}
		}
	}

	for _, v := range c.Vary {
		if v == "*" {
			c.Summary = "never reused (Vary: *)"
			c.Problems = append(c.Problems, "Vary: * : no stored copy may ever answer another request")
			return c
		}
	}
	switch {
	case d.has("no-store"):
		c.Summary = "not stored (" + c.Header + ": no-store)"
		c.Problems = append(c.Problems, "no-store: no shared cache may keep it; every request reaches the origin")
		return c
	case d.has("private") && d["private"] == "":
		c.Summary = "not stored by shared caches (" + c.Header + ": private)"
		c.Problems = append(c.Problems, "private: only the viewer's own browser may keep it")
		return c
	}

	lifetime, source := time.Duration(0), ""
	if v, ok := d.seconds("s-maxage"); ok {
		lifetime, source = v, "s-maxage"
	} else if v, ok := d.seconds("max-age"); ok {
		lifetime, source = v, "max-age"
	} else if exp := h.Get("Expires"); exp != "" {
		source = "Expires"
		if t, err := http.ParseTime(exp); err == nil {
			date := now
			if dt, err := http.ParseTime(h.Get("Date")); err == nil {
				date = dt
			}
			lifetime = max(0, t.Sub(date))
		} // an invalid Expires means already expired (RFC 9111 §5.3)
	} else if lm, err := http.ParseTime(h.Get("Last-Modified")); err == nil && cacheableByDefault[status] {
		date := now
		if dt, err := http.ParseTime(h.Get("Date")); err == nil {
			date = dt
		}
		lifetime, source = max(0, date.Sub(lm)/10), "heuristic"
	}
	explicit := source != "" && source != "heuristic"
	if !cacheableByDefault[status] && !explicit && !d.has("public") {
		c.Summary = fmt.Sprintf("not stored (status %d needs explicit freshness)", status)
		c.Problems = append(c.Problems, fmt.Sprintf("status %d is stored only with max-age, s-maxage or Expires", status))
		return c
	}
	c.Stored = true
	c.Shared = h.Get("Set-Cookie") == ""
	if source != "" {
		c.Source = source
	}
	if age, ok := (directives{"age": strings.TrimSpace(h.Get("Age"))}).seconds("age"); ok {
		lifetime = max(0, lifetime-age)
	}
	c.FreshSeconds = lifetime.Seconds()

	var parts []string
	switch {
	case d.has("no-cache") && d["no-cache"] == "":
		c.Revalidate = true
		parts = append(parts, "stored, revalidated before every reuse (no-cache)")
	case lifetime == 0:
		c.Revalidate = true
		if source == "" || source == "none" {
			parts = append(parts, "stored, no freshness information: revalidated before every reuse")
		} else {
			parts = append(parts, fmt.Sprintf("stored, already stale (%s): revalidated before every reuse", source))
		}
	default:
		parts = append(parts, fmt.Sprintf("stored, fresh for %s (%s)", formatSeconds(lifetime), source))
	}
	if c.Revalidate && !c.Validator {
		parts = append(parts, "no ETag or Last-Modified, so each revalidation refetches the whole object")
	}
	if d.has("must-revalidate") || d.has("proxy-revalidate") {
		parts = append(parts, "never served stale")
	}
	if !c.Shared {
		parts = append(parts, "not shared between viewers (Set-Cookie)")
		c.Problems = append(c.Problems, "Set-Cookie: a shared cache does not hand one viewer's cookie to another")
	}
	for _, v := range c.Vary {
		switch v {
		case "Accept-Encoding", "Origin":
			// A handful of variants, each shared.
		default:
			c.Problems = append(c.Problems, fmt.Sprintf("Vary: %s splits the cache into one copy per distinct %s value", v, v))
		}
	}
	if len(c.Vary) > 0 {
		parts = append(parts, "Vary: "+strings.Join(c.Vary, ", "))
	}
	c.Summary = strings.Join(parts, "; ")
	return c
}

func formatSeconds(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 86400 && int64(s)%86400 == 0:
		return fmt.Sprintf("%dd", int64(s)/86400)
	case s >= 3600 && int64(s)%3600 == 0:
		return fmt.Sprintf("%dh", int64(s)/3600)
	}
	return strconv.FormatFloat(s, 'f', -1, 64) + "s"
}
