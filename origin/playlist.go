package origin

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/grafov/m3u8"
)

// PlaylistInfo is what the node needs to know about an HLS playlist.
//
// URIs are public references: a path (still percent-encoded, dot segments
// removed) with the query of the reference if it had one ("/live/low/12.ts",
// "/live/low/12.ts?t=1"). They are resolved against the playlist's public
// path, so they are what a player would request from the node.
type PlaylistInfo struct {
	// Kind is cache.KindMasterPlaylist, cache.KindLivePlaylist (no
	// EXT-X-ENDLIST, EVENT playlists included) or cache.KindVODPlaylist.
	Kind cache.Kind
	// TargetDuration is EXT-X-TARGETDURATION (media playlists), 0 if absent.
	TargetDuration time.Duration
	// PartTarget is the LL-HLS EXT-X-PART-INF PART-TARGET, 0 if absent.
	PartTarget time.Duration
	// MediaSequence is the media sequence number of Segments[0]: the
	// EXT-X-MEDIA-SEQUENCE plus the segments an LL-HLS delta update skipped.
	MediaSequence uint64
	// Segments lists the media segments in order: Segments[i] has media
	// sequence number MediaSequence+i. Byte-range segments of one file
	// repeat its URI.
	Segments []string
	// Init lists the initialisation sections (EXT-X-MAP), without
	// duplicates.
	Init []string
	// Parts lists the LL-HLS partial segments (EXT-X-PART) and preload hints
	// (EXT-X-PRELOAD-HINT), in order.
	Parts []string
	// Variants lists, for a master playlist, the media playlists it
	// references (variant streams, I-frame streams, renditions), without
	// duplicates.
	Variants []string
	// LL is what the LL-HLS tags of a media playlist say (zero without
	// them).
	LL LowLatency
}

// LowLatency is what a media playlist's LL-HLS tags say: its server
// control, its parts, preload hints and rendition reports. URIs are public
// references like PlaylistInfo's.
type LowLatency struct {
	// CanBlockReload is EXT-X-SERVER-CONTROL CAN-BLOCK-RELOAD=YES: the
	// origin holds _HLS_msn/_HLS_part requests until they can be answered.
	CanBlockReload bool
	// CanSkipUntil is CAN-SKIP-UNTIL (delta updates with _HLS_skip), 0 if
	// absent; CanSkipDateranges is CAN-SKIP-DATERANGES=YES.
	CanSkipUntil      time.Duration
	CanSkipDateranges bool
	// HoldBack and PartHoldBack are the server control's HOLD-BACK and
	// PART-HOLD-BACK, 0 if absent.
	HoldBack, PartHoldBack time.Duration
	// Skipped is EXT-X-SKIP SKIPPED-SEGMENTS (a delta update).
	Skipped uint64
	// Parts are the EXT-X-PART tags in order.
	Parts []Part
	// Hints are the EXT-X-PRELOAD-HINT tags.
	Hints []PreloadHint
	// Reports are the EXT-X-RENDITION-REPORT tags.
	Reports []RenditionReport
}

// Part is one EXT-X-PART: partial segment Index of the segment with media
// sequence number MSN.
type Part struct {
	URI         string
	Duration    time.Duration
	Independent bool
	Gap         bool
	MSN         uint64
	Index       int
}

// PreloadHint is one EXT-X-PRELOAD-HINT: an object the origin will serve
// next (TYPE=PART or MAP), fetched ahead by the node. MSN and Index say
// which part a TYPE=PART hint will be.
type PreloadHint struct {
	Type  string // "PART" or "MAP"
	URI   string
	MSN   uint64
	Index int
}

// RenditionReport is one EXT-X-RENDITION-REPORT: where another rendition's
// live edge is. LastMSN and LastPart are -1 when absent.
type RenditionReport struct {
	URI      string
	LastMSN  int64
	LastPart int
}

// Has reports whether the playlist already shows part `part` of segment
// msn (part < 0: the whole segment), which is when a blocking reload for it
// can be answered (RFC 8216bis 6.2.5.2).
func (info *PlaylistInfo) Has(msn uint64, part int) bool {
	if msn < info.MediaSequence || msn-info.MediaSequence < uint64(len(info.Segments)) {
		return true // the segment is complete, and so are its parts
	}
	if part < 0 {
		return false
	}
	for i := len(info.LL.Parts) - 1; i >= 0; i-- {
		p := info.LL.Parts[i]
		if p.MSN == msn && p.Index >= part || p.MSN > msn {
			return true
		}
		if p.MSN < msn {
			break
		}
	}
	return false
}

