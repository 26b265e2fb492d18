package origin

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
)

var mpdNow = time.Date(2026, 1, 1, 0, 0, 20, 0, time.UTC)

const staticNumberMPD = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT9S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <BaseURL>media/</BaseURL>
  <Period id="p0">
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <SegmentTemplate timescale="1000" duration="2000" startNumber="0" initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number%03d$.m4s"/>
      <Representation id="low" bandwidth="150000" codecs="avc1.4d401f"/>
      <Representation id="high" bandwidth="800000"><BaseURL>../hd/</BaseURL></Representation>
    </AdaptationSet>
    <AdaptationSet mimeType="audio/mp4">
      <Representation id="a" bandwidth="64000">
        <SegmentTemplate timescale="48000" duration="96000" media="a/$Number$.m4s?x=$Bandwidth$" initialization="a/init.mp4"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`

const dynamicNumberMPD = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="2026-01-01T00:00:00Z" minimumUpdatePeriod="PT4S" timeShiftBufferDepth="PT6S">
  <Period id="live" start="PT0S">
    <AdaptationSet contentType="video">
      <SegmentTemplate duration="2" startNumber="100" initialization="$RepresentationID$/i.mp4" media="$RepresentationID$/$Number$.m4s"/>
      <Representation id="v" bandwidth="400000"/>
    </AdaptationSet>
  </Period>
</MPD>`

const timelineMPD = `<MPD type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z" minimumUpdatePeriod="PT1S" publishTime="2026-01-01T00:00:20Z">
  <Period id="1">
    <AdaptationSet mimeType="video/mp4">
      <SegmentTemplate timescale="90000" startNumber="7" media="v/$Time$.m4s" initialization="v/init-$RepresentationID$.mp4">
        <SegmentTimeline>
          <S t="900000" d="180000" r="2"/>
          <S d="90000"/>
          <S t="1530000" d="180000" r="-1"/>
          <S t="2070000" d="180000"/>
        </SegmentTimeline>
      </SegmentTemplate>
      <Representation id="v1" bandwidth="1"/>
    </AdaptationSet>
  </Period>
</MPD>`

const segmentBaseMPD = `<MPD type="static" mediaPresentationDuration="PT16S">
  <Period>
    <AdaptationSet mimeType="video/mp4">
      <Representation id="1" bandwidth="500000">
        <BaseURL>https://cdn.example.com/streams/vod/video.mp4</BaseURL>
        <SegmentBase indexRange="800-1000"><Initialization range="0-799"/></SegmentBase>
      </Representation>
      <Representation id="2" bandwidth="900000">
        <BaseURL>https://elsewhere.example.net/video.mp4</BaseURL>
        <SegmentBase indexRange="800-1000"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`

const segmentListMPD = `<MPD type="static" mediaPresentationDuration="PT4S">
  <Period>
    <AdaptationSet mimeType="audio/mp4">
      <Representation id="en" bandwidth="64000">
        <SegmentList timescale="10" duration="20" startNumber="3">
          <Initialization sourceURL="en/init.mp4"/>
          <SegmentURL media="en/3.m4s"/>
          <SegmentURL media="//cdn.example.com/streams/en/4.m4s"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`

// cdnMapper maps https://cdn.example.com/streams/... to /s/...
func cdnMapper(scheme, host, path string) (string, bool) {
	if host != "cdn.example.com" || !strings.HasPrefix(path, "/streams/") {
		return "", false
	}
	return "/s/" + strings.TrimPrefix(path, "/streams/"), true
}

