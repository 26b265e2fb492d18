package check

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/origin"
)

// TestCacheability: the checker's verdicts are the node's decisions
// (origin.Cacheability) with the node's default upstream.ttl.
func TestCacheability(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		h          http.Header
		stored     bool
		shared     bool
		revalidate bool
		fresh      float64
		source     string
		inSummary  string
	}{
		{"max-age", 200, http.Header{"Cache-Control": {"max-age=60"}}, true, true, false, 60, "max-age", "fresh for 60s (max-age)"},
		{"s-maxage wins over max-age", 200, http.Header{"Cache-Control": {"max-age=60, s-maxage=600"}}, true, true, false, 600, "s-maxage", "s-maxage"},
		{"directives over several lines and case", 200, http.Header{"Cache-Control": {"public", "Max-Age=30"}}, true, true, false, 30, "max-age", ""},
		{"Age is taken off", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"45"}}, true, true, false, 15, "max-age", "15s"},
		{"Age beyond the lifetime: stale", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"90"}}, true, true, true, 0, "max-age", "already stale"},
		{"no-store", 200, http.Header{"Cache-Control": {"max-age=60, no-store"}}, false, false, false, 0, "none", "no-store"},
		{"private", 200, http.Header{"Cache-Control": {"private, max-age=60"}}, false, false, false, 0, "none", "private"},
		{"private with field names: stored without them", 200, http.Header{"Cache-Control": {`private="X-User", max-age=60`}, "X-User": {"u"}}, true, true, false, 60, "max-age", "stored without x-user"},
		{"no-cache: stored and revalidated", 200, http.Header{"Cache-Control": {"no-cache"}, "Etag": {`"a"`}}, true, true, true, 0, "none", "revalidated before every reuse (no-cache)"},
		{"no-cache without validator", 200, http.Header{"Cache-Control": {"no-cache"}}, true, true, true, 0, "none", "refetches the whole object"},
		{"Expires", 200, http.Header{"Date": {date}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, true, true, false, 3600, "Expires", "1h (Expires)"},
		{"invalid Expires is stale", 200, http.Header{"Expires": {"0"}}, true, true, true, 0, "Expires", "already stale"},
		{"max-age wins over Expires", 200, http.Header{"Cache-Control": {"max-age=5"}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, true, true, false, 5, "max-age", ""},
		{"heuristic from Last-Modified", 200, http.Header{"Date": {date}, "Last-Modified": {now.Add(-100 * time.Second).Format(http.TimeFormat)}}, true, true, false, 10, "heuristic", "(heuristic)"},
		{"nothing at all", 200, http.Header{}, true, true, true, 0, "none", "no freshness information"},
		{"Set-Cookie is neither stored nor shared", 200, http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"a=b"}}, false, false, false, 0, "none", "not shared between viewers (Set-Cookie)"},
		{"Vary: *", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, false, false, false, 0, "none", "Vary: *"},
		{"Vary: Accept-Encoding", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"accept-encoding"}}, true, true, false, 60, "max-age", "Vary: Accept-Encoding ignored"},
		{"Vary: Origin, Cookie", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"origin, Cookie"}}, true, true, false, 60, "max-age", "Vary: Origin, Cookie"},
		{"CDN-Cache-Control wins", 200, http.Header{"Cache-Control": {"no-store"}, "Cdn-Cache-Control": {"max-age=120"}}, true, true, false, 120, "max-age", ""},
		{"the node's targeted header wins", 200, http.Header{"Cdn-Cache-Control": {"max-age=120"}, "Edgeswarm-Cache-Control": {"no-store"}}, false, false, false, 0, "none", "Edgeswarm-Cache-Control: no-store"},
		{"Expires does not count beside CDN-Cache-Control", 200, http.Header{"Cdn-Cache-Control": {"public"}, "Date": {date}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, true, true, true, 0, "none", "no freshness information"},
		{"Pragma: no-cache without Cache-Control", 200, http.Header{"Pragma": {"no-cache"}, "Etag": {`"p"`}}, true, true, true, 0, "none", "(Pragma: no-cache)"},
		{"s-maxage: never served stale", 200, http.Header{"Cache-Control": {"s-maxage=60, stale-while-revalidate=30"}}, true, true, false, 60, "s-maxage", "never served stale"},
		{"stale-while-revalidate", 200, http.Header{"Cache-Control": {"max-age=60, stale-while-revalidate=30"}}, true, true, false, 60, "max-age", "stale for up to 30s while revalidating"},
		{"heuristic capped by upstream.ttl.heuristic", 200, http.Header{"Date": {date}, "Last-Modified": {now.Add(-100 * time.Hour).Format(http.TimeFormat)}}, true, true, false, 3600, "heuristic", "1h (heuristic)"},
		{"heuristic does not take Age off", 200, http.Header{"Date": {date}, "Age": {"5"}, "Last-Modified": {now.Add(-100 * time.Second).Format(http.TimeFormat)}}, true, true, false, 10, "heuristic", ""},
		{"404 without freshness: upstream.ttl.negative", 404, http.Header{}, true, true, false, 2, "upstream.ttl.negative", "2s (upstream.ttl.negative)"},
		{"206 never", 206, http.Header{"Cache-Control": {"max-age=60"}}, false, false, false, 0, "none", "whole objects"},
		{"500 without freshness", 500, http.Header{}, false, false, false, 0, "none", "status 500"},
		{"500 with max-age", 500, http.Header{"Cache-Control": {"max-age=5"}}, true, true, false, 5, "max-age", ""},
		{"404 heuristic allowed", 404, http.Header{"Date": {date}, "Last-Modified": {now.Add(-50 * time.Second).Format(http.TimeFormat)}}, true, true, false, 5, "heuristic", ""},
		{"quoted comma does not split", 200, http.Header{"Cache-Control": {`max-age=9, ext="a, max-age=1"`}}, true, true, false, 9, "max-age", ""},
		{"no-cache with field names: stored without them, fresh", 200, http.Header{"Cache-Control": {`no-cache="a,b", max-age=9`}}, true, true, false, 9, "max-age", "stored without a, b"},
		{"Set-Cookie named by private: stored without it", 200, http.Header{"Cache-Control": {`max-age=60, private="Set-Cookie"`}, "Set-Cookie": {"a=b"}}, true, true, false, 60, "max-age", "stored without set-cookie"},
		{"apparent age from Date", 200, http.Header{"Cache-Control": {"max-age=60"}, "Date": {now.Add(-31 * time.Second).Format(http.TimeFormat)}}, true, true, false, 30, "max-age", "30s"},
		{"Age over a later Date", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"40"}, "Date": {date}}, true, true, false, 20, "max-age", ""},
		{"bad max-age is stale", 200, http.Header{"Cache-Control": {"max-age=soon"}}, true, true, true, 0, "max-age", "already stale (max-age)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cacheability(origin.DefaultConfig().TTL, tt.status, tt.h, nil, now)
			if c.Stored != tt.stored || c.Shared != tt.shared || c.Revalidate != tt.revalidate || c.FreshSeconds != tt.fresh || c.Source != tt.source {
				t.Errorf("got stored=%v shared=%v revalidate=%v fresh=%v source=%s; want %v %v %v %v %s (%s)",
					c.Stored, c.Shared, c.Revalidate, c.FreshSeconds, c.Source, tt.stored, tt.shared, tt.revalidate, tt.fresh, tt.source, c.Summary)
			}
			if !strings.Contains(c.Summary, tt.inSummary) {
				t.Errorf("summary %q lacks %q", c.Summary, tt.inSummary)
			}
			if (!c.Stored || !c.Shared) && len(c.Problems) == 0 {
				t.Errorf("not stored or shared without a problem named: %+v", c)
			}
		})
	}
}

