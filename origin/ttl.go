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
	store    bool
	ttl, age time.Duration
	swr, sie time.Duration
	noStale  bool
	vary     []string
}

// media is what the media rules know of an answer: its kind and, for a
// media playlist, what was parsed from it.
type media struct {
	kind     cache.Kind
	info     *PlaylistInfo
	override bool // the route lets the media TTLs replace the origin's freshness
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
func decide(cfg TTLConfig, hs []cache.Header, status int, authorized bool, m media) policy {
	targeted := values(hs, cfg.TargetedHeader)
	d := parseDirectives(targeted)
	fromCC := false
	if !d.present {
		d = parseDirectives(values(hs, "CDN-Cache-Control"))
	}
	if !d.present {
		d = parseDirectives(values(hs, "Cache-Control"))
		fromCC = true
		if !d.present && strings.Contains(strings.ToLower(headerValue(hs, "Pragma")), "no-cache") {
			d.noCache = true // HTTP/1.0: no Cache-Control, Pragma: no-cache
		}
	}
	var p policy
	p.age = deltaSeconds(strings.TrimSpace(headerValue(hs, "Age")))
	vary, star := parseVary(values(hs, "Vary"))
	p.vary = vary

	explicit, lifetime := d.explicit(), d.lifetime()
	if !explicit && fromCC {
		if exp := headerValue(hs, "Expires"); exp != "" {
			explicit = true
			if t, ok := parseHTTPDate(exp); ok {
				date, ok := parseHTTPDate(headerValue(hs, "Date"))
				if !ok {
					date = time.Now()
				}
				lifetime = min(max(t.Sub(date), 0), maxFreshness)
			} // an invalid Expires means already expired
		}
	}
	p.store = !d.noStore && !d.private && !star && status != 206 &&
		headerValue(hs, "Set-Cookie") == "" &&
		(defaultCacheable(status) || explicit || d.public) &&
		(!authorized || d.public || d.hasSMaxAge || d.mustRevalidate)
	if !p.store {
		return p
	}
	switch {
	case explicit:
		p.ttl = lifetime
	case defaultCacheable(status):
		if lm, ok := parseHTTPDate(headerValue(hs, "Last-Modified")); ok {
			date, ok := parseHTTPDate(headerValue(hs, "Date"))
			if !ok {
				date = time.Now()
			}
			p.ttl = min(max(date.Sub(lm), 0)/heuristicFraction, cfg.Heuristic)
			p.age = 0 // heuristic freshness counts from arrival
		} else if status == 404 || status == 410 {
			p.ttl = cfg.Negative
		} else {
			p.ttl = cfg.Segment
		}
	}
	if d.noCache {
		p.ttl = 0
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
	bound, ok := mediaTTL(cfg, m)
	switch {
	case m.override:
		if !ok {
			bound = cfg.Segment
		}
		p.ttl, p.age = bound, 0
	case ok && p.ttl-p.age > bound:
		p.ttl = bound + p.age
	}
	return p
}

// mediaTTL is the media rule's freshness for an object, if one applies.
func mediaTTL(cfg TTLConfig, m media) (time.Duration, bool) {
	switch m.kind {
	case cache.KindMasterPlaylist:
		return cfg.MasterPlaylist, true
	case cache.KindVODPlaylist:
		return cfg.VODPlaylist, true
	case cache.KindLivePlaylist:
		var ttl time.Duration
		if m.info != nil {
			if m.info.PartTarget > 0 {
				ttl = m.info.PartTarget / 2
			} else {
				ttl = m.info.TargetDuration / 2
			}
		}
		if cfg.MaxLivePlaylist > 0 && ttl > cfg.MaxLivePlaylist {
			ttl = cfg.MaxLivePlaylist
		}
		return ttl, true
	}
	return 0, false
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