func TestParseMPD(t *testing.T) {
	type rep struct {
		id, ctype, init, initRange, indexRange string
		segs                                   []string
		start                                  uint64
		dur                                    time.Duration
	}
	for _, tc := range []struct {
		name, path, body string
		dynamic          bool
		reps             []rep
	}{
		{"static $Number$ with a format tag, BaseURL chain, inheritance", "/vod/x.mpd", staticNumberMPD, false, []rep{
			{id: "low", ctype: "video", init: "/vod/media/low/init.mp4", segs: []string{"/vod/media/low/000.m4s", "/vod/media/low/001.m4s", "/vod/media/low/002.m4s", "/vod/media/low/003.m4s", "/vod/media/low/004.m4s"}, start: 0, dur: 10 * time.Second},
			{id: "high", ctype: "video", init: "/vod/hd/high/init.mp4", segs: []string{"/vod/hd/high/000.m4s", "/vod/hd/high/001.m4s", "/vod/hd/high/002.m4s", "/vod/hd/high/003.m4s", "/vod/hd/high/004.m4s"}, start: 0, dur: 10 * time.Second},
			{id: "a", ctype: "audio", init: "/vod/media/a/init.mp4", segs: []string{"/vod/media/a/1.m4s?x=64000", "/vod/media/a/2.m4s?x=64000", "/vod/media/a/3.m4s?x=64000", "/vod/media/a/4.m4s?x=64000", "/vod/media/a/5.m4s?x=64000"}, start: 1, dur: 10 * time.Second},
		}},
		// 20 s after availabilityStartTime: segments 0..9 are complete; a
		// 6 s window keeps the last three.
		{"dynamic $Number$: the window as of now", "/live/l.mpd", dynamicNumberMPD, true, []rep{
			{id: "v", ctype: "video", init: "/live/v/i.mp4", segs: []string{"/live/v/107.m4s", "/live/v/108.m4s", "/live/v/109.m4s"}, start: 107, dur: 6 * time.Second},
		}},
		// r=2: three segments; then one of 1 s; r=-1 repeats up to the next S@t.
		{"SegmentTimeline $Time$ with r and r=-1", "/t/m.mpd", timelineMPD, true, []rep{
			{id: "v1", ctype: "video", init: "/t/v/init-v1.mp4", segs: []string{"/t/v/900000.m4s", "/t/v/1080000.m4s", "/t/v/1260000.m4s", "/t/v/1440000.m4s",
				"/t/v/1530000.m4s", "/t/v/1710000.m4s", "/t/v/1890000.m4s", "/t/v/2070000.m4s"}, start: 7, dur: 15 * time.Second},
		}},
		{"SegmentBase: the media file with byte ranges; foreign hosts skipped", "/vod/sb.mpd", segmentBaseMPD, false, []rep{
			{id: "1", ctype: "video", init: "/s/vod/video.mp4", initRange: "0-799", indexRange: "800-1000", segs: []string{"/s/vod/video.mp4"}},
		}},
		{"SegmentList with a network-path reference", "/a/l.mpd", segmentListMPD, false, []rep{
			{id: "en", ctype: "audio", init: "/a/en/init.mp4", segs: []string{"/a/en/3.m4s", "/s/en/4.m4s"}, start: 3, dur: 4 * time.Second},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := ParseMPD(tc.path, []byte(tc.body), cdnMapper, mpdNow)
			if err != nil {
				t.Fatal(err)
			}
			if info.Dynamic != tc.dynamic {
				t.Errorf("Dynamic = %v", info.Dynamic)
			}
			if len(info.Representations) != len(tc.reps) {
				t.Fatalf("%d representations, want %d: %+v", len(info.Representations), len(tc.reps), info.Representations)
			}
			for i, w := range tc.reps {
				g := info.Representations[i]
				got := rep{id: g.ID, ctype: g.ContentType, init: g.Init, initRange: g.InitRange, indexRange: g.IndexRange, segs: g.Segments, start: g.StartNumber, dur: g.Duration}
				if w.start == 0 && g.IndexRange != "" {
					got.start = 0
				}
				if got.id != w.id || got.ctype != w.ctype || got.init != w.init || got.initRange != w.initRange || got.indexRange != w.indexRange ||
					!slices.Equal(got.segs, w.segs) || got.start != w.start || (w.dur != 0 && got.dur != w.dur) {
					t.Errorf("representation %d:\n got %+v\nwant %+v", i, got, w)
				}
			}
		})
	}
}