// Encryption keys (EXT-X-KEY, EXT-X-SESSION-KEY) are never listed: they must
// not be seeded or shared between peers.

// URLMapper maps an absolute http(s) URL found in a playlist to the public
// path the node serves it under, or reports false when the URL is not one of
// the node's origins. scheme is lower-case, host as written (it may carry a
// port), path is the raw path of the URL (percent-encoded, possibly empty).
type URLMapper func(scheme, host, path string) (publicPath string, ok bool)

// maxPlaylistURIs bounds how many URIs one playlist may list; more is
// treated as malformed (a 6 s segment playlist of 24 hours has 14400).
const maxPlaylistURIs = 1 << 17

// ParsePlaylist parses an HLS playlist served under publicPath. Absolute
// http(s) URIs are skipped; use ParsePlaylistWith to keep those that point at
// a configured origin.
func ParsePlaylist(publicPath string, body []byte) (*PlaylistInfo, error) {
	return ParsePlaylistWith(publicPath, body, nil)
}

// ParsePlaylistWith is ParsePlaylist with a mapper for absolute URIs. URIs
// with another scheme (data:, skd:, ...) and absolute URIs the mapper refuses
// are skipped. A malformed playlist is an error.
func ParsePlaylistWith(publicPath string, body []byte, mapURL URLMapper) (*PlaylistInfo, error) {
	sc, err := scanPlaylist(body)
	if err != nil {
		return nil, err
	}
	if !sc.master && !sc.media {
		return nil, errors.New("playlist: neither a master nor a media playlist")
	}
	if sc.master && sc.media {
		return nil, errors.New("playlist: mixes master and media playlist tags")
	}
	if !strings.HasPrefix(publicPath, "/") {
		publicPath = "/" + publicPath
	}
	r := resolver{base: publicPath, mapURL: mapURL}
	info := &PlaylistInfo{}
	if sc.master {
		// The line scan has all a master playlist offers here. The m3u8
		// parser is not used for these: it re-links every rendition to
		// every variant on every line, which a large master playlist turns
		// into minutes of work.
		info.Kind = cache.KindMasterPlaylist
		seen := make(map[string]struct{}, len(sc.variants))
		for _, u := range sc.variants {
			if p, ok := r.resolve(u); ok {
				if _, dup := seen[p]; !dup {
					seen[p] = struct{}{}
					info.Variants = append(info.Variants, p)
				}
			}
		}
		return info, nil
	}
	pl, listType, err := decodeM3U8(body)
	if err != nil {
		return nil, err
	}
	media, ok := pl.(*m3u8.MediaPlaylist)
	if listType != m3u8.MEDIA || !ok {
		return nil, errors.New("playlist: not understood as a media playlist")
	}
	info.Kind = cache.KindLivePlaylist
	if media.Closed || media.MediaType == m3u8.VOD {
		info.Kind = cache.KindVODPlaylist
	}
	// The parser raises the target duration to the longest segment; the
	// tag's own value is what the origin refreshes by.
	info.TargetDuration = seconds(sc.targetDuration)
	info.PartTarget = seconds(sc.partTarget)
	info.MediaSequence = media.SeqNo + sc.skipped
	segs := media.GetAllSegments()
	if len(segs)+len(sc.parts) > maxPlaylistURIs {
		return nil, fmt.Errorf("playlist: more than %d URIs", maxPlaylistURIs)
	}
	if info.MediaSequence < media.SeqNo || info.MediaSequence > math.MaxUint64-uint64(len(segs))-1 {
		return nil, errors.New("playlist: media sequence number out of range")
	}
	info.Segments = make([]string, 0, len(segs))
	seenInit := make(map[string]struct{})
	addInit := func(m *m3u8.Map) {
		if m == nil {
			return
		}
		if p, ok := r.resolve(m.URI); ok {
			if _, dup := seenInit[p]; !dup {
				seenInit[p] = struct{}{}
				info.Init = append(info.Init, p)
			}
		}
	}
	addInit(media.Map)
	for _, s := range segs {
		if s == nil {
			continue
		}
		addInit(s.Map)
		if p, ok := r.resolve(s.URI); ok {
			info.Segments = append(info.Segments, p)
		}
	}
	for _, u := range sc.parts {
		if p, ok := r.resolve(u); ok {
			info.Parts = append(info.Parts, p)
		}
	}
	info.LL = sc.ll
	info.LL.Parts = info.LL.Parts[:0]
	base := media.SeqNo + sc.skipped
	for _, p := range sc.ll.Parts {
		if u, ok := r.resolve(p.URI); ok {
			p.URI, p.MSN = u, base+p.MSN
			info.LL.Parts = append(info.LL.Parts, p)
		}
	}
	info.LL.Hints = nil
	for _, h := range sc.ll.Hints {
		if u, ok := r.resolve(h.URI); ok {
			h.URI, h.MSN = u, base+h.MSN
			info.LL.Hints = append(info.LL.Hints, h)
		}
	}
	info.LL.Reports = nil
	for _, rr := range sc.ll.Reports {
		if u, ok := r.resolve(rr.URI); ok {
			rr.URI = u
			info.LL.Reports = append(info.LL.Reports, rr)
		}
	}
	return info, nil
}