// TestCacheabilityOfPlaylists: the node's media TTLs bound what the
// origin allows for playlists, and the checker says so.
func TestCacheabilityOfPlaylists(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ttl := origin.DefaultConfig().TTL
	capped := ttl
	capped.MaxLivePlaylist = time.Second
	master := &origin.PlaylistInfo{Kind: cache.KindMasterPlaylist}
	live := &origin.PlaylistInfo{Kind: cache.KindLivePlaylist, TargetDuration: 6 * time.Second}
	ll := &origin.PlaylistInfo{Kind: cache.KindLivePlaylist, TargetDuration: 4 * time.Second, PartTarget: time.Second}
	vod := &origin.PlaylistInfo{Kind: cache.KindVODPlaylist}
	tests := []struct {
		name      string
		ttl       origin.TTLConfig
		info      *origin.PlaylistInfo
		cc        string
		fresh     float64
		source    string
		inSummary string
	}{
		{"master bounded", ttl, master, "max-age=300", 2, "upstream.ttl.master_playlist", "fresh for 2s (upstream.ttl.master_playlist, the node's bound on the origin's max-age)"},
		{"live: half the target duration", ttl, live, "max-age=60", 3, "target_duration/2", "3s (target_duration/2"},
		{"LL-HLS: half the part target", ttl, ll, "max-age=60", 0.5, "part_target/2", "0.5s"},
		{"live cap", capped, live, "max-age=60", 1, "upstream.ttl.max_live_playlist", ""},
		{"live, the origin lower", ttl, live, "max-age=2", 2, "max-age", "2s (max-age)"},
		{"VOD, the origin lower", ttl, vod, "max-age=60", 60, "max-age", ""},
		{"a segment is not bounded", ttl, nil, "max-age=86400", 86400, "max-age", "1d (max-age)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cacheability(tt.ttl, 200, http.Header{"Cache-Control": {tt.cc}}, tt.info, now)
			if !c.Stored || c.FreshSeconds != tt.fresh || c.Source != tt.source || !strings.Contains(c.Summary, tt.inSummary) {
				t.Errorf("got stored=%v fresh=%v source=%s %q; want fresh %v from %s, %q", c.Stored, c.FreshSeconds, c.Source, c.Summary, tt.fresh, tt.source, tt.inSummary)
			}
		})
	}
}

// TestCacheabilityNames: what the node could not read is named.
func TestCacheabilityNames(t *testing.T) {
	c := cacheability(origin.DefaultConfig().TTL, 200, http.Header{"Cache-Control": {"max-age=soon, stale-if-error=1h"}, "Vary": {"origin, a b"}}, nil, time.Unix(0, 0))
	want := []string{
		`Cache-Control member "max-age=soon" is not a number of seconds: the node takes it as 0`,
		`Cache-Control member "stale-if-error=1h" is not a number of seconds: the node takes it as 0`,
		`Vary member "a b" is not a header name: the node ignores it`,
	}
	if strings.Join(c.Problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems %q, want %q", c.Problems, want)
	}
	if len(c.Vary) != 1 || c.Vary[0] != "Origin" {
		t.Errorf("vary %q, want [Origin]", c.Vary)
	}
}
