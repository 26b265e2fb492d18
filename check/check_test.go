package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/origin"
)

// scripted is an HLS origin for the tests: a master playlist with two
// renditions, each a live or VOD media playlist of Segments segments.
type scripted struct {
	Segments    int
	Duration    float64 // seconds per segment
	SegmentSize int
	VOD         bool
	// Headers set on every response of a kind: "master", "media", "segment".
	Headers map[string]http.Header
	// NoCORS leaves out Access-Control-Allow-Origin.
	NoCORS bool
	// SessionDir puts a new token per master fetch in the media playlists'
	// path: /s/<token>/low/index.m3u8, segments relative to it.
	SessionDir bool
	// FileToken puts a new token per media playlist fetch inside the
	// segment file names: seg-<token>-12.ts.
	FileToken bool
	// QueryToken appends ?token=<n> per media playlist fetch.
	QueryToken bool
	// DASH serves an MPD at the master URL.
	DASH bool
	// TwoTokens puts a per-fetch token in two path parts of each segment.
	TwoTokens bool
	// Garbage serves a master playlist that is not HLS.
	Garbage bool
	// MissingSegments answers 404 for segments.
	MissingSegments bool

	fetches atomic.Int64
}

func (s *scripted) token() string {
	return fmt.Sprintf("%08x", uint32(s.fetches.Add(1))*2654435761)
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "nope") {
		http.NotFound(w, r)
		return
	}
	kind := "segment"
	switch {
	case strings.HasSuffix(r.URL.Path, "master.m3u8"), strings.HasSuffix(r.URL.Path, ".mpd"):
		kind = "master"
	case strings.HasSuffix(r.URL.Path, ".m3u8"):
		kind = "media"
	}
	for k, v := range s.Headers[kind] {
		w.Header()[k] = v
	}
	if !s.NoCORS && w.Header().Get("Access-Control-Allow-Origin") == "" {
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	switch kind {
	case "master":
		if s.Garbage {
			fmt.Fprint(w, "<html>not a playlist</html>")
			return
		}
		if s.DASH {
			// Two Representations of Segments segments each, numbered
			// from 100 as the HLS playlists are.
			w.Header().Set("Content-Type", "application/dash+xml")
			name := "seg$Number$.m4s"
			if s.FileToken {
				name = "seg-" + s.token() + "-$Number$.m4s"
			}
			fmt.Fprintf(w, `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT%.3fS">
<Period><AdaptationSet contentType="video"><SegmentTemplate timescale="1000" duration="%d" startNumber="100" initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/%s"/>
<Representation id="low" bandwidth="800000"/><Representation id="high" bandwidth="2000000"/></AdaptationSet></Period></MPD>`,
				float64(s.Segments)*s.Duration, int(s.Duration*1000), name)
			return
		}
		dir := "/live/"
		if s.SessionDir {
			dir = "/s/" + s.token() + "/"
		}
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		fmt.Fprintf(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n%slow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\n%shigh/index.m3u8\n", dir, dir)
	case "media":
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		var b strings.Builder
		fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:100\n", int(s.Duration+0.999))
		tok := s.token()
		for i := range s.Segments {
			name := fmt.Sprintf("seg%d.ts", 100+i)
			if s.FileToken {
				name = fmt.Sprintf("seg-%s-%d.ts", tok, 100+i)
			}
			if s.TwoTokens {
				name = fmt.Sprintf("%s/x/%s/seg%d.ts", tok, tok, 100+i)
			}
			if s.QueryToken {
				name += "?token=" + tok
			}
			fmt.Fprintf(&b, "#EXTINF:%.3f,\n%s\n", s.Duration, name)
		}
		if s.VOD {
			b.WriteString("#EXT-X-ENDLIST\n")
		}
		fmt.Fprint(w, b.String())
	default:
		if s.MissingSegments {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "video/mp2t")
		w.Write(bytes.Repeat([]byte{0x47}, s.SegmentSize))
	}
}

func good() *scripted {
	return &scripted{Segments: 12, Duration: 6, SegmentSize: 600_000, Headers: map[string]http.Header{
		"master":  {"Cache-Control": {"max-age=300"}},
		"media":   {"Cache-Control": {"max-age=2"}},
		"segment": {"Cache-Control": {"public, max-age=86400"}, "Etag": {`"x"`}},
	}}
}

func run(t testing.TB, s *scripted, cfg Config, path string, opts ...Option) *Report {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	t.Cleanup(client.CloseIdleConnections)
	c, err := New(client, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Check(context.Background(), srv.URL+path)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func codes(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, string(f.Severity)+":"+f.Code)
	}
	for _, rd := range r.Renditions {
		for _, f := range rd.Findings {
			out = append(out, string(f.Severity)+":"+f.Code)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func withPage(o string) Config {
	c := DefaultConfig()
	c.PageOrigin = o
	return c
}

func TestCheckFindings(t *testing.T) {
	tests := []struct {
		name    string
		origin  func() *scripted
		cfg     Config
		path    string
		verdict Verdict
		codes   []string
	}{
		{name: "a stream fit for P2P", origin: good, cfg: withPage("https://www.example.com"), verdict: VerdictOK},
		{name: "short window, few segments", origin: func() *scripted { s := good(); s.Segments, s.Duration = 4, 4; return s },
			verdict: VerdictWarnings, codes: []string{"warning:few-segments", "warning:playlist-short"}},
		{name: "large segments", origin: func() *scripted { s := good(); s.SegmentSize = 1_200_000; return s },
			verdict: VerdictWarnings, codes: []string{"warning:segment-too-large"}},
		{name: "no-store segments", origin: func() *scripted {
			s := good()
			s.Headers["segment"] = http.Header{"Cache-Control": {"no-store"}}
			return s
		}, verdict: VerdictWarnings, codes: []string{"warning:segment-not-cacheable"}},
		{name: "private playlists", origin: func() *scripted {
			s := good()
			s.Headers["media"] = http.Header{"Cache-Control": {"private, max-age=2"}}
			return s
		}, verdict: VerdictWarnings, codes: []string{"warning:playlist-not-cacheable"}},
		{name: "no-store master playlist", origin: func() *scripted {
			s := good()
			s.Headers["master"] = http.Header{"Cache-Control": {"no-store"}}
			return s
		}, verdict: VerdictWarnings, codes: []string{"warning:master-not-cacheable"}},
		{name: "no-cache is store and revalidate, not a problem", origin: func() *scripted {
			s := good()
			s.Headers["media"] = http.Header{"Cache-Control": {"no-cache"}, "Etag": {`"p"`}}
			s.Headers["segment"] = http.Header{"Cache-Control": {"no-cache"}, "Etag": {`"s"`}}
			return s
		}, verdict: VerdictOK},
		{name: "segments with Set-Cookie", origin: func() *scripted {
			s := good()
			s.Headers["segment"] = http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"sid=1"}}
			return s
		}, verdict: VerdictWarnings, codes: []string{"warning:segment-not-shared"}},
		{name: "segments vary on cookie", origin: func() *scripted {
			s := good()
			s.Headers["segment"] = http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Cookie"}}
			return s
		}, verdict: VerdictWarnings, codes: []string{"warning:segment-vary"}},
		{name: "no CORS for the page", origin: func() *scripted { s := good(); s.NoCORS = true; return s },
			cfg: withPage("https://www.example.com"), verdict: VerdictNoP2P,
			codes: []string{"error:playlist-cors", "error:segment-cors"}},
		{name: "CORS for another page", origin: func() *scripted {
			s := good()
			for _, k := range []string{"master", "media", "segment"} {
				s.Headers[k].Set("Access-Control-Allow-Origin", "https://other.example.com")
			}
			return s
		}, cfg: withPage("https://www.example.com"), verdict: VerdictNoP2P,
			codes: []string{"error:playlist-cors", "error:segment-cors"}},
		{name: "CORS echo without Vary: Origin", origin: func() *scripted {
			s := good()
			for _, k := range []string{"master", "media"} {
				s.Headers[k].Set("Access-Control-Allow-Origin", "https://www.example.com")
			}
			return s
		}, cfg: withPage("https://www.example.com"), verdict: VerdictWarnings, codes: []string{"warning:cors-vary"}},
		{name: "CORS not checked without a page origin", origin: func() *scripted { s := good(); s.NoCORS = true; return s },
			verdict: VerdictOK},
		{name: "query tokens need no rewrite", origin: func() *scripted { s := good(); s.QueryToken = true; return s },
			verdict: VerdictOK, codes: []string{"info:query-differs"}},
		{name: "DASH: each Representation checked like a rendition", origin: func() *scripted { s := good(); s.DASH = true; return s },
			path: "/live/stream.mpd", verdict: VerdictOK},
		{name: "DASH with per-viewer tokens in segment names", origin: func() *scripted { s := good(); s.DASH = true; s.FileToken = true; return s },
			path: "/live/stream.mpd", verdict: VerdictNoP2P, codes: []string{"error:key-rewrite-needed"}},
		{name: "DASH manifest without Representations", origin: func() *scripted { s := good(); s.DASH = true; s.Segments = 0; return s },
			path: "/live/stream.mpd", verdict: VerdictNoP2P, codes: []string{"error:no-segments"}},
		{name: "a short DASH window", origin: func() *scripted { s := good(); s.DASH = true; s.Segments = 4; return s },
			path: "/live/stream.mpd", verdict: VerdictWarnings, codes: []string{"warning:few-segments", "warning:playlist-short"}},
		{name: "tokens in two path parts: no single rule", origin: func() *scripted { s := good(); s.TwoTokens = true; return s },
			verdict: VerdictNoP2P, codes: []string{"error:key-differs"}},
		{name: "segments missing", origin: func() *scripted { s := good(); s.MissingSegments = true; return s },
			verdict: VerdictNoP2P, codes: []string{"error:segment-unreachable"}},
		{name: "not a playlist", origin: func() *scripted { s := good(); s.Garbage = true; return s },
			verdict: VerdictNoP2P, codes: []string{"error:master-malformed"}},
		{name: "master missing", origin: good, path: "/nope.m3u8", verdict: VerdictNoP2P, codes: []string{"error:master-unreachable"}},
		{name: "a media playlist given directly", origin: good, path: "/live/low/index.m3u8", verdict: VerdictOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Samples == 0 {
				cfg = DefaultConfig()
			}
			path := tt.path
			if path == "" {
				path = "/live/master.m3u8"
			}
			rep := run(t, tt.origin(), cfg, path)
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s\n%s", rep.Verdict, tt.verdict, text.String())
			}
			if got := codes(rep); !slices.Equal(got, tt.codes) {
				t.Errorf("findings %q, want %q\n%s", got, tt.codes, text.String())
			}
			if tt.verdict != VerdictOK && len(rep.Reasons) == 0 {
				t.Errorf("verdict %s without reasons", rep.Verdict)
			}
		})
	}
}