// decodeM3U8 runs the m3u8 parser. The parser indexes its own slices with
// values taken from the input; a bad playlist must be an error, not a crash.
func decodeM3U8(body []byte) (pl m3u8.Playlist, lt m3u8.ListType, err error) {
	defer func() {
		if r := recover(); r != nil {
			pl, err = nil, fmt.Errorf("playlist: parser failed: %v", r)
		}
	}()
	// Decode takes a bytes.Buffer by value; the bytes are only read.
	pl, lt, err = m3u8.Decode(*bytes.NewBuffer(body), false)
	if err != nil {
		return nil, 0, fmt.Errorf("playlist: %w", err)
	}
	return pl, lt, nil
}

// seconds converts a playlist duration, refusing nonsense values.
func seconds(s float64) time.Duration {
	if !(s > 0) || s > 366*24*3600 || math.IsInf(s, 0) {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// playlistScan is what a line scan finds that the m3u8 parser does not keep.
type playlistScan struct {
	master, media  bool     // tags only allowed in one kind of playlist were seen
	variants       []string // master: media playlist URIs, in order
	parts          []string // EXT-X-PART and EXT-X-PRELOAD-HINT URIs
	partTarget     float64
	targetDuration float64
	skipped        uint64
	// ll has raw URIs; a part's or hint's MSN counts segments from the
	// first one listed.
	ll       LowLatency
	segments uint64 // URI lines of a media playlist so far
}

// scanPlaylist checks the header and collects the LL-HLS tags.
func scanPlaylist(body []byte) (playlistScan, error) {
	var sc playlistScan
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	first := true
	streamInf := false // the next URI line is a variant stream
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		l := strings.TrimSpace(string(line))
		if first {
			if l != "#EXTM3U" {
				return sc, errors.New("playlist: does not start with #EXTM3U")
			}
			first = false
			continue
		}
		if len(l) == 0 {
			continue
		}
		if l[0] != '#' {
			if streamInf {
				sc.variants = append(sc.variants, l)
				streamInf = false
			} else {
				sc.segments++
			}
			continue
		}
		tag, attrs, _ := strings.Cut(l, ":")
		switch tag {
		case "#EXT-X-STREAM-INF":
			sc.master = true
			streamInf = true
			continue
		case "#EXT-X-SESSION-DATA", "#EXT-X-SESSION-KEY":
			sc.master = true
		case "#EXT-X-MEDIA", "#EXT-X-I-FRAME-STREAM-INF":
			sc.master = true
			if u, ok := attribute(attrs, "URI"); ok {
				sc.variants = append(sc.variants, u)
			}
		case "#EXTINF", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-ENDLIST",
			"#EXT-X-PLAYLIST-TYPE", "#EXT-X-PART-INF", "#EXT-X-SERVER-CONTROL":
			sc.media = true
		case "#EXT-X-PART", "#EXT-X-PRELOAD-HINT":
			sc.media = true
			if u, ok := attribute(attrs, "URI"); ok {
				sc.parts = append(sc.parts, u)
			}
			if err := sc.llPart(tag, attrs); err != nil {
				return sc, err
			}
		case "#EXT-X-RENDITION-REPORT":
			sc.media = true
			if err := sc.llReport(attrs); err != nil {
				return sc, err
			}
		case "#EXT-X-SKIP":
			sc.media = true
			if v, ok := attribute(attrs, "SKIPPED-SEGMENTS"); ok {
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return sc, fmt.Errorf("playlist: EXT-X-SKIP: bad SKIPPED-SEGMENTS %q", v)
				}
				sc.skipped = n
				sc.ll.Skipped = n
			}
		}
		if tag == "#EXT-X-TARGETDURATION" {
			f, err := strconv.ParseFloat(strings.TrimSpace(attrs), 64)
			if err != nil {
				return sc, fmt.Errorf("playlist: bad EXT-X-TARGETDURATION %q", attrs)
			}
			sc.targetDuration = f
		}
		if tag == "#EXT-X-SERVER-CONTROL" {
			if err := sc.llServerControl(attrs); err != nil {
				return sc, err
			}
		}
		if tag == "#EXT-X-PART-INF" {
			if v, ok := attribute(attrs, "PART-TARGET"); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return sc, fmt.Errorf("playlist: EXT-X-PART-INF: bad PART-TARGET %q", v)
				}
				sc.partTarget = f
			}
		}
		if len(sc.parts)+len(sc.variants) > maxPlaylistURIs {
			return sc, fmt.Errorf("playlist: more than %d URIs", maxPlaylistURIs)
		}
	}
	if first {
		return sc, errors.New("playlist: empty")
	}
	return sc, nil
}

