package origin

import (
	"fmt"
	"regexp"
	"strings"
)

// Content keys.
//
// A content key is the identity of an object in the node's cache and in the
// swarm, so the browser client must compute exactly the same key for the same
// URL. The algorithm is deliberately small so that it can be implemented
// twice (here and in the client) and checked against shared golden vectors:
//
//  1. Path normalisation. Every byte of the path is looked at once:
//     a valid escape %XX whose byte is unreserved (A-Z a-z 0-9 - . _ ~) is
//     decoded; any other valid escape is kept with upper-case hex digits; a
//     '%' not followed by two hex digits becomes "%25"; a byte allowed in a
//     path (unreserved, sub-delims !$&'()*+,;=, ':', '@', '/') is kept; every
//     other byte (space, '"', '#', '?', '\', controls, non-ASCII, ...) is
//     escaped as %XX. The result is ASCII, stable under a second pass, and
//     equal for every spelling a browser or player may use for the same URL.
//     An empty path becomes "/". Dot segments are not resolved (browsers
//     resolve them before sending; the client rejects them before fetching).
//  2. Query. By default the query is dropped. For a playlist (the normalised
//     path ends in ".m3u8", ASCII case-insensitively) the LL-HLS delivery
//     directives _HLS_msn, _HLS_part and _HLS_skip are kept, in that order,
//     each as its first occurrence, normalised like the path but with '?'
//     and '/' also left as they are. With KeepQuery the whole query is kept
//     in its original order, normalised the same way. A kept query is
//     appended as "?" + query when it is not empty.
//  3. Host. With KeepHost the key starts with the host, ASCII-lower-cased and
//     normalised like the path: "cdn.example.com/live/1.ts".
//  4. Rewrites, in order, each replacing every non-overlapping match in the
//     key built so far (see Rewrite for the accepted syntax).

// Rewrite is one operator rule applied to content keys.
//
// Match is a regular expression in the subset understood identically by Go's
// RE2 and by JavaScript's RegExp (without flags): ASCII only; literals, '.',
// anchors ^ and $ (start and end of the key), groups (...) and (?:...),
// alternation, the quantifiers * + ? {n} {n,} {n,m} and their lazy forms,
// bracket classes [...] and [^...], the escapes \d \D \w \W \s \S \b \B and
// backslash-escaped punctuation. Not accepted: named groups, flags, look-
// arounds, back-references, POSIX classes, \p{..}, \Q..\E, \A, \z, and any
// pattern that can match the empty string (Go and JavaScript disagree on
// where empty matches may occur). Capture groups inside repeated groups
// should be avoided: the two engines report different captures for them.
//
// Replace is literal text in which ${N} inserts capture group N (0 is the
// whole match) and $$ inserts a '$'. No other use of '$' is accepted.
type Rewrite struct {
	// Match is the regular expression searched for in the key.
	Match string `yaml:"match" json:"match"`
	// Replace is what each match is replaced with.
	Replace string `yaml:"replace" json:"replace"`
}

// KeyConfig configures how content keys are computed. The zero value is the
// default: key = normalised path, query dropped (LL-HLS directives kept in
// playlist keys).
type KeyConfig struct {
	// KeepHost starts the key with the request's host, so that two hosts
	// serving the same paths do not share objects. Default false.
	KeepHost bool `yaml:"keep_host" json:"keep_host"`
	// KeepQuery keeps the whole query string in the key. Default false:
	// "1.ts?token=a" and "1.ts?token=b" are the same object.
	KeepQuery bool `yaml:"keep_query" json:"keep_query"`
	// Rewrites are applied in order to the key built from host, path and
	// query, for URLs that differ in ways the rules above do not cover
	// (session ids in the path, load-balancer prefixes, ...).
	Rewrites []Rewrite `yaml:"rewrites" json:"rewrites"`
}

// maxRewritePattern bounds the length of a rewrite expression.
const maxRewritePattern = 1024

// Validate checks the rewrite rules. Messages name the offending key, e.g.
// "key.rewrites[1].match: ...".
func (c KeyConfig) Validate() error {
	_, err := compileRewrites(c.Rewrites)
	return err
}

type rewriteRule struct {
	re      *regexp.Regexp
	replace string
}

func compileRewrites(rs []Rewrite) ([]rewriteRule, error) {
	out := make([]rewriteRule, 0, len(rs))
	for i, r := range rs {
		re, err := compilePortable(r.Match)
		if err != nil {
			return nil, fmt.Errorf("key.rewrites[%d].match: %w", i, err)
		}
		if err := checkReplacement(r.Replace, re.NumSubexp()); err != nil {
			return nil, fmt.Errorf("key.rewrites[%d].replace: %w", i, err)
		}
		out = append(out, rewriteRule{re: re, replace: r.Replace})
	}
	return out, nil
}

// Keyer computes content keys. It is safe for concurrent use.
type Keyer struct {
	keepHost  bool
	keepQuery bool
	rules     []rewriteRule
}

