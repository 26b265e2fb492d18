package origin

import (
	"net/http"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
)

// Decision is what the node does with one origin answer, as Cacheability
// reports it: the same rules its fetches apply (RFC 9111 with RFC 9213's
// targeted fields and RFC 5861's stale directives, then the media rules).
type Decision struct {
	// Store: the node keeps the answer and serves it to every viewer of
	// its cache key. An answer it does not store passes through to the one
	// viewer who asked (the node stores nothing it may not share).
	Store bool
	// NotStored says why not, when Store is false: "no-store", "private"
	// "Vary: *", "206" (the node
	// stores whole objects only), "Set-Cookie", "status" (a status not
	// cacheable by default, without explicit freshness) or "Authorization"
	// (a request with credentials, without public, s-maxage or
	// must-revalidate).
	NotStored string
	// Field is the header the directives were read from: the targeted
	// header (TTLConfig.TargetedHeader), CDN-Cache-Control, Cache-Control
	// (also when the answer has none) or Pragma (no Cache-Control, Pragma:
	// no-cache).
	Field string
	// Source is where the origin's freshness came from: "s-maxage",
	// "max-age", "Expires", "heuristic" (a tenth of the time since
	// Last-Modified, capped by upstream.ttl.heuristic),
	// "upstream.ttl.negative" (404 and 410) or "upstream.ttl.segment"
	// (nothing to go on). Empty when not stored, and for a status not
	// cacheable by default stored for its public alone (TTL 0).
	Source string
	// Rule is the media rule that lowered the origin's freshness (or
	// replaced it, with the route's ttl.override): "upstream.ttl.master_playlist",
	// "upstream.ttl.vod_playlist", "target_duration/2", "part_target/2",
	// "upstream.ttl.max_live_playlist" or "upstream.ttl.segment". Empty
	// when the origin's freshness stands.
	Rule string
	// TTL is the freshness lifetime and Age the answer's age on arrival
	// counted against it (the origin's Age, or the time since its Date
	// when that is more): the answer is fresh for TTL-Age on arrival
	// (Fresh).
	TTL, Age time.Duration
	// NoCache: every reuse is revalidated first (no-cache, or Pragma:
	// no-cache without Cache-Control); TTL is then 0.
	NoCache bool
	// NoStale: never served stale (no-cache, must-revalidate,
	// proxy-revalidate, s-maxage); the stale directives do not apply.
	NoStale bool
	// StaleWhileRevalidate and StaleIfError are the origin's RFC 5861
	// allowances.
	StaleWhileRevalidate, StaleIfError time.Duration
	// Vary are the lower-case request header names the stored answer
	// varies on: one stored variant per distinct combination of values.
	Vary []string
	// VaryIgnored are names in the origin's Vary the node leaves out:
	// accept-encoding (it asks the origin for identity and encodes for
	// viewers itself) and names that are not header field names.
	VaryIgnored []string
	// Dropped are the fields (lower case) a qualified private="..." or
	// no-cache="..." names: the answer is stored without them, so no
	// viewer gets them from the node.
	Dropped []string
	// Invalid are the directives of Field whose delta-seconds argument
	// the node could not read and took as 0 (RFC 9111 1.2.2), such as
	// "max-age=soon".
	Invalid []string
}

// Fresh is how long the answer is fresh on arrival; 0 means it is
// revalidated before its first reuse.
func (d Decision) Fresh() time.Duration { return max(0, d.TTL-d.Age) }

// Cacheability is the node's decision about an origin's answer to a GET
// without credentials through a route without ttl.override: status and h
// as received at now (which stands in for a missing Date), info the
// node's parse of the body for a playlist (ParsePlaylist), nil for
// anything else. It runs the very rules of the node's fetches, which do
// not call it: it is for tools that report them, like the stream checker.
func Cacheability(cfg TTLConfig, status int, h http.Header, info *PlaylistInfo, now time.Time) Decision {
	var hs []cache.Header
	for name, vs := range h {
		for _, v := range vs {
			hs = append(hs, cache.Header{Name: name, Value: v})
		}
	}
	m := media{kind: cache.KindSegment}
	if info != nil {
		m = media{kind: info.Kind, info: info}
	}
	return decision(cfg, hs, status, m, now)
}

