package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/origin"
	"github.com/grafov/m3u8"
)

// Recommendations for P2P delivery. Peers share a segment only while it is
// in every viewer's window and only once it is whole, so a live window must
// hold several segments and a segment must be small enough to move between
// peers well before its playback time.
const (
	// MinWindow is the recommended playlist length.
	MinWindow = 30 * time.Second
	// MinSegments is the recommended number of segments in a playlist.
	MinSegments = 10
	// MaxSegmentBytes is the recommended upper bound of a segment's size.
	MaxSegmentBytes = 1_000_000
)

// Config configures a Checker.
type Config struct {
	// PageOrigin is the origin of the page that embeds the player
	// ("https://www.example.com"). Requests carry it as Origin, and the
	// responses' CORS headers are checked against it. Empty: CORS is not
	// checked.
	PageOrigin string `yaml:"page_origin" json:"page_origin"`
	// Samples is how many segments of each rendition are fetched for their
	// size and headers (first, last and evenly between). Default 3.
	Samples int `yaml:"samples" json:"samples"`
	// MaxPlaylistBytes bounds a playlist body. Default 8 MiB.
	MaxPlaylistBytes int64 `yaml:"max_playlist_bytes" json:"max_playlist_bytes"`
	// MaxSegmentBytes bounds how much of a sampled segment is read.
	// Default 64 MiB.
	MaxSegmentBytes int64 `yaml:"max_segment_bytes" json:"max_segment_bytes"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Samples: 3, MaxPlaylistBytes: 8 << 20, MaxSegmentBytes: 64 << 20}
}

// Validate checks c; messages name the key.
func (c Config) Validate() error {
	if c.PageOrigin != "" {
		u, err := url.Parse(c.PageOrigin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("page_origin %q: want scheme://host[:port], like https://www.example.com", c.PageOrigin)
		}
	}
	switch {
	case c.Samples < 1 || c.Samples > 100:
		return fmt.Errorf("samples %d: want between 1 and 100", c.Samples)
	case c.MaxPlaylistBytes < 1024:
		return fmt.Errorf("max_playlist_bytes %d: want at least 1024", c.MaxPlaylistBytes)
	case c.MaxSegmentBytes < 1024:
		return fmt.Errorf("max_segment_bytes %d: want at least 1024", c.MaxSegmentBytes)
	}
	return nil
}

// Checker checks streams. It is safe for concurrent use.
type Checker struct {
	client *http.Client
	cfg    Config
	ttl    origin.TTLConfig
	now    func() time.Time
}

// Option configures a Checker.
type Option func(*Checker)

// WithClock sets the clock used to judge Expires and Age (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(c *Checker) { c.now = now } }

// WithTTL sets the node's freshness rules the responses are judged by
// (its upstream.ttl; default origin.DefaultConfig().TTL).
func WithTTL(ttl origin.TTLConfig) Option { return func(c *Checker) { c.ttl = ttl } }

// New returns a Checker that fetches with client.
func New(client *http.Client, cfg Config, opts ...Option) (*Checker, error) {
	if client == nil {
		return nil, errors.New("check: nil http.Client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Checker{client: client, cfg: cfg, ttl: origin.DefaultConfig().TTL, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Verdict is the overall result.
type Verdict string

// Verdicts, from best to worst.
const (
	VerdictOK       Verdict = "ok"
	VerdictWarnings Verdict = "warnings"
	VerdictNoP2P    Verdict = "p2p-will-not-work"
)

// Severity of a finding.
type Severity string

// Severities. An error means P2P (or playback) will not work.
const (
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// Finding is one observation with its severity.
type Finding struct {
	Severity Severity `json:"severity"`
	// Code is a stable identifier ("segment-too-large", "cors-missing", ...).
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Report is the result of a check.
type Report struct {
	URL        string `json:"url"`
	PageOrigin string `json:"page_origin,omitempty"`
	// Master is the playlist at URL; for a media playlist given directly it
	// is that playlist and Renditions has one entry for it.
	Master     Response    `json:"master"`
	Renditions []Rendition `json:"renditions"`
	Findings   []Finding   `json:"findings,omitempty"` // about the stream as a whole
	Verdict    Verdict     `json:"verdict"`
	// Reasons are the messages of the findings that decided the verdict.
	Reasons []string `json:"reasons,omitempty"`
	// Rewrites are the key rewrite rules to add, all renditions together,
	// in upstream.key.rewrites form.
	Rewrites []origin.Rewrite `json:"rewrites,omitempty"`
}

// Response is what was learnt from one HTTP response.
type Response struct {
	URL         string `json:"url"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Bytes       int64  `json:"bytes"`
	// Cache is how the node would store the response; for a playlist, as
	// the node's parser read it (media TTLs).
	Cache Cacheability `json:"cache"`
	CORS  *CORS        `json:"cors,omitempty"` // nil when no page origin is set

	header   http.Header // the response's, for judgePlaylist
	received time.Time
}