func TestParseMPDRefusesMalformed(t *testing.T) {
	deep := "<MPD>" + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + "</MPD>"
	for _, tc := range []struct{ name, body, want string }{
		{"not XML", "#EXTM3U\n", "mpd:"},
		{"another root", `<html></html>`, "root element is <html>"},
		{"bad type", `<MPD type="live"><Period/></MPD>`, "MPD@type"},
		{"dynamic without availabilityStartTime", `<MPD type="dynamic"><Period/></MPD>`, "availabilityStartTime"},
		{"bad duration", `<MPD mediaPresentationDuration="10s"><Period/></MPD>`, "mediaPresentationDuration"},
		{"no Period", `<MPD/>`, "no Period"},
		{"unknown identifier", `<MPD mediaPresentationDuration="PT4S"><Period><AdaptationSet><SegmentTemplate duration="2" media="$Foo$.m4s"/><Representation id="1"/></AdaptationSet></Period></MPD>`, "$Foo$"},
		{"unterminated identifier", `<MPD mediaPresentationDuration="PT4S"><Period><AdaptationSet><SegmentTemplate duration="2" media="$Number.m4s"/><Representation id="1"/></AdaptationSet></Period></MPD>`, "unterminated"},
		{"Representation without id", `<MPD><Period><AdaptationSet><Representation/></AdaptationSet></Period></MPD>`, "without @id"},
		{"S without d", `<MPD><Period duration="PT2S"><AdaptationSet><SegmentTemplate media="$Time$"><SegmentTimeline><S t="0"/></SegmentTimeline></SegmentTemplate><Representation id="1"/></AdaptationSet></Period></MPD>`, "@d"},
		{"template without timing", `<MPD><Period><AdaptationSet><SegmentTemplate media="$Number$.m4s"/><Representation id="1"/></AdaptationSet></Period></MPD>`, "neither @duration nor SegmentTimeline"},
		{"nested too deep", deep, "nested deeper"},
		{"two roots", `<MPD><Period/></MPD><MPD/>`, "more than one root"},
		{"not UTF-8", `<?xml version="1.0" encoding="ISO-8859-1"?><MPD><Period/></MPD>`, "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMPD("/x.mpd", []byte(tc.body), nil, mpdNow)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one that says %q", err, tc.want)
			}
		})
	}
}

func TestMPDTTL(t *testing.T) {
	cfg := DefaultConfig().TTL
	parse := func(body string) *MPDInfo {
		t.Helper()
		info, err := ParseMPD("/x.mpd", []byte(body), nil, mpdNow)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	for _, tc := range []struct {
		name string
		info *MPDInfo
		cc   string
		want time.Duration
		rule string
	}{
		{"static: vod_playlist under a long max-age", parse(staticNumberMPD), "max-age=999999999", cfg.VODPlaylist, "upstream.ttl.vod_playlist"},
		{"dynamic: half the minimumUpdatePeriod", parse(dynamicNumberMPD), "max-age=60", 2 * time.Second, "minimumUpdatePeriod/2"},
		{"the origin's shorter freshness stands", parse(dynamicNumberMPD), "max-age=1", time.Second, ""},
		{"dynamic without minimumUpdatePeriod: half a segment", parse(strings.Replace(dynamicNumberMPD, `minimumUpdatePeriod="PT4S"`, "", 1)), "max-age=60", time.Second, "target_duration/2"},
		{"not started yet: until availabilityStartTime", parse(strings.Replace(dynamicNumberMPD, "2026-01-01T00:00:00Z", "2026-01-01T00:00:21.5Z", 1)), "max-age=60", 1500 * time.Millisecond, "availability time"},
		{"static ending soon: until availabilityEndTime", parse(strings.Replace(staticNumberMPD, `type="static"`, `type="static" availabilityEndTime="2026-01-01T00:01:00Z"`, 1)), "max-age=999999", 40 * time.Second, "availability time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := []cache.Header{{Name: "Cache-Control", Value: tc.cc}}
			kind := cache.KindVODPlaylist
			if tc.info.Dynamic {
				kind = cache.KindLivePlaylist
			}
			p := decideAt(cfg, hs, "", 200, false, media{kind: kind, mpd: tc.info}, func() time.Time { return mpdNow })
			if !p.store || p.ttl != tc.want || (tc.rule != "" && ruleNames[p.rule] != tc.rule) {
				t.Fatalf("store %v, TTL %v by %q; want %v by %q", p.store, p.ttl, ruleNames[p.rule], tc.want, tc.rule)
			}
		})
	}
}

func TestParseXSDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT2S": 2 * time.Second, "PT0.5S": 500 * time.Millisecond, "PT1H2M3S": time.Hour + 2*time.Minute + 3*time.Second,
		"P1DT1S": 24*time.Hour + time.Second, "PT0S": 0, "P0D": 0,
	} {
		if got, err := parseXSDuration(in); err != nil || got != want {
			t.Errorf("parseXSDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "2S", "PT2", "PTS", "P1H", "PT1D", "-PT1S", "PT1.2.3S", "PT1ST", "P99999999999Y"} {
		if got, err := parseXSDuration(in); err == nil {
			t.Errorf("parseXSDuration(%q) = %v, want an error", in, got)
		}
	}
}

// FuzzParseMPD checks that no manifest crashes the parser or makes it list
// more than the bound, and that whatever it lists is a public path.
func FuzzParseMPD(f *testing.F) {
	for _, s := range []string{staticNumberMPD, dynamicNumberMPD, timelineMPD, segmentBaseMPD, segmentListMPD} {
		f.Add(s)
	}
	if demo, err := filepath.Glob(filepath.Join("demo", "media", "dash", "*.mpd")); err == nil {
		for _, p := range demo {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(string(b))
			}
		}
	}
	f.Fuzz(func(t *testing.T, body string) {
		info, err := ParseMPD("/f/x.mpd", []byte(body), cdnMapper, mpdNow)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mpd: ") {
				t.Fatalf("error %q does not say it is about the MPD", err)
			}
			return
		}
		n := 0
		for _, r := range info.Representations {
			n += len(r.Segments)
			for _, u := range append(slices.Clip(r.Segments), r.Init) {
				if u != "" && !strings.HasPrefix(u, "/") {
					t.Fatalf("listed %q, not a public path", u)
				}
			}
		}
		if n > maxPlaylistURIs {
			t.Fatalf("%d URIs listed", n)
		}
		if ttl, _ := mpdTTL(DefaultConfig().TTL, info, mpdNow); ttl < 0 {
			t.Fatalf("TTL %v", ttl)
		}
	})
}

// A DASH manifest fetched through the client: a swarm per Representation
// named from the manifest's content key, its segments and init segment
// under the node's key rules (rewrites included), the live window, the
// MPD's TTL bound, and a 304 revalidation that lists the segments anew.
func TestFetchMPD(t *testing.T) {
	const mpd = `<MPD type="dynamic" availabilityStartTime="2026-01-01T00:00:00Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT4S">
<Period><AdaptationSet contentType="video"><SegmentTemplate duration="2" startNumber="0" initialization="$RepresentationID$/init.mp4" media="s-TOKEN/$RepresentationID$/$Number$.m4s"/>
<Representation id="v 1" bandwidth="1"/></AdaptationSet></Period></MPD>`
	o := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/dash+xml")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"m1"`)
		if r.Header.Get("If-None-Match") == `"m1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, strings.ReplaceAll(mpd, "TOKEN", r.URL.Query().Get("t")))
	})
	c := newTestClient(t, func(cfg *Config) {
		cfg.Key.Rewrites = []Rewrite{{Match: "/s-[a-z0-9]+/", Replace: "/"}}
	}, Route{Prefix: "/tv/", URL: o.URL + "/streams/"})
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	c.now = func() time.Time { return now }
	req := &cache.Request{Path: "/tv/live.mpd", RawQuery: "t=abc", ContentKey: "/tv/live.mpd"}
	obj, _ := fetchAll(t, c, req)
	if obj.Kind != cache.KindLivePlaylist || obj.TTL != time.Second {
		t.Fatalf("kind %v TTL %v; want live, 1 s (half the minimumUpdatePeriod)", obj.Kind, obj.TTL)
	}
	want := []cache.SwarmMedia{{Swarm: "/tv/live.mpd#v%201", MediaSequence: 3,
		Media: []string{"/tv/v%201/3.m4s", "/tv/v%201/4.m4s"}, Init: []string{"/tv/v%201/init.mp4"}}}
	if !reflect.DeepEqual(obj.Swarms, want) {
		t.Fatalf("swarms %+v\nwant   %+v", obj.Swarms, want)
	}
	if w := []string{"/tv/v%201/init.mp4", "/tv/v%201/3.m4s", "/tv/v%201/4.m4s"}; !reflect.DeepEqual(obj.Window, w) {
		t.Errorf("window %q, want %q", obj.Window, w)
	}
	// Revalidated 4 s later: the same document lists two more segments.
	now = now.Add(4 * time.Second)
	body := []byte(strings.ReplaceAll(mpd, "TOKEN", "abc"))
	obj2, err := c.Fetch(context.Background(), &cache.Request{Path: req.Path, RawQuery: req.RawQuery, ContentKey: req.ContentKey,
		StoredHeader: obj.Header, StoredBody: body, StoredStatus: 200})
	if err != nil {
		t.Fatal(err)
	}
	if obj2.Status != http.StatusNotModified || len(obj2.Swarms) != 1 || obj2.Swarms[0].MediaSequence != 5 {
		t.Fatalf("revalidated: status %d, swarms %+v", obj2.Status, obj2.Swarms)
	}
}