func TestCheckDASHMeasures(t *testing.T) {
	s := good()
	s.DASH = true
	rep := run(t, s, DefaultConfig(), "/live/stream.mpd")
	if len(rep.Renditions) != 2 || rep.Renditions[0].Representation != "low" || rep.Renditions[1].Representation != "high" {
		t.Fatalf("renditions %+v, want the two Representations", rep.Renditions)
	}
	if c := rep.Master.Cache; !c.Stored || c.Source == "" {
		t.Errorf("manifest cache %+v", c)
	}
	for _, rd := range rep.Renditions {
		if rd.Kind != "vod" || rd.Segments != 12 || rd.LengthSeconds != 72 || rd.TargetDuration != 6 || rd.ContentType != "video" {
			t.Errorf("%s: %s, %d segments, %.1f s, segment %.0f s, %q; want vod, 12, 72 s, 6 s, video", rd.Representation, rd.Kind, rd.Segments, rd.LengthSeconds, rd.TargetDuration, rd.ContentType)
		}
		// The init segment, then first, middle and last.
		want := []string{"/init.mp4", "/seg100.m4s", "/seg105.m4s", "/seg111.m4s"}
		if len(rd.Samples) != len(want) {
			t.Fatalf("%s: %d samples, want %d", rd.Representation, len(rd.Samples), len(want))
		}
		for i, s := range rd.Samples {
			if !strings.HasSuffix(s.URL, "/"+rd.Representation+want[i]) {
				t.Errorf("sample %d is %s, want %s", i, s.URL, want[i])
			}
		}
		if rd.Keys.Compared != 12 || rd.Keys.Differing != 0 {
			t.Errorf("keys %+v, want 12 compared, none differing", rd.Keys)
		}
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "representation 1: low (video)") {
		t.Errorf("text report:\n%s", text.String())
	}
}