// CORS is the check of a response's CORS headers for the page's origin.
type CORS struct {
	AllowOrigin      string `json:"allow_origin,omitempty"`
	AllowCredentials bool   `json:"allow_credentials,omitempty"`
	OK               bool   `json:"ok"`
	Message          string `json:"message"`
}

// Rendition is one media playlist and its segments, or one DASH
// Representation (Playlist is then the manifest).
type Rendition struct {
	Playlist Response `json:"playlist"`
	// Representation is the DASH Representation@id ("" for HLS), and
	// ContentType its "video", "audio" or "text".
	Representation string `json:"representation,omitempty"`
	ContentType    string `json:"content_type,omitempty"`
	// Kind is "live" (no EXT-X-ENDLIST) or "vod".
	Kind           string  `json:"kind"`
	Segments       int     `json:"segments"`
	LengthSeconds  float64 `json:"length_seconds"`
	TargetDuration float64 `json:"target_duration_seconds"`
	// Samples are the fetched segments.
	Samples []Response `json:"samples"`
	// MaxSegmentBytes is the largest sampled segment.
	MaxSegmentBytes int64 `json:"max_segment_bytes"`
	// Keys is the comparison of two fetches of the playlist.
	Keys     KeyCheck  `json:"keys"`
	Findings []Finding `json:"findings,omitempty"`
}

// KeyCheck compares the segment URLs of two fetches of one media playlist
// (each reached through its own fetch of the master playlist).
type KeyCheck struct {
	// Compared is how many segments both fetches listed under the same
	// media sequence number.
	Compared int `json:"compared"`
	// Differing is how many of those had different URLs.
	Differing int `json:"differing"`
	// Example is one pair of differing URLs.
	Example []string `json:"example,omitempty"`
	// QueryOnly: the URLs differ only in their query, which the default
	// content key drops.
	QueryOnly bool `json:"query_only,omitempty"`
	// Rewrite is the rule that makes the keys of both fetches equal, when
	// one could be derived.
	Rewrite *origin.Rewrite `json:"rewrite,omitempty"`
	// Verified: with Rewrite, the node's key code gives equal keys for the
	// same segment in both fetches and distinct keys for distinct segments.
	Verified bool `json:"verified,omitempty"`
}

