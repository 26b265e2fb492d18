package edge

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// LL-HLS blocking playlist reloads (RFC 8216bis 6.2.5.2). A request with
// _HLS_msn (and _HLS_part) asks for the playlist once it holds that
// segment or part. The edge does not answer it from the playlist it has:
// it sends it to the origin, which holds it until the part exists, and
// every viewer asking for the same part joins that one request (the
// cache's one flight per key: the parameters are put in one order, so that
// they make one key however the players wrote them). The answer is stored
// under that key for the playlist's TTL, so that late viewers get it at
// once. The edge holds a viewer for at most three part targets (the
// spec's bound for the origin), then answers 503; past Config.MaxBlocking
// held viewers, a new one gets the current playlist at once.

// blocking is a request's LL-HLS directives.
type blocking struct {
	on    bool   // _HLS_msn is present: a blocking reload
	query string // the query with the directives in one order (msn, part, skip) at its end
	plain string // the query without them: the ordinary playlist
}

// errBlocking is the answer to malformed directives (400).
var errBlocking = errors.New("bad LL-HLS directive")

// blockingOf reads _HLS_msn, _HLS_part and _HLS_skip from a raw query.
func blockingOf(rawQuery string) (blocking, error) {
	if !strings.Contains(rawQuery, "_HLS_") {
		return blocking{}, nil
	}
	var b blocking
	var msn, part, skip string
	var hasPart, hasSkip bool
	var plain strings.Builder
	for param := range strings.SplitSeq(rawQuery, "&") {
		name, value, _ := strings.Cut(param, "=")
		switch name {
		case "_HLS_msn":
			if _, err := strconv.ParseUint(value, 10, 63); err != nil || b.on {
				return b, errBlocking
			}
			msn, b.on = value, true
		case "_HLS_part":
			if _, err := strconv.ParseUint(value, 10, 31); err != nil || hasPart {
				return b, errBlocking
			}
			part, hasPart = value, true
		case "_HLS_skip":
			if value != "YES" && value != "v2" || hasSkip {
				return b, errBlocking
			}
			skip, hasSkip = value, true
		default:
			if param != "" {
				if plain.Len() > 0 {
					plain.WriteByte('&')
				}
				plain.WriteString(param)
			}
		}
	}
	if hasPart && !b.on {
		return b, errBlocking // _HLS_part needs _HLS_msn
	}
	b.plain = plain.String()
	var q strings.Builder
	q.WriteString(b.plain)
	add := func(name, value string) {
		if q.Len() > 0 {
			q.WriteByte('&')
		}
		q.WriteString(name)
		q.WriteByte('=')
		q.WriteString(value)
	}
	if b.on {
		add("_HLS_msn", msn)
	}
	if hasPart {
		add("_HLS_part", part)
	}
	if hasSkip {
		add("_HLS_skip", skip)
	}
	b.query = q.String()
	return b, nil
}

// Defaults of the blocking bounds (Config.BlockingHold, Config.MaxBlocking).
const (
	defaultBlockingHold = 3 * time.Second
	defaultMaxBlocking  = 10000
)

// errHoldExpired is the cause of a hold's context when its bound ran out.
var errHoldExpired = errors.New("edge: the LL-HLS part did not appear in time")

// hold returns the context a blocking reload of path waits in: it ends
// three part targets after now (the part target of the plain playlist the
// cache holds; Config.BlockingHold without one). ok is false when
// Config.MaxBlocking viewers are held already: the viewer gets the plain
// playlist. release must be called when the wait is over.
func (s *Server) hold(ctx context.Context, req *Request, b blocking) (hctx context.Context, release func(), ok bool) {
	limit := int64(s.cfg.MaxBlocking)
	if limit == 0 {
		limit = defaultMaxBlocking
	}
	if s.held.Add(1) > limit {
		s.held.Add(-1)
		return ctx, func() {}, false
	}
	bound := s.cfg.BlockingHold
	if bound <= 0 {
		bound = defaultBlockingHold
	}
	if e, found := s.cache.Peek(s.origin.CacheKey(req.Host, req.Path, b.plain)); found && e.PartTarget() > 0 {
		bound = 3 * e.PartTarget()
	}
	hctx, cancel := context.WithTimeoutCause(ctx, bound, errHoldExpired)
	return hctx, func() { cancel(); s.held.Add(-1) }, true
}

// Held returns how many blocking reloads wait right now.
func (s *Server) Held() int64 { return s.held.Load() }
