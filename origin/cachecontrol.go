package origin

import (
	"strings"
	"time"
)

// directives are the response cache directives a shared cache acts on
// (RFC 9111 5.2.2, RFC 5861). Unknown directives are ignored.
type directives struct {
	noStore, noCache, private, public     bool
	mustRevalidate, proxyRevalidate       bool
	maxAge, sMaxAge, swr, sie             time.Duration
	hasMaxAge, hasSMaxAge, hasSWR, hasSIE bool
	present                               bool // at least one field line
	// noCacheFields and privateFields are the field names (lower case) of
	// a qualified no-cache="..." or private="...": the rest of the answer
	// may be stored, those fields not.
	noCacheFields, privateFields []string
}

// parseDirectives reads Cache-Control style field lines (several lines are
// one comma-separated list). Quoted arguments may contain commas
// (no-cache="Set-Cookie, X"). A qualified no-cache or private names the
// fields a shared cache must not reuse or store; one with an empty list is
// the unqualified one. A delta-seconds that does not
// parse counts as 0 (RFC 9111 1.2.2: treat the response as stale).
func parseDirectives(values []string) directives {
	var d directives
	for _, v := range values {
		d.present = true
		for item := range listItems(v) {
			name, arg, _ := strings.Cut(item, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			arg = strings.TrimSpace(arg)
			if len(arg) >= 2 && arg[0] == '"' && arg[len(arg)-1] == '"' {
				arg = arg[1 : len(arg)-1]
			}
			switch name {
			case "no-store":
				d.noStore = true
			case "no-cache":
				if fields := fieldNames(arg); fields != nil {
					d.noCacheFields = append(d.noCacheFields, fields...)
				} else {
					d.noCache = true
				}
			case "private":
				if fields := fieldNames(arg); fields != nil {
					d.privateFields = append(d.privateFields, fields...)
				} else {
					d.private = true
				}
			case "public":
				d.public = true
			case "must-revalidate":
				d.mustRevalidate = true
			case "proxy-revalidate":
				d.proxyRevalidate = true
			case "max-age":
				d.maxAge, d.hasMaxAge = deltaSeconds(arg), true
			case "s-maxage":
				d.sMaxAge, d.hasSMaxAge = deltaSeconds(arg), true
			case "stale-while-revalidate":
				d.swr, d.hasSWR = deltaSeconds(arg), true
			case "stale-if-error":
				d.sie, d.hasSIE = deltaSeconds(arg), true
			}
		}
	}
	return d
}

// fieldNames returns the lower-case field names of a qualified directive's
// argument, nil when it names none (then the directive is unqualified). A
// name that is not a field name makes the whole list nil: the stricter,
// unqualified reading.
func fieldNames(arg string) []string {
	var out []string
	for item := range listItems(arg) {
		n := strings.ToLower(item)
		if !validHeaderField(n, "") {
			return nil
		}
		if !containsFold(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// listItems yields the comma-separated items of a field value, honouring
// quoted strings (with backslash escapes). Empty items are skipped.
func listItems(v string) func(func(string) bool) {
	return func(yield func(string) bool) {
		start, quoted := 0, false
		for i := 0; i <= len(v); i++ {
			if i < len(v) {
				switch c := v[i]; {
				case quoted && c == '\\':
					i++
					continue
				case c == '"':
					quoted = !quoted
					continue
				case c != ',' || quoted:
					continue
				}
			}
			if item := strings.TrimSpace(v[start:min(i, len(v))]); item != "" && !yield(item) {
				return
			}
			start = i + 1
		}
	}
}

// explicit reports whether the directives give an explicit freshness
// lifetime for a shared cache.
func (d directives) explicit() bool { return d.hasSMaxAge || d.hasMaxAge }

// lifetime is the explicit freshness lifetime for a shared cache:
// s-maxage, else max-age.
func (d directives) lifetime() time.Duration {
	if d.hasSMaxAge {
		return d.sMaxAge
	}
	return d.maxAge
}

// parseVary returns the lower-case field names of Vary lines, and whether
// one of them is "*" (never matches). Accept-Encoding is left out: the
// node always asks the origin for identity and encodes for viewers itself.
func parseVary(values []string) (names []string, star bool) {
	for _, v := range values {
		for item := range listItems(v) {
			n := strings.ToLower(item)
			switch {
			case n == "*":
				star = true
			case n == "accept-encoding" || !validHeaderField(n, ""):
			case !containsFold(names, n):
				names = append(names, n)
			}
		}
	}
	return names, star
}

// parseHTTPDate parses an HTTP-date in any of the three formats RFC 9110
// 5.6.7 requires recipients to accept.
func parseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC1123, "Monday, 02-Jan-06 15:04:05 MST", time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
