package check

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/origin"
)

// Cacheability is how the node stores and reuses one response: its own
// decision (origin.Cacheability), in the checker's words.
type Cacheability struct {
	// Stored: the node stores the response (it passes through otherwise,
	// and every request for it that peers do not serve reaches the origin).
	Stored bool `json:"stored"`
	// Shared: a stored response is served to other viewers. The node
	// stores nothing it may not share (Set-Cookie and private answers are
	// not stored), so this is Stored.
	Shared bool `json:"shared"`
	// Revalidate: every reuse must be revalidated with the origin first
	// (no-cache, or stored with no freshness left).
	Revalidate bool `json:"revalidate"`
	// FreshSeconds is the freshness lifetime minus the origin's Age.
	FreshSeconds float64 `json:"fresh_seconds"`
	// Source names where the lifetime came from: "s-maxage", "max-age",
	// "Expires", "heuristic" (Last-Modified), "upstream.ttl.negative",
	// "upstream.ttl.segment" when that is set, a media rule that lowered
	// the origin's freshness ("upstream.ttl.master_playlist",
	// "upstream.ttl.vod_playlist", "target_duration/2", "part_target/2",
	// "upstream.ttl.max_live_playlist") or "none".
	Source string `json:"source"`
	// Header is the header the directives were read from: the node's
	// targeted header (Edgeswarm-Cache-Control), CDN-Cache-Control
	// (RFC 9213), Cache-Control, or Pragma (no-cache, HTTP/1.0).
	Header string `json:"header,omitempty"`
	// Validator says whether the response can be revalidated cheaply
	// (ETag or Last-Modified).
	Validator bool `json:"validator"`
	// Vary lists the request headers the stored response varies on
	// (Accept-Encoding is left out: the node asks for identity).
	Vary []string `json:"vary,omitempty"`
	// Summary says all of the above in one line.
	Summary string `json:"summary"`
	// Problems are the reasons the response is not stored, or is stored
	// in fragments (Vary), and directives the node could not read, in
	// words.
	Problems []string `json:"problems,omitempty"`

	// setCookie: not stored for its Set-Cookie alone, which is told apart
	// from the other reasons (segment-not-shared).
	setCookie bool
}

// cacheability says how the node, with the freshness rules ttl, treats a
// response received at now; info is the node's parse of a playlist, nil
// for a segment.
func cacheability(ttl origin.TTLConfig, status int, h http.Header, info *origin.PlaylistInfo, now time.Time) Cacheability {
	return describe(origin.Cacheability(ttl, status, h, info, now), status, h)
}

// describe turns the node's decision about a response with headers h into
// the report's terms.
func describe(d origin.Decision, status int, h http.Header) Cacheability {
	c := Cacheability{Header: d.Field, Source: "none"}
	c.Validator = h.Get("ETag") != "" || h.Get("Last-Modified") != ""
	for _, v := range d.Vary {
		c.Vary = append(c.Vary, http.CanonicalHeaderKey(v))
	}
	for _, m := range d.Invalid {
		c.Problems = append(c.Problems, fmt.Sprintf("%s member %q is not a number of seconds: the node takes it as 0", c.Header, m))
	}

	if !d.Store {
		var problem string
		switch d.NotStored {
		case "Vary: *":
			c.Summary = "not stored (Vary: *)"
			problem = "Vary: * : no stored copy may ever answer another request; every request reaches the origin"
		case "no-store":
			c.Summary = "not stored (" + c.Header + ": no-store)"
			problem = "no-store: no shared cache may keep it; every request reaches the origin"
		case "private":
			c.Summary = "not stored by shared caches (" + c.Header + ": private)"
			problem = "private: only the viewer's own browser may keep it (the node takes private=\"field\" as private too)"
		case "Set-Cookie":
			c.setCookie = true
			c.Summary = "not stored, not shared between viewers (Set-Cookie)"
			problem = "Set-Cookie: the node does not hand one viewer's cookie to another, so it does not store the response"
		case "status":
			c.Summary = fmt.Sprintf("not stored (status %d needs explicit freshness)", status)
			problem = fmt.Sprintf("status %d is stored only with max-age, s-maxage or Expires", status)
		case "206":
			c.Summary = "not stored (206: the node stores whole objects only)"
			problem = "206 Partial Content: the node stores whole objects only"
		default:
			c.Summary = "not stored (" + d.NotStored + ")"
			problem = d.NotStored + ": not stored by the node"
		}
		c.Problems = append(c.Problems, problem)
		return c
	}
	c.Stored, c.Shared = true, true
	fresh := d.Fresh()
	c.FreshSeconds = fresh.Seconds()
	source := d.Source
	if d.Rule != "" {
		source = d.Rule
	}
	if source == "" || source == "upstream.ttl.segment" && d.TTL == 0 {
		source = "none" // nothing to go on (and the node's default 0)
	}
	c.Source = source

	var parts []string
	switch {
	case d.NoCache:
		c.Revalidate = true
		parts = append(parts, "stored, revalidated before every reuse ("+directive(d.Field)+"no-cache)")
	case fresh == 0:
		c.Revalidate = true
		if source == "none" {
			parts = append(parts, "stored, no freshness information: revalidated before every reuse")
		} else {
			parts = append(parts, fmt.Sprintf("stored, already stale (%s): revalidated before every reuse", source))
		}
	case d.Rule != "":
		parts = append(parts, fmt.Sprintf("stored, fresh for %s (%s, the node's bound on the origin's %s)", formatSeconds(fresh), d.Rule, d.Source))
	default:
		parts = append(parts, fmt.Sprintf("stored, fresh for %s (%s)", formatSeconds(fresh), source))
	}
	if c.Revalidate && !c.Validator {
		parts = append(parts, "no ETag or Last-Modified, so each revalidation refetches the whole object")
	}
	switch {
	case d.NoStale && !d.NoCache:
		parts = append(parts, "never served stale")
	case !d.NoStale && d.StaleWhileRevalidate > 0:
		parts = append(parts, fmt.Sprintf("served stale for up to %s while revalidating", formatSeconds(d.StaleWhileRevalidate)))
	}
	for _, v := range c.Vary {
		if v != "Origin" { // a handful of variants, each shared
			c.Problems = append(c.Problems, fmt.Sprintf("Vary: %s splits the cache into one copy per distinct %s value", v, v))
		}
	}
	if len(c.Vary) > 0 {
		parts = append(parts, "Vary: "+strings.Join(c.Vary, ", "))
	}
	if len(d.Dropped) > 0 {
		parts = append(parts, "stored without "+strings.Join(d.Dropped, ", ")+" (qualified private or no-cache)")
	}
	for _, v := range d.VaryIgnored {
		if v == "accept-encoding" {
			parts = append(parts, "Vary: Accept-Encoding ignored (the node asks the origin for identity)")
		} else {
			c.Problems = append(c.Problems, fmt.Sprintf("Vary member %q is not a header name: the node ignores it", v))
		}
	}
	c.Summary = strings.Join(parts, "; ")
	return c
}

// directive prefixes a directive with the header it came from when that
// is not Cache-Control.
func directive(field string) string {
	if field == "Cache-Control" {
		return ""
	}
	return field + ": "
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