func TestCheckMeasures(t *testing.T) {
	rep := run(t, good(), DefaultConfig(), "/live/master.m3u8")
	if len(rep.Renditions) != 2 {
		t.Fatalf("%d renditions, want 2", len(rep.Renditions))
	}
	for _, rd := range rep.Renditions {
		if rd.Kind != "live" || rd.Segments != 12 || rd.LengthSeconds != 72 || rd.TargetDuration != 6 {
			t.Errorf("%s: %s, %d segments, %.1f s, target %.0f s; want live, 12, 72 s, 6 s", rd.Playlist.URL, rd.Kind, rd.Segments, rd.LengthSeconds, rd.TargetDuration)
		}
		if len(rd.Samples) != 3 || rd.MaxSegmentBytes != 600_000 {
			t.Errorf("%s: %d samples, max %d bytes; want 3 of 600000", rd.Playlist.URL, len(rd.Samples), rd.MaxSegmentBytes)
		}
		if want := []string{"/seg100.ts", "/seg105.ts", "/seg111.ts"}; len(rd.Samples) == 3 {
			for i, s := range rd.Samples {
				if !strings.HasSuffix(s.URL, want[i]) {
					t.Errorf("sample %d is %s, want first, middle and last", i, s.URL)
				}
			}
		}
		if c := rd.Samples[0].Cache; !c.Stored || !c.Shared || c.FreshSeconds != 86400 || c.Source != "max-age" {
			t.Errorf("segment cache %+v, want stored, shared, fresh a day by max-age", c)
		}
		if rd.Keys.Compared != 12 || rd.Keys.Differing != 0 {
			t.Errorf("keys %+v, want 12 compared, none differing", rd.Keys)
		}
	}
}