// llServerControl reads EXT-X-SERVER-CONTROL.
func (sc *playlistScan) llServerControl(attrs string) error {
	sc.ll.CanBlockReload = yes(attrs, "CAN-BLOCK-RELOAD")
	sc.ll.CanSkipDateranges = yes(attrs, "CAN-SKIP-DATERANGES")
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"CAN-SKIP-UNTIL", &sc.ll.CanSkipUntil}, {"HOLD-BACK", &sc.ll.HoldBack}, {"PART-HOLD-BACK", &sc.ll.PartHoldBack}} {
		if v, ok := attribute(attrs, d.name); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("playlist: EXT-X-SERVER-CONTROL: bad %s %q", d.name, v)
			}
			*d.to = seconds(f)
		}
	}
	return nil
}

// llPart reads EXT-X-PART and EXT-X-PRELOAD-HINT: both name the part that
// comes after those already listed for the segment in progress.
func (sc *playlistScan) llPart(tag, attrs string) error {
	u, ok := attribute(attrs, "URI")
	if !ok {
		return fmt.Errorf("playlist: %s without URI", tag[1:])
	}
	index := 0
	if n := len(sc.ll.Parts); n > 0 && sc.ll.Parts[n-1].MSN == sc.segments {
		index = sc.ll.Parts[n-1].Index + 1
	}
	if tag == "#EXT-X-PRELOAD-HINT" {
		typ, _ := attribute(attrs, "TYPE")
		if typ != "PART" && typ != "MAP" {
			return fmt.Errorf("playlist: EXT-X-PRELOAD-HINT: bad TYPE %q", typ)
		}
		sc.ll.Hints = append(sc.ll.Hints, PreloadHint{Type: typ, URI: u, MSN: sc.segments, Index: index})
		return nil
	}
	v, ok := attribute(attrs, "DURATION")
	if !ok {
		return errors.New("playlist: EXT-X-PART without DURATION")
	}
	d, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("playlist: EXT-X-PART: bad DURATION %q", v)
	}
	sc.ll.Parts = append(sc.ll.Parts, Part{
		URI: u, Duration: seconds(d), Independent: yes(attrs, "INDEPENDENT"), Gap: yes(attrs, "GAP"),
		MSN: sc.segments, Index: index,
	})
	return nil
}

