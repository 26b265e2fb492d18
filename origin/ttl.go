package origin

import (
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
)

// maxFreshness caps what an origin can ask for (one year, as RFC 9111
// suggests for "never expires").
const maxFreshness = 365 * 24 * time.Hour

// heuristicFraction is the share of the time since Last-Modified that an
// answer without explicit freshness is considered fresh (RFC 9111 4.2.2).
const heuristicFraction = 10

// deltaSeconds parses a delta-seconds value; an invalid one counts as 0
// (RFC 9111: treat the response as stale).
func deltaSeconds(s string) time.Duration {
	n := uint64(0)
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
		if n > uint64(maxFreshness/time.Second) {
			return maxFreshness
		}
	}
	return time.Duration(n) * time.Second
}

// defaultCacheable are the statuses a cache may store without explicit
// freshness (RFC 9110 15.1 "heuristically cacheable"), less 206: the node
// stores whole objects only.
func defaultCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// policy is what the client decides about an answer: whether it may be
// stored, and its freshness.
type policy struct {
	store bool
	// What the decision rests on, for Cacheability; one-byte codes that
	// fit the padding after store, so a decision costs what it did.
	why, field, source, rule uint8
	ttl, age                 time.Duration
	swr, sie                 time.Duration
	noStale, noCache         bool
	vary                     []string
	// drop are the fields (lower case) a qualified private or no-cache
	// names: the answer is stored without them.
	drop []string
}

// Why an answer is not stored (policy.why).
const (
	storable uint8 = iota
	whyNoStore
	whyPrivate
	whyVaryStar
	whyPartial
	whySetCookie
	whyStatus
	whyAuthorized
)

// Where the directives were read from (policy.field).
const (
	fieldCacheControl uint8 = iota // Cache-Control, also when there is none
	fieldTargeted
	fieldCDN
	fieldPragma // no Cache-Control, Pragma: no-cache
)

// Where the freshness lifetime came from (policy.source), before the
// media rules.
const (
	sourceNone uint8 = iota
	sourceSMaxAge
	sourceMaxAge
	sourceExpires
	sourceHeuristic
	sourceNegative // TTL.Negative
	sourceSegment  // TTL.Segment
)

// The media rule that bounded or replaced the freshness (policy.rule).
const (
	ruleNone uint8 = iota
	ruleMaster
	ruleVOD
	ruleLiveTarget
	ruleLivePart
	ruleLiveCap
	ruleSegment         // ttl.override without a media rule: TTL.Segment
	ruleMPDUpdate       // a dynamic MPD: minimumUpdatePeriod/2
	ruleMPDAvailability // an MPD: up to its availabilityStartTime or availabilityEndTime
)

// media is what the media rules know of an answer: its kind and, for a
// media playlist, what was parsed from it.
type media struct {
	kind     cache.Kind
	info     *PlaylistInfo
	mpd      *MPDInfo // a DASH manifest
	override bool     // the route lets the media TTLs replace the origin's freshness
}

// decide applies RFC 9111 (with RFC 9213's targeted fields and RFC 5861's
// stale directives) to an answer, then the media rules on top:
//
//   - directives come from the targeted field (TTLConfig.TargetedHeader)
//     when present, else CDN-Cache-Control, else Cache-Control (and then
//     Expires and Pragma count too);
//   - stored unless no-store, private, Set-Cookie, Vary: *, a 206, an
//     authorized request without public, s-maxage or must-revalidate, or a
//     status not cacheable by default without explicit freshness;
//   - freshness: s-maxage, max-age, Expires minus Date; else, for a status
//     cacheable by default, a tenth of the time since Last-Modified capped
//     by TTL.Heuristic, or TTL.Negative for 404 and 410; else TTL.Segment
//     (default 0: revalidate before each reuse). no-cache makes it 0;
//   - media rules are upper bounds: master playlists TTL.MasterPlaylist,
//     VOD playlists TTL.VODPlaylist, live playlists half the part target
//     or target duration (capped by TTL.MaxLivePlaylist). With the route's
//     ttl.override they replace the origin's freshness instead.
func decide(cfg TTLConfig, hs []cache.Header, date string, status int, authorized bool, m media) policy {
	return decideAt(cfg, hs, date, status, authorized, m, time.Now)
}