// TestCheckJudgesAsTheNode: playlists are judged with what the node's
// parser reads from them (its media TTLs bound the origin's freshness),
// and WithTTL gives the node's upstream.ttl.
func TestCheckJudgesAsTheNode(t *testing.T) {
	s := good()
	s.Headers["segment"] = http.Header{"Etag": {`"x"`}}
	ttl := origin.DefaultConfig().TTL
	ttl.Segment = 10 * time.Second
	rep := run(t, s, DefaultConfig(), "/live/master.m3u8", WithTTL(ttl))
	if c := rep.Master.Cache; !c.Stored || c.FreshSeconds != 2 || c.Source != "upstream.ttl.master_playlist" {
		t.Errorf("master playlist (max-age=300) %+v, want fresh 2 s by upstream.ttl.master_playlist", c)
	}
	for _, rd := range rep.Renditions {
		if c := rd.Playlist.Cache; !c.Stored || c.FreshSeconds != 2 || c.Source != "max-age" {
			t.Errorf("live playlist (max-age=2, target 6 s) %+v, want fresh 2 s by max-age", c)
		}
		if c := rd.Samples[0].Cache; !c.Stored || c.FreshSeconds != 10 || c.Source != "upstream.ttl.segment" || c.Revalidate {
			t.Errorf("segment without freshness %+v, want fresh 10 s by upstream.ttl.segment", c)
		}
	}
	if rep.Verdict != VerdictOK {
		t.Errorf("verdict %s %q, want ok", rep.Verdict, rep.Reasons)
	}
}