// CacheabilityMPD is Cacheability for a DASH manifest, info the node's
// parse of it (ParseMPD).
func CacheabilityMPD(cfg TTLConfig, status int, h http.Header, info *MPDInfo, now time.Time) Decision {
	var hs []cache.Header
	for name, vs := range h {
		for _, v := range vs {
			hs = append(hs, cache.Header{Name: name, Value: v})
		}
	}
	m := media{kind: cache.KindVODPlaylist, mpd: info}
	if info.Dynamic {
		m.kind = cache.KindLivePlaylist
	}
	return decision(cfg, hs, status, m, now)
}

func decision(cfg TTLConfig, hs []cache.Header, status int, m media, now time.Time) Decision {
	p := decideAt(cfg, hs, "", status, false, m, func() time.Time { return now })
	d := Decision{
		Store: p.store, NotStored: notStoredNames[p.why],
		Source: sourceNames[p.source], Rule: ruleNames[p.rule],
		TTL: p.ttl, Age: p.age, NoCache: p.noCache, NoStale: p.noStale,
		StaleWhileRevalidate: p.swr, StaleIfError: p.sie, Vary: p.vary, Dropped: p.drop,
	}
	switch p.field {
	case fieldTargeted:
		d.Field = cfg.TargetedHeader
	case fieldCDN:
		d.Field = "CDN-Cache-Control"
	case fieldPragma:
		d.Field = "Pragma"
	default:
		d.Field = "Cache-Control"
	}
	if !d.Store {
		d.TTL, d.Age = 0, 0
	}
	if p.field != fieldPragma {
		d.Invalid = invalidDeltas(values(hs, d.Field))
	}
	for _, v := range values(hs, "Vary") {
		for item := range listItems(v) {
			n := strings.ToLower(item)
			if n != "*" && !containsFold(d.Vary, n) && !containsFold(d.VaryIgnored, n) {
				d.VaryIgnored = append(d.VaryIgnored, n)
			}
		}
	}
	return d
}

var (
	notStoredNames = [...]string{whyNoStore: "no-store", whyPrivate: "private", whyVaryStar: "Vary: *",
		whyPartial: "206", whySetCookie: "Set-Cookie", whyStatus: "status", whyAuthorized: "Authorization"}
	sourceNames = [...]string{sourceSMaxAge: "s-maxage", sourceMaxAge: "max-age", sourceExpires: "Expires",
		sourceHeuristic: "heuristic", sourceNegative: "upstream.ttl.negative", sourceSegment: "upstream.ttl.segment"}
	ruleNames = [...]string{ruleMaster: "upstream.ttl.master_playlist", ruleVOD: "upstream.ttl.vod_playlist",
		ruleLiveTarget: "target_duration/2", ruleLivePart: "part_target/2",
		ruleLiveCap: "upstream.ttl.max_live_playlist", ruleSegment: "upstream.ttl.segment",
		ruleMPDUpdate: "minimumUpdatePeriod/2", ruleMPDAvailability: "availability time"}
)

// invalidDeltas returns the directives with a delta-seconds argument
// (max-age, s-maxage, stale-while-revalidate, stale-if-error) that is not
// one, as parseDirectives reads them.
func invalidDeltas(fieldValues []string) []string {
	var out []string
	for _, v := range fieldValues {
		for item := range listItems(v) {
			name, arg, _ := strings.Cut(item, "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
			default:
				continue
			}
			arg = strings.TrimSpace(arg)
			if len(arg) >= 2 && arg[0] == '"' && arg[len(arg)-1] == '"' {
				arg = arg[1 : len(arg)-1]
			}
			if arg == "" || strings.Trim(arg, "0123456789") != "" {
				out = append(out, item)
			}
		}
	}
	return out
}