// NewKeyer validates c and returns a Keyer for it.
func NewKeyer(c KeyConfig) (*Keyer, error) {
	rules, err := compileRewrites(c.Rewrites)
	if err != nil {
		return nil, err
	}
	return &Keyer{keepHost: c.KeepHost, keepQuery: c.KeepQuery, rules: rules}, nil
}

// Key returns the content key of a request for host, path and rawQuery (the
// query without its '?'). path is the request path as sent, still
// percent-encoded. host is only used with KeepHost.
func (k *Keyer) Key(host, path, rawQuery string) string {
	if path == "" {
		path = "/"
	}
	// The query part that survives, before normalisation.
	var directives [3]string
	query := ""
	if rawQuery != "" {
		if k.keepQuery {
			query = rawQuery
		} else if isPlaylistPath(path) {
			directives = llhlsDirectives(rawQuery)
		}
	}
	hasDirectives := directives[0] != "" || directives[1] != "" || directives[2] != ""

	var key string
	if (!k.keepHost || host == "") && query == "" && !hasDirectives && isNormal(path, pathChars) {
		// The common case: a normalised path is its own key, no allocation.
		key = path
	} else {
		var b strings.Builder
		n := len(path) + len(query) + 1
		if k.keepHost {
			n += len(host)
		}
		for _, d := range directives {
			n += len(d) + 1
		}
		b.Grow(n)
		if k.keepHost {
			appendNormalized(&b, host, pathChars, true)
		}
		appendNormalized(&b, path, pathChars, false)
		if query != "" {
			b.WriteByte('?')
			appendNormalized(&b, query, queryChars, false)
		} else if hasDirectives {
			sep := byte('?')
			for _, d := range directives {
				if d != "" {
					b.WriteByte(sep)
					appendNormalized(&b, d, queryChars, false)
					sep = '&'
				}
			}
		}
		key = b.String()
	}
	for _, r := range k.rules {
		key = r.re.ReplaceAllString(key, r.replace)
	}
	return key
}

// isPlaylistPath reports whether a path names an HLS playlist. It looks at
// the raw path; an escaped suffix ("%2Em3u8") is rare enough to be decided by
// normalising first.
func isPlaylistPath(path string) bool {
	const ext = ".m3u8"
	if len(path) >= len(ext) && strings.EqualFold(path[len(path)-len(ext):], ext) {
		return true
	}
	if strings.IndexByte(path, '%') < 0 {
		return false
	}
	var b strings.Builder
	appendNormalized(&b, path, pathChars, false)
	p := b.String()
	return len(p) >= len(ext) && strings.EqualFold(p[len(p)-len(ext):], ext)
}

// llhlsNames are the LL-HLS delivery directives kept in playlist keys, in
// their canonical order.
var llhlsNames = [3]string{"_HLS_msn", "_HLS_part", "_HLS_skip"}

// llhlsDirectives returns, for each directive of llhlsNames, the raw
// parameter ("_HLS_msn=12") of its first occurrence in q, or "".
func llhlsDirectives(q string) [3]string {
	var out [3]string
	if !strings.Contains(q, "HLS") && strings.IndexByte(q, '%') < 0 {
		return out
	}
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		name, _, _ := strings.Cut(p, "=")
		if strings.IndexByte(name, '%') >= 0 {
			var b strings.Builder
			appendNormalized(&b, name, queryChars, false)
			name = b.String()
		}
		for i, n := range llhlsNames {
			if name == n && out[i] == "" {
				out[i] = p
			}
		}
	}
	return out
}

// Byte classes of the normalisation. They are read-only tables.
var (
	// pathChars: unreserved, sub-delims, ':', '@', '/'.
	pathChars = charTable("-._~!$&'()*+,;=:@/")
	// queryChars: pathChars plus '?'.
	queryChars = charTable("-._~!$&'()*+,;=:@/?")
)

func charTable(extra string) *[256]bool {
	var t [256]bool
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return &t
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const upperHex = "0123456789ABCDEF"

// isNormal reports whether s is unchanged by appendNormalized.
func isNormal(s string, allowed *[256]bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return false
			}
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 || isUnreserved(h<<4|l) ||
				'a' <= s[i+1] || 'a' <= s[i+2] { // lower-case hex digit
				return false
			}
			i += 2
			continue
		}
		if !allowed[c] {
			return false
		}
	}
	return true
}

// appendNormalized writes s to b normalised as described at the top of this
// file; lower also lower-cases ASCII letters (for hosts).
func appendNormalized(b *strings.Builder, s string, allowed *[256]bool, lower bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				d := h<<4 | l
				i += 2
				if isUnreserved(d) {
					if lower && 'A' <= d && d <= 'Z' {
						d += 'a' - 'A'
					}
					b.WriteByte(d)
				} else {
					b.WriteByte('%')
					b.WriteByte(upperHex[d>>4])
					b.WriteByte(upperHex[d&15])
				}
				continue
			}
		}
		if c != '%' && allowed[c] {
			if lower && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}