// llReport reads EXT-X-RENDITION-REPORT.
func (sc *playlistScan) llReport(attrs string) error {
	u, ok := attribute(attrs, "URI")
	if !ok {
		return errors.New("playlist: EXT-X-RENDITION-REPORT without URI")
	}
	rr := RenditionReport{URI: u, LastMSN: -1, LastPart: -1}
	if v, ok := attribute(attrs, "LAST-MSN"); ok {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return fmt.Errorf("playlist: EXT-X-RENDITION-REPORT: bad LAST-MSN %q", v)
		}
		rr.LastMSN = int64(n)
	}
	if v, ok := attribute(attrs, "LAST-PART"); ok {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil {
			return fmt.Errorf("playlist: EXT-X-RENDITION-REPORT: bad LAST-PART %q", v)
		}
		rr.LastPart = int(n)
	}
	sc.ll.Reports = append(sc.ll.Reports, rr)
	return nil
}

// yes reports whether the attribute name is YES.
func yes(list, name string) bool {
	v, ok := attribute(list, name)
	return ok && v == "YES"
}

// attribute returns the value of name in an HLS attribute list
// (NAME=value,NAME="quoted, value",...), quotes removed.
func attribute(list, name string) (string, bool) {
	for list != "" {
		var n string
		n, list, _ = strings.Cut(list, "=")
		n = strings.TrimSpace(n)
		var v string
		if strings.HasPrefix(list, `"`) {
			end := strings.IndexByte(list[1:], '"')
			if end < 0 {
				return "", false
			}
			v = list[1 : end+1]
			list = list[end+2:]
			_, list, _ = strings.Cut(list, ",")
		} else {
			v, list, _ = strings.Cut(list, ",")
			v = strings.TrimSpace(v)
		}
		if n == name {
			return v, true
		}
	}
	return "", false
}

// resolver turns URI references found in a playlist into public paths.
type resolver struct {
	base   string // the playlist's public path
	mapURL URLMapper
}

// resolve returns the public reference for uri, or false when it must be
// skipped (empty, foreign absolute URL, other scheme).
func (r resolver) resolve(uri string) (string, bool) {
	uri = strings.TrimSpace(uri)
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	if uri == "" {
		return "", false
	}
	if scheme, rest, ok := splitScheme(uri); ok {
		if scheme != "http" && scheme != "https" {
			return "", false
		}
		if !strings.HasPrefix(rest, "//") {
			return "", false
		}
		return r.mapAbsolute(scheme, rest[2:])
	}
	if strings.HasPrefix(uri, "//") {
		// Network-path reference: same scheme as the playlist, another host.
		return r.mapAbsolute("", uri[2:])
	}
	p, q, hasQuery := strings.Cut(uri, "?")
	if !strings.HasPrefix(p, "/") {
		dir := r.base[:strings.LastIndexByte(r.base, '/')+1]
		if dir == "" {
			dir = "/"
		}
		if p == "" {
			p = r.base
		} else {
			p = dir + p
		}
	}
	p = removeDotSegments(p)
	if hasQuery {
		return p + "?" + q, true
	}
	return p, true
}

func (r resolver) mapAbsolute(scheme, authorityAndPath string) (string, bool) {
	if r.mapURL == nil {
		return "", false
	}
	end := strings.IndexAny(authorityAndPath, "/?")
	if end < 0 {
		end = len(authorityAndPath)
	}
	host, rest := authorityAndPath[:end], authorityAndPath[end:]
	p, q, hasQuery := strings.Cut(rest, "?")
	if p != "" {
		// Resolve dot segments in the origin's path space, so that a URL
		// cannot climb out of a route's base path after mapping.
		p = removeDotSegments(p)
	}
	pub, ok := r.mapURL(scheme, host, p)
	if !ok {
		return "", false
	}
	if hasQuery {
		return pub + "?" + q, true
	}
	return pub, true
}

// splitScheme splits "scheme:rest" when uri starts with an RFC 3986 scheme.
func splitScheme(uri string) (scheme, rest string, ok bool) {
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", "", false
			}
		case c == ':':
			if i == 0 {
				return "", "", false
			}
			return strings.ToLower(uri[:i]), uri[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// removeDotSegments resolves "." and ".." segments of an absolute path
// (RFC 3986 section 5.2.4); ".." never climbs above the root.
func removeDotSegments(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}