// Check checks the stream whose master (or media) playlist is at rawURL.
// An error means the check could not run at all (bad URL, cancelled
// context); an unreachable or unusable stream is a Report with the verdict
// that says so.
func (c *Checker) Check(ctx context.Context, rawURL string) (*Report, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("check: %q is not an http(s) URL", rawURL)
	}
	rep := &Report{URL: u.String(), PageOrigin: c.cfg.PageOrigin}
	defer rep.decide()

	first, body, err := c.fetchPlaylist(ctx, u)
	rep.Master = first
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rep.add(Error, "master-unreachable", err.Error())
		return rep, nil
	}
	if isDASH(first.ContentType, body) {
		c.checkDASH(ctx, rep, first, body, u) // dash.go
		return rep, ctx.Err()
	}
	info, err := parse(u, body)
	if err != nil {
		rep.add(Error, "master-malformed", fmt.Sprintf("%s: %v", u, err))
		return rep, nil
	}
	c.judgePlaylist(&first, info)
	rep.Master = first
	if info.Kind != cache.KindMasterPlaylist {
		// A media playlist given directly: it is its own only rendition.
		r := c.rendition(ctx, first, body, info, u, u)
		rep.Renditions = append(rep.Renditions, r)
		rep.collectRewrites()
		return rep, ctx.Err()
	}
	c.judgeCORS(first, "master playlist", rep.add)
	if !first.Cache.Stored || !first.Cache.Shared {
		rep.add(Warning, "master-not-cacheable", "master playlist "+first.Cache.Summary+": every player start reaches the origin")
	}
	// The master playlist again, as a second viewer would get it, so that
	// per-session parts of the media playlists' URLs show.
	var second []*url.URL
	if _, body2, err := c.fetchPlaylist(ctx, u); err == nil {
		if info2, err := parse(u, body2); err == nil && info2.Kind == cache.KindMasterPlaylist {
			second = resolveAll(u, info2.Variants)
		}
	}
	variants := resolveAll(u, info.Variants)
	if len(variants) == 0 {
		rep.add(Error, "no-renditions", "the master playlist lists no media playlist")
		return rep, nil
	}
	for i, v := range variants {
		again := v
		if i < len(second) {
			again = second[i]
		}
		resp, body, err := c.fetchPlaylist(ctx, v)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r := Rendition{Playlist: resp}
			r.add(Error, "playlist-unreachable", err.Error())
			rep.Renditions = append(rep.Renditions, r)
			continue
		}
		minfo, err := parse(v, body)
		if err != nil || minfo.Kind == cache.KindMasterPlaylist {
			if err == nil {
				err = errors.New("a master playlist where a media playlist was expected")
			}
			r := Rendition{Playlist: resp}
			r.add(Error, "playlist-malformed", fmt.Sprintf("%s: %v", v, err))
			rep.Renditions = append(rep.Renditions, r)
			continue
		}
		c.judgePlaylist(&resp, minfo)
		rep.Renditions = append(rep.Renditions, c.rendition(ctx, resp, body, minfo, v, again))
	}
	rep.collectRewrites()
	return rep, ctx.Err()
}

// rendition checks one media playlist fetched from u (resp, body, info);
// again is where a second viewer would fetch it.
func (c *Checker) rendition(ctx context.Context, resp Response, body []byte, info *origin.PlaylistInfo, u, again *url.URL) Rendition {
	r := Rendition{Playlist: resp, Kind: "live", Segments: len(info.Segments), TargetDuration: info.TargetDuration.Seconds()}
	if info.Kind == cache.KindVODPlaylist {
		r.Kind = "vod"
	}
	r.LengthSeconds = playlistLength(body)
	c.judgeCORS(resp, "media playlist", r.add)
	if !resp.Cache.Stored || !resp.Cache.Shared {
		r.add(Warning, "playlist-not-cacheable", "media playlist "+resp.Cache.Summary+": every viewer's refresh reaches the origin")
	}
	for _, p := range resp.Cache.Problems {
		if strings.HasPrefix(p, "Vary:") {
			r.add(Warning, "playlist-vary", "media playlist: "+p)
		}
	}
	if len(info.Segments) == 0 {
		r.add(Error, "no-segments", "the media playlist lists no segment")
		return r
	}
	if r.LengthSeconds < MinWindow.Seconds() {
		r.add(Warning, "playlist-short", fmt.Sprintf("playlist length %.1f s: at least %.0f s is recommended for P2P (peers share a segment only while it is in their windows)", r.LengthSeconds, MinWindow.Seconds()))
	}
	if len(info.Segments) < MinSegments {
		r.add(Warning, "few-segments", fmt.Sprintf("%d segments in the playlist: at least %d are recommended for P2P", len(info.Segments), MinSegments))
	}

	segs := resolveAll(u, info.Segments)
	c.sample(ctx, &r, segs)
	// Two viewers' views of the playlist.
	if _, body2, err := c.fetchPlaylist(ctx, again); err == nil {
		if info2, err := parse(again, body2); err == nil && info2.Kind != cache.KindMasterPlaylist {
			c.judgeKeys(&r, info, resolveAll(again, info2.Segments), info2.MediaSequence, segs)
		}
	}
	return r
}

