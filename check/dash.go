package check

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/origin"
)

// checkDASH checks a DASH manifest (first, body, fetched from u) the way
// Check checks a master playlist: the manifest's caching and CORS, then
// per Representation (each is a swarm) its window, sampled segments and
// the segment URLs of a second viewer's fetch of the manifest.
func (c *Checker) checkDASH(ctx context.Context, rep *Report, first Response, body []byte, u *url.URL) {
	info, err := parseMPD(u, body, first.received)
	if err != nil {
		rep.add(Error, "master-malformed", fmt.Sprintf("%s: %v", u, err))
		return
	}
	first.Cache = describe(origin.CacheabilityMPD(c.ttl, first.Status, first.header, info, first.received), first.Status, first.header)
	rep.Master = first
	c.judgeCORS(first, "DASH manifest", rep.add)
	if !first.Cache.Stored || !first.Cache.Shared {
		rep.add(Warning, "master-not-cacheable", "DASH manifest "+first.Cache.Summary+": every player start and refresh reaches the origin")
	}
	if len(info.Representations) == 0 {
		rep.add(Error, "no-renditions", "the manifest lists no Representation the node can serve")
		return
	}
	// The manifest again, as a second viewer would get it.
	var second *origin.MPDInfo
	if r2, body2, err := c.fetchPlaylist(ctx, u); err == nil {
		second, _ = parseMPD(u, body2, r2.received)
	}
	for _, r := range info.Representations {
		rd := Rendition{
			Playlist: first, Representation: r.ID, ContentType: r.ContentType, Kind: "vod",
			Segments: len(r.Segments), LengthSeconds: r.Duration.Seconds(), TargetDuration: r.SegmentDuration.Seconds(),
		}
		if info.Dynamic {
			rd.Kind = "live"
		}
		segs := resolveAll(u, r.Segments)
		if len(segs) == 0 {
			rd.add(Error, "no-segments", fmt.Sprintf("Representation %q lists no segment", r.ID))
			rep.Renditions = append(rep.Renditions, rd)
			continue
		}
		if r.IndexRange != "" {
			rd.add(Warning, "segment-base", fmt.Sprintf("Representation %q is one file read by byte ranges (SegmentBase): peers share whole segments only, so it plays over HTTP", r.ID))
		} else {
			if r.Duration > 0 && r.Duration < MinWindow {
				rd.add(Warning, "playlist-short", fmt.Sprintf("Representation %q lists %.1f s: at least %.0f s is recommended for P2P (peers share a segment only while it is in their windows)", r.ID, r.Duration.Seconds(), MinWindow.Seconds()))
			}
			if len(segs) < MinSegments {
				rd.add(Warning, "few-segments", fmt.Sprintf("Representation %q lists %d segments: at least %d are recommended for P2P", r.ID, len(segs), MinSegments))
			}
		}
		if r.Init != "" {
			if iu, err := u.Parse(r.Init); err == nil && r.InitRange == "" {
				s, err := c.fetchSegment(ctx, iu)
				rd.Samples = append(rd.Samples, s)
				if err != nil {
					rd.add(Error, "segment-unreachable", "init segment: "+err.Error())
				}
			}
		}
		c.sample(ctx, &rd, segs)
		if second != nil && r.IndexRange == "" {
			for _, r2 := range second.Representations {
				if r2.ID == r.ID && r2.Period == r.Period {
					c.judgeKeys(&rd, &origin.PlaylistInfo{Kind: cache.KindLivePlaylist, Segments: r.Segments, MediaSequence: r.StartNumber},
						resolveAll(u, r2.Segments), r2.StartNumber, segs)
					break
				}
			}
		}
		rep.Renditions = append(rep.Renditions, rd)
	}
	rep.collectRewrites()
}

// parseMPD reads a manifest with the node's own parser, listing a live
// manifest's segments as of when it arrived; absolute URLs are kept whole
// (see parse).
func parseMPD(u *url.URL, body []byte, at time.Time) (*origin.MPDInfo, error) {
	keepAbsolute := func(scheme, host, path string) (string, bool) {
		if scheme == "" {
			return "//" + host + path, true
		}
		return scheme + "://" + host + path, true
	}
	return origin.ParseMPD(u.EscapedPath(), body, keepAbsolute, at)
}
