package origin

import (
	"strconv"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
)

// maxFreshness caps what an origin can ask for (one year, as RFC 9111
// suggests for "never expires").
const maxFreshness = 365 * 24 * time.Hour

// cacheControl is what the client reads from the origin's Cache-Control.
type cacheControl struct {
	maxAge    time.Duration // s-maxage when present, else max-age
	hasMaxAge bool
	noStore   bool // no-store, private or no-cache: a shared cache must not reuse it
	age       time.Duration
}

// parseCacheControl reads Cache-Control values (several headers are one
// comma-separated list) and the Age header.
func parseCacheControl(values []string, age string) cacheControl {
	var cc cacheControl
	var maxAge, sMaxAge time.Duration
	var hasMax, hasSMax bool
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.TrimSpace(d)
			name, val, _ := strings.Cut(d, "=")
			name = strings.TrimSpace(name)
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch {
			case strings.EqualFold(name, "no-store"), strings.EqualFold(name, "private"), strings.EqualFold(name, "no-cache"):
				cc.noStore = true
			case strings.EqualFold(name, "max-age"):
				maxAge, hasMax = deltaSeconds(val), true
			case strings.EqualFold(name, "s-maxage"):
				sMaxAge, hasSMax = deltaSeconds(val), true
			}
		}
	}
	switch {
	case hasSMax:
		cc.maxAge, cc.hasMaxAge = sMaxAge, true
	case hasMax:
		cc.maxAge, cc.hasMaxAge = maxAge, true
	}
	if age != "" {
		cc.age = deltaSeconds(strings.TrimSpace(age))
	}
	return cc
}

// deltaSeconds parses a delta-seconds value; an invalid one counts as 0
// (RFC 9111: treat the response as stale).
func deltaSeconds(s string) time.Duration {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return maxFreshness
		}
		return 0
	}
	if n > uint64(maxFreshness/time.Second) {
		return maxFreshness
	}
	return time.Duration(n) * time.Second
}

// originFreshness is the freshness the origin gave, Age deducted.
func (cc cacheControl) originFreshness() time.Duration {
	d := cc.maxAge - cc.age
	if d < 0 {
		return 0
	}
	return d
}

// deriveTTL decides how long an answer stays fresh:
//
//   - no-store, private or no-cache: 0 (not cached);
//   - 404 and 410: TTL.Negative;
//   - any other status but 200 and 203: 0;
//   - master playlist: TTL.MasterPlaylist; VOD playlist: TTL.VODPlaylist;
//   - live media playlist: half the part target (LL-HLS) or else half the
//     target duration, lowered to the origin's max-age when it is smaller,
//     then capped by TTL.MaxLivePlaylist; 0 when neither is known;
//   - anything else: the origin's s-maxage or max-age (minus Age) when
//     present, else TTL.Segment.
func deriveTTL(cfg TTLConfig, status int, kind cache.Kind, info *PlaylistInfo, cc cacheControl) time.Duration {
	if cc.noStore {
		return 0
	}
	switch {
	case status == 404 || status == 410:
		return cfg.Negative
	case status != 200 && status != 203:
		return 0
	}
	switch kind {
	case cache.KindMasterPlaylist:
		return cfg.MasterPlaylist
	case cache.KindVODPlaylist:
		return cfg.VODPlaylist
	case cache.KindLivePlaylist:
		var ttl time.Duration
		if info != nil {
			if info.PartTarget > 0 {
				ttl = info.PartTarget / 2
			} else {
				ttl = info.TargetDuration / 2
			}
		}
		if cc.hasMaxAge {
			if f := cc.originFreshness(); ttl == 0 || f < ttl {
				ttl = f
			}
		}
		if cfg.MaxLivePlaylist > 0 && ttl > cfg.MaxLivePlaylist {
			ttl = cfg.MaxLivePlaylist
		}
		return ttl
	}
	if cc.hasMaxAge {
		return cc.originFreshness()
	}
	return cfg.Segment
}