// sample fetches some of a rendition's segments (Config.Samples) and
// judges their sizes, caching and CORS.
func (c *Checker) sample(ctx context.Context, r *Rendition, segs []*url.URL) {
	var notStored, notShared, noCORS []string
	for _, i := range sampleIndexes(len(segs), c.cfg.Samples) {
		s, err := c.fetchSegment(ctx, segs[i])
		r.Samples = append(r.Samples, s)
		if err != nil {
			r.add(Error, "segment-unreachable", err.Error())
			continue
		}
		r.MaxSegmentBytes = max(r.MaxSegmentBytes, s.Bytes)
		if s.Cache.setCookie {
			notShared = append(notShared, s.Cache.Summary)
		} else if !s.Cache.Stored {
			notStored = append(notStored, s.Cache.Summary)
		}
		if s.CORS != nil && !s.CORS.OK {
			noCORS = append(noCORS, s.CORS.Message)
		}
		for _, p := range s.Cache.Problems {
			if strings.HasPrefix(p, "Vary:") {
				r.add(Warning, "segment-vary", "segment: "+p)
			}
		}
	}
	if r.MaxSegmentBytes >= MaxSegmentBytes {
		r.add(Warning, "segment-too-large", fmt.Sprintf("segments up to %s: below %s is recommended for P2P (shorter segments or a lower bitrate)", formatBytes(r.MaxSegmentBytes), formatBytes(MaxSegmentBytes)))
	}
	if len(notStored) > 0 {
		r.add(Warning, "segment-not-cacheable", "segments "+notStored[0]+": every viewer's request that peers do not serve reaches the origin")
	} else if len(notShared) > 0 {
		r.add(Warning, "segment-not-shared", "segments "+notShared[0])
	}
	if len(noCORS) > 0 {
		r.add(Error, "segment-cors", "segments: "+noCORS[0])
	}

}

// judgeKeys compares the segment URLs of two viewers' fetches of one
// rendition (second, numbered from secondSeq, against info's segs).
func (c *Checker) judgeKeys(r *Rendition, info *origin.PlaylistInfo, second []*url.URL, secondSeq uint64, segs []*url.URL) {
	r.Keys = compareKeys(info, second, secondSeq, segs)
	switch {
	case r.Keys.Differing == 0:
	case r.Keys.QueryOnly:
		r.add(Info, "query-differs", fmt.Sprintf("segment URLs differ between two fetches only in their query (%s vs %s): the content key drops the query by default, keep it that way", r.Keys.Example[0], r.Keys.Example[1]))
	case r.Keys.Rewrite != nil && r.Keys.Verified:
		r.add(Error, "key-rewrite-needed", fmt.Sprintf("segment URLs differ between two fetches in a path part (%s vs %s): viewers would never share a segment; add the key rewrite {match: %q, replace: %q} to upstream.key.rewrites", r.Keys.Example[0], r.Keys.Example[1], r.Keys.Rewrite.Match, r.Keys.Rewrite.Replace))
	default:
		r.add(Error, "key-differs", fmt.Sprintf("segment URLs differ between two fetches (%s vs %s) in a way no single rewrite rule covers: viewers would never share a segment; write upstream.key.rewrites by hand", r.Keys.Example[0], r.Keys.Example[1]))
	}
}