// decideAt is decide with the clock that stands in for a missing Date and
// is the answer's arrival. date is the origin's Date (the node does not
// store it); "" means the Date in hs, if any.
func decideAt(cfg TTLConfig, hs []cache.Header, date string, status int, authorized bool, m media, now func() time.Time) policy {
	var p policy
	if date == "" {
		date = headerValue(hs, "Date")
	}
	dateValue, hasDate := parseHTTPDate(date)
	targeted := values(hs, cfg.TargetedHeader)
	d := parseDirectives(targeted)
	fromCC := false
	p.field = fieldTargeted
	if !d.present {
		d = parseDirectives(values(hs, "CDN-Cache-Control"))
		p.field = fieldCDN
	}
	if !d.present {
		d = parseDirectives(values(hs, "Cache-Control"))
		fromCC = true
		p.field = fieldCacheControl
		if !d.present && strings.Contains(strings.ToLower(headerValue(hs, "Pragma")), "no-cache") {
			d.noCache = true // HTTP/1.0: no Cache-Control, Pragma: no-cache
			p.field = fieldPragma
		}
	}
	p.age = deltaSeconds(strings.TrimSpace(headerValue(hs, "Age")))
	if hasDate {
		p.age = max(p.age, apparentAge(now(), dateValue))
	}
	vary, star := parseVary(values(hs, "Vary"))
	p.vary = vary

	explicit, lifetime := d.explicit(), d.lifetime()
	source := sourceMaxAge
	if d.hasSMaxAge {
		source = sourceSMaxAge
	}
	if !explicit && fromCC {
		if exp := headerValue(hs, "Expires"); exp != "" {
			explicit, source = true, sourceExpires
			if t, ok := parseHTTPDate(exp); ok {
				date := dateValue
				if !hasDate {
					date = now()
				}
				lifetime = min(max(t.Sub(date), 0), maxFreshness)
			} // an invalid Expires means already expired
		}
	}
	// Stored unless one of these holds; the first that does is the reason.
	switch {
	case d.noStore:
		p.why = whyNoStore
	case d.private:
		p.why = whyPrivate
	case star:
		p.why = whyVaryStar
	case status == 206:
		p.why = whyPartial
	case headerValue(hs, "Set-Cookie") != "" && !containsFold(d.privateFields, "set-cookie") && !containsFold(d.noCacheFields, "set-cookie"):
		p.why = whySetCookie
	case !defaultCacheable(status) && !explicit && !d.public:
		p.why = whyStatus
	case authorized && !d.public && !d.hasSMaxAge && !d.mustRevalidate:
		p.why = whyAuthorized
	default:
		p.store = true
	}
	if !p.store {
		return p
	}
	p.drop = append(d.privateFields, d.noCacheFields...)
	switch {
	case explicit:
		p.ttl, p.source = lifetime, source
	case defaultCacheable(status):
		if lm, ok := parseHTTPDate(headerValue(hs, "Last-Modified")); ok {
			date := dateValue
			if !hasDate {
				date = now()
			}
			p.ttl = min(max(date.Sub(lm), 0)/heuristicFraction, cfg.Heuristic)
			p.age = 0 // heuristic freshness counts from arrival
			p.source = sourceHeuristic
		} else if status == 404 || status == 410 {
			p.ttl, p.source = cfg.Negative, sourceNegative
		} else {
			p.ttl, p.source = cfg.Segment, sourceSegment
		}
	}
	if d.noCache {
		p.ttl, p.noCache = 0, true
	}
	p.noStale = d.noCache || d.mustRevalidate || d.proxyRevalidate || d.hasSMaxAge
	if d.hasSWR {
		p.swr = d.swr
	}
	if d.hasSIE {
		p.sie = d.sie
	}

	if status != 200 && status != 203 {
		return p
	}
	bound, rule := mediaTTL(cfg, m, now)
	switch {
	case m.override:
		if rule == ruleNone {
			bound, rule = cfg.Segment, ruleSegment
		}
		p.ttl, p.age, p.rule = bound, 0, rule
	case rule != ruleNone && p.ttl-p.age > bound:
		p.ttl, p.rule = bound+p.age, rule
	}
	return p
}

// apparentAge is RFC 9111 4.2.3's apparent_age, max(0, response_time -
// date_value), in whole seconds. Date has a resolution of one second, so
// an answer dated the second before its arrival is taken as age 0: a
// max-age=1 playlist from an origin whose clock agrees with the node's is
// not stale on arrival for a truncated Date alone. Like Age, it is capped
// at maxFreshness.
func apparentAge(received, date time.Time) time.Duration {
	return min(max(received.Sub(date).Truncate(time.Second)-time.Second, 0), maxFreshness)
}

// mediaTTL is the media rule's freshness for an object and which rule it
// is (ruleNone: none applies).
func mediaTTL(cfg TTLConfig, m media, now func() time.Time) (time.Duration, uint8) {
	if m.mpd != nil {
		return mpdTTL(cfg, m.mpd, now())
	}
	switch m.kind {
	case cache.KindMasterPlaylist:
		return cfg.MasterPlaylist, ruleMaster
	case cache.KindVODPlaylist:
		return cfg.VODPlaylist, ruleVOD
	case cache.KindLivePlaylist:
		var ttl time.Duration
		rule := ruleLiveTarget
		if m.info != nil {
			if m.info.PartTarget > 0 {
				ttl, rule = m.info.PartTarget/2, ruleLivePart
			} else {
				ttl = m.info.TargetDuration / 2
			}
		}
		if cfg.MaxLivePlaylist > 0 && ttl > cfg.MaxLivePlaylist {
			ttl, rule = cfg.MaxLivePlaylist, ruleLiveCap
		}
		return ttl, rule
	}
	return 0, ruleNone
}

// values returns every value of name in hs.
func values(hs []cache.Header, name string) []string {
	if name == "" {
		return nil
	}
	var out []string
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}