// TestCheckSessionTokenRewrite: an origin that puts a per-session token in
// the path. The checker must say P2P will not work, and the rule it gives,
// applied by the node's key code, must make two viewers' URLs for one
// segment a single key while different segments keep different keys.
func TestCheckSessionTokenRewrite(t *testing.T) {
	tests := []struct {
		name   string
		origin func() *scripted
		match  string
	}{
		{"token directory from the master playlist", func() *scripted { s := good(); s.SessionDir = true; return s }, `^/s/[^/]+/`},
		{"token inside the file name", func() *scripted { s := good(); s.FileToken = true; return s }, `^/live/low/seg-[a-z0-9]+`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.origin()
			rep := run(t, s, DefaultConfig(), "/live/master.m3u8")
			if rep.Verdict != VerdictNoP2P || !slices.Contains(codes(rep), "error:key-rewrite-needed") {
				t.Fatalf("verdict %s, findings %q; want P2P will not work with key-rewrite-needed", rep.Verdict, codes(rep))
			}
			if len(rep.Rewrites) == 0 || rep.Rewrites[0].Match != tt.match {
				t.Fatalf("rewrites %+v, want the first to match %q", rep.Rewrites, tt.match)
			}
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), "    rewrites:\n      - {match: ") {
				t.Errorf("text lacks the rewrites block:\n%s", text.String())
			}

			// Two more viewers, fetched here without the checker.
			k, err := origin.NewKeyer(origin.KeyConfig{Rewrites: rep.Rewrites})
			if err != nil {
				t.Fatalf("the suggested rules are refused by the node: %v", err)
			}
			plain, _ := origin.NewKeyer(origin.KeyConfig{})
			srv := httptest.NewServer(s)
			defer srv.Close()
			viewerSegments := func() []*url.URL {
				base, _ := url.Parse(srv.URL + "/live/master.m3u8")
				_, body := get(t, base)
				master, err := origin.ParsePlaylist(base.Path, body)
				if err != nil {
					t.Fatal(err)
				}
				media, _ := base.Parse(master.Variants[0])
				_, body = get(t, media)
				info, err := origin.ParsePlaylist(media.Path, body)
				if err != nil {
					t.Fatal(err)
				}
				return resolveAll(media, info.Segments)
			}
			a, b := viewerSegments(), viewerSegments()
			if key(plain, a[0]) == key(plain, b[0]) {
				t.Fatalf("the origin did not tokenise: %s and %s", a[0], b[0])
			}
			seen := map[string]bool{}
			for i := range a {
				ka, kb := key(k, a[i]), key(k, b[i])
				if ka != kb {
					t.Errorf("segment %d: keys %q and %q differ after the rewrite", i, ka, kb)
				}
				if seen[ka] {
					t.Errorf("segment %d: key %q is shared with another segment", i, ka)
				}
				seen[ka] = true
			}
		})
	}
}

func get(t testing.TB, u *url.URL) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp, b.Bytes()
}

func TestReportJSON(t *testing.T) {
	s := good()
	s.SessionDir = true
	rep := run(t, s, withPage("https://www.example.com"), "/live/master.m3u8")
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Verdict    string `json:"verdict"`
		PageOrigin string `json:"page_origin"`
		Rewrites   []struct{ Match, Replace string }
		Renditions []struct {
			Segments int `json:"segments"`
			Keys     struct {
				Verified bool `json:"verified"`
			} `json:"keys"`
			Playlist struct {
				CORS struct {
					OK bool `json:"ok"`
				} `json:"cors"`
			} `json:"playlist"`
		} `json:"renditions"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != "p2p-will-not-work" || back.PageOrigin != "https://www.example.com" ||
		len(back.Rewrites) != 1 || back.Rewrites[0].Replace != "/s/" || len(back.Renditions) != 2 ||
		back.Renditions[0].Segments != 12 || !back.Renditions[0].Keys.Verified || !back.Renditions[0].Playlist.CORS.OK {
		t.Errorf("JSON does not carry the report: %s", b)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"page origin with a path": func(c *Config) { c.PageOrigin = "https://www.example.com/player" },
		"page origin not http":    func(c *Config) { c.PageOrigin = "ftp://example.com" },
		"page origin no host":     func(c *Config) { c.PageOrigin = "https://" },
		"no samples":              func(c *Config) { c.Samples = 0 },
		"tiny playlist bound":     func(c *Config) { c.MaxPlaylistBytes = 10 },
	} {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: %+v accepted", name, c)
		}
	}
	c := DefaultConfig()
	c.PageOrigin = "https://www.example.com:8443"
	if err := c.Validate(); err != nil {
		t.Errorf("good config: %v", err)
	}
	if _, err := New(nil, DefaultConfig()); err == nil {
		t.Error("New accepted a nil client")
	}
}

func TestCheckRejectsBadURL(t *testing.T) {
	c, err := New(http.DefaultClient, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"", "ftp://x/y.m3u8", "/live/master.m3u8", "http://"} {
		if _, err := c.Check(context.Background(), u); err == nil {
			t.Errorf("Check(%q) ran", u)
		}
	}
}