// fetchPlaylist GETs a playlist like a player (with the page's Origin).
func (c *Checker) fetchPlaylist(ctx context.Context, u *url.URL) (Response, []byte, error) {
	return c.fetch(ctx, u, c.cfg.MaxPlaylistBytes, true)
}

// fetchSegment GETs a segment and counts its bytes.
func (c *Checker) fetchSegment(ctx context.Context, u *url.URL) (Response, error) {
	r, _, err := c.fetch(ctx, u, c.cfg.MaxSegmentBytes, false)
	return r, err
}

func (c *Checker) fetch(ctx context.Context, u *url.URL, limit int64, keep bool) (Response, []byte, error) {
	r := Response{URL: u.String()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return r, nil, err
	}
	if c.cfg.PageOrigin != "" {
		req.Header.Set("Origin", c.cfg.PageOrigin)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return r, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	r.ContentType = resp.Header.Get("Content-Type")
	var body []byte
	if keep {
		var buf bytes.Buffer
		r.Bytes, err = io.Copy(&buf, io.LimitReader(resp.Body, limit+1))
		body = buf.Bytes()
	} else {
		r.Bytes, err = io.Copy(io.Discard, io.LimitReader(resp.Body, limit+1))
	}
	if err != nil {
		return r, nil, fmt.Errorf("GET %s: reading the body: %w", u, err)
	}
	r.header, r.received = resp.Header, c.now()
	r.Cache = cacheability(c.ttl, r.Status, r.header, nil, r.received)
	if c.cfg.PageOrigin != "" {
		r.CORS = c.cors(resp.Header, r.Cache.Vary)
	}
	if resp.StatusCode != http.StatusOK {
		return r, nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if r.Bytes > limit {
		return r, nil, fmt.Errorf("GET %s: larger than %s", u, formatBytes(limit))
	}
	return r, body, nil
}

// judgePlaylist judges a fetched playlist's caching again with what the
// node's parser read from it (master, VOD or live, target durations),
// which the node's media TTLs depend on.
func (c *Checker) judgePlaylist(r *Response, info *origin.PlaylistInfo) {
	r.Cache = cacheability(c.ttl, r.Status, r.header, info, r.received)
}

// cors checks the response's CORS headers for a simple GET from the page;
// vary is the node's reading of its Vary.
func (c *Checker) cors(h http.Header, vary []string) *CORS {
	acao := strings.TrimSpace(h.Get("Access-Control-Allow-Origin"))
	res := &CORS{AllowOrigin: acao, AllowCredentials: strings.EqualFold(h.Get("Access-Control-Allow-Credentials"), "true")}
	switch {
	case acao == "":
		res.Message = fmt.Sprintf("no Access-Control-Allow-Origin: a player on %s cannot read it", c.cfg.PageOrigin)
	case acao == "*":
		res.OK, res.Message = true, "Access-Control-Allow-Origin: *"
	case strings.EqualFold(strings.TrimRight(acao, "/"), strings.TrimRight(c.cfg.PageOrigin, "/")):
		res.OK, res.Message = true, "Access-Control-Allow-Origin: "+acao
		if !slices.Contains(vary, "Origin") {
			res.Message += " without Vary: Origin (a shared cache may hand this answer to a page on another origin)"
		}
	default:
		res.Message = fmt.Sprintf("Access-Control-Allow-Origin: %s does not allow %s", acao, c.cfg.PageOrigin)
	}
	return res
}

// judgeCORS adds a finding for a playlist's CORS result.
func (c *Checker) judgeCORS(r Response, what string, add func(Severity, string, string)) {
	if r.CORS == nil {
		return
	}
	if !r.CORS.OK {
		add(Error, "playlist-cors", what+": "+r.CORS.Message)
	} else if strings.Contains(r.CORS.Message, "without Vary") {
		add(Warning, "cors-vary", what+": "+r.CORS.Message)
	}
}

// parse reads a playlist with the node's own parser. Absolute URIs are
// kept as they are (the mapper hands them back whole), relative ones are
// resolved against u's path.
func parse(u *url.URL, body []byte) (*origin.PlaylistInfo, error) {
	keepAbsolute := func(scheme, host, path string) (string, bool) {
		if scheme == "" {
			return "//" + host + path, true
		}
		return scheme + "://" + host + path, true
	}
	return origin.ParsePlaylistWith(u.EscapedPath(), body, keepAbsolute)
}

// resolveAll resolves the parser's references against the playlist's URL.
func resolveAll(base *url.URL, refs []string) []*url.URL {
	out := make([]*url.URL, 0, len(refs))
	for _, ref := range refs {
		if u, err := base.Parse(ref); err == nil {
			out = append(out, u)
		}
	}
	return out
}

// playlistLength sums the EXTINF durations with the m3u8 package the
// node's parser uses; the body was already accepted by origin's parser.
func playlistLength(body []byte) (total float64) {
	defer func() {
		if recover() != nil {
			total = 0
		}
	}()
	pl, lt, err := m3u8.Decode(*bytes.NewBuffer(body), false)
	if err != nil || lt != m3u8.MEDIA {
		return 0
	}
	media, ok := pl.(*m3u8.MediaPlaylist)
	if !ok {
		return 0
	}
	for _, s := range media.GetAllSegments() {
		total += s.Duration
	}
	return total
}

// sampleIndexes picks up to n indexes of 0..count-1: the first, the last and
// evenly between.
func sampleIndexes(count, n int) []int {
	if count <= n {
		out := make([]int, count)
		for i := range out {
			out[i] = i
		}
		return out
	}
	if n == 1 {
		return []int{0}
	}
	out := make([]int, 0, n)
	for k := range n {
		i := k * (count - 1) / (n - 1)
		if len(out) == 0 || out[len(out)-1] != i {
			out = append(out, i)
		}
	}
	return out
}

func isDASH(contentType string, body []byte) bool {
	if strings.Contains(strings.ToLower(contentType), "dash+xml") {
		return true
	}
	head := bytes.TrimSpace(body[:min(len(body), 512)])
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	return bytes.HasPrefix(head, []byte("<?xml")) || bytes.HasPrefix(head, []byte("<MPD"))
}

func (r *Report) add(s Severity, code, msg string) {
	r.Findings = append(r.Findings, Finding{Severity: s, Code: code, Message: msg})
}

func (r *Rendition) add(s Severity, code, msg string) {
	r.Findings = append(r.Findings, Finding{Severity: s, Code: code, Message: msg})
}

// collectRewrites gathers the verified rules of all renditions, without
// duplicates.
func (r *Report) collectRewrites() {
	seen := map[origin.Rewrite]bool{}
	for _, rd := range r.Renditions {
		if rw := rd.Keys.Rewrite; rw != nil && rd.Keys.Verified && !seen[*rw] {
			seen[*rw] = true
			r.Rewrites = append(r.Rewrites, *rw)
		}
	}
}

// decide sets the verdict from the findings: any error means P2P will not
// work, any warning gives warnings.
func (r *Report) decide() {
	all := append([]Finding(nil), r.Findings...)
	for _, rd := range r.Renditions {
		all = append(all, rd.Findings...)
	}
	r.Verdict = VerdictOK
	for _, want := range []Severity{Error, Warning} {
		seen := map[string]bool{}
		for _, f := range all {
			if f.Severity == want && !seen[f.Message] {
				seen[f.Message] = true
				r.Reasons = append(r.Reasons, f.Message)
			}
		}
		if len(r.Reasons) > 0 {
			r.Verdict = VerdictNoP2P
			if want == Warning {
				r.Verdict = VerdictWarnings
			}
			return
		}
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
