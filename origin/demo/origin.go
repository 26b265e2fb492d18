package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Content types of the two kinds of objects served.
const (
	contentTypePlaylist = "application/vnd.apple.mpegurl"
	contentTypeSegment  = "video/mp2t"
)

// Cache lifetimes. Live media playlists get half a target duration (see
// Origin.liveMaxAge); segments never change once they exist.
const (
	cacheControlMaster  = "public, max-age=300"
	cacheControlVOD     = "public, max-age=3600"
	cacheControlSegment = "public, max-age=31536000, immutable"
	cacheControlError   = "no-store"
)

const (
	// liveRetention is how long a live segment stays available after it
	// left the live edge.
	liveRetention = time.Hour
	// vodDuration is the length of the VOD stream.
	vodDuration = 4 * time.Minute
	// cacheBudget bounds the bytes of generated segments kept in memory.
	cacheBudget = 32 << 20
	// hlsVersion is the EXT-X-VERSION of every playlist (decimal EXTINF).
	hlsVersion = 3
)

// rendition is one variant stream as listed in the multivariant playlist.
type rendition struct {
	name         string
	bandwidth    int64 // peak, bits per second
	avgBandwidth int64 // bits per second, 0 if unknown
	resolution   string
	codecs       string
	frameRate    string
}

// Origin serves the demo streams. It is safe for concurrent use. It never
// opens a listener: mount it on a server.
//
// The live stream is a pure function of the clock: segment n covers
// [n*d, (n+1)*d) after the Unix epoch (d is the segment duration) and is listed
// once it is complete, so every process agrees on the live edge and a given
// sequence number always has the same bytes. Segment n plays clip segment
// n mod K (K segments per clip) with its timestamps moved forward by whole clip
// durations, so the timeline never jumps.
type Origin struct {
	clock       func() time.Time
	window      int64
	synthetic   bool
	segSize     int
	segDur      time.Duration
	target      int // EXT-X-TARGETDURATION in seconds
	renditions  []rendition
	index       map[string]int
	clips       []clip // nil in synthetic mode
	clip90k     uint64 // clip duration in 90 kHz ticks
	vodSegments int64
	retain      int64 // live segments kept available behind the edge
	first       int64 // the live stream's first segment (Config.NewStream), else 0
	cache       *segmentCache
	tag         string    // distinguishes the ETags of different configs or media
	cc          string    // Config.CacheControl
	dash        []dashRep // the clip as DASH (dash.go); nil in synthetic mode
}

// New returns an Origin for cfg. clock tells the time for the live stream;
// nil means time.Now.
func New(cfg Config, clock func() time.Time) (*Origin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo origin config: %w", err)
	}
	if clock == nil {
		clock = time.Now
	}
	o := &Origin{
		clock:     clock,
		window:    int64(cfg.Window),
		synthetic: cfg.Synthetic,
		index:     make(map[string]int),
		cc:        cfg.CacheControl,
	}
	h := sha256.New()
	fmt.Fprintf(h, "%+v\n", cfg)
	if cfg.Synthetic {
		o.segSize = int(cfg.SegmentSize)
		o.segDur = cfg.SegmentDuration
		bw := (int64(cfg.SegmentSize)*8*int64(time.Second) + int64(o.segDur) - 1) / int64(o.segDur)
		for i := range cfg.Renditions {
			o.renditions = append(o.renditions, rendition{name: syntheticName(i), bandwidth: bw, avgBandwidth: bw})
		}
	} else {
		clips, err := loadClip(media)
		if err != nil {
			return nil, err
		}
		o.clips = clips
		o.segDur = clipSegmentDuration
		if o.dash, err = loadDASH(dashMedia, len(clips[0].segments), time.Duration(len(clips[0].segments))*clipSegmentDuration); err != nil {
			return nil, err
		}
		for _, r := range o.dash {
			for _, s := range r.segments {
				h.Write(s)
			}
		}
		k := len(clips[0].segments)
		clipDur := time.Duration(k) * o.segDur
		o.clip90k = uint64(clipDur * 90000 / time.Second)
		for i, c := range clips {
			var peak, total int64
			for _, s := range c.segments {
				peak = max(peak, int64(len(s)))
				total += int64(len(s))
				h.Write(s)
			}
			o.renditions = append(o.renditions, rendition{
				name:         clipRenditions[i].name,
				bandwidth:    peak * 8 * int64(time.Second) / int64(o.segDur),
				avgBandwidth: total * 8 * int64(time.Second) / int64(clipDur),
				resolution:   clipRenditions[i].resolution,
				codecs:       clipCodecs,
				frameRate:    clipFrameRate,
			})
		}
	}
	for i, r := range o.renditions {
		o.index[r.name] = i
	}
	o.target = int((o.segDur + time.Second - 1) / time.Second)
	o.vodSegments = int64((vodDuration + o.segDur - 1) / o.segDur)
	o.retain = int64(liveRetention / o.segDur)
	o.cache = newSegmentCache(max(cacheBudget, 4*o.segSize))
	o.tag = hex.EncodeToString(h.Sum(nil)[:6])
	if cfg.NewStream {
		o.first = o.liveEdge(clock()) + 1
	}
	return o, nil
}

// syntheticName names synthetic rendition i: low, mid and high as for the
// clip, then r3, r4, ...
func syntheticName(i int) string {
	if i < len(clipRenditions) {
		return clipRenditions[i].name
	}
	return "r" + strconv.Itoa(i)
}

// Renditions returns the rendition names, from the lowest bitrate up.
func (o *Origin) Renditions() []string {
	names := make([]string, len(o.renditions))
	for i, r := range o.renditions {
		names[i] = r.name
	}
	return names
}

// SegmentDuration returns the duration of every segment.
func (o *Origin) SegmentDuration() time.Duration { return o.segDur }

// liveEdge returns the sequence number of the newest complete live segment at
// now (negative before the epoch's first segment is complete).
func (o *Origin) liveEdge(now time.Time) int64 {
	ns, d := now.UnixNano(), int64(o.segDur)
	n := ns / d
	if ns%d < 0 {
		n--
	}
	return n - 1
}

// segmentStart returns when segment seq starts on the live timeline.
func (o *Origin) segmentStart(seq int64) time.Time {
	return time.Unix(0, seq*int64(o.segDur)).UTC()
}

// ServeHTTP serves the playlists and segments of the live and the VOD stream.
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		o.fail(w, http.StatusMethodNotAllowed)
		return
	}
	if p, ok := strings.CutPrefix(r.URL.Path, "/dash/"); ok {
		o.serveDASH(w, r, p)
		return
	}
	if p, ok := strings.CutPrefix(r.URL.Path, "/ll/"); ok {
		o.serveLL(w, r, p) // LL-HLS: ll.go
		return
	}
	rt, ok := parsePath(r.URL.Path)
	if !ok {
		o.fail(w, http.StatusNotFound)
		return
	}
	if rt.res == resMaster {
		o.serve(w, r, o.master(), contentTypePlaylist, cacheControlMaster, o.etag(rt.stream, "master"), time.Time{})
		return
	}
	ri, ok := o.index[rt.rendition]
	if !ok {
		o.fail(w, http.StatusNotFound)
		return
	}
	now := o.clock()
	edge := o.liveEdge(now)
	switch {
	case rt.res == resPlaylist && rt.stream == streamVOD:
		o.serve(w, r, o.vodPlaylist(), contentTypePlaylist, cacheControlVOD, o.etag(rt.stream, rt.rendition), time.Time{})
	case rt.res == resPlaylist:
		if edge < 0 || edge < o.first {
			o.fail(w, http.StatusNotFound)
			return
		}
		o.serve(w, r, o.livePlaylist(edge), contentTypePlaylist, o.liveMaxAge(),
			o.etag(rt.stream, rt.rendition, strconv.FormatInt(edge, 10)), o.segmentStart(edge+1))
	case rt.stream == streamVOD:
		if rt.seq >= o.vodSegments {
			o.fail(w, http.StatusNotFound)
			return
		}
		o.serve(w, r, o.segment(ri, rt.seq), contentTypeSegment, cacheControlSegment,
			o.etag(rt.rendition, strconv.FormatInt(rt.seq, 10)), time.Time{})
	default:
		// One segment of grace past the edge (the one being "recorded") for
		// clocks that disagree slightly between processes.
		if rt.seq > edge+1 || rt.seq <= edge-o.retain || rt.seq < o.first {
			o.fail(w, http.StatusNotFound)
			return
		}
		o.serve(w, r, o.segment(ri, rt.seq), contentTypeSegment, cacheControlSegment,
			o.etag(rt.rendition, strconv.FormatInt(rt.seq, 10)), minTime(o.segmentStart(rt.seq+1), now))
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (o *Origin) etag(parts ...string) string {
	return `"` + o.tag + "-" + strings.Join(parts, "-") + `"`
}

// liveMaxAge is the Cache-Control of live media playlists: about half a
// target duration, at least one second.
func (o *Origin) liveMaxAge() string {
	return "public, max-age=" + strconv.Itoa(max(1, int(o.segDur/2/time.Second)))
}

// serve writes body with its headers; http.ServeContent handles HEAD, Range
// and conditional requests.
func (o *Origin) serve(w http.ResponseWriter, r *http.Request, body []byte, contentType, cacheControl, etag string, modified time.Time) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	if o.cc != "" {
		cacheControl = o.cc
	}
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", etag)
	h.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", modified, bytes.NewReader(body))
}

func (o *Origin) fail(w http.ResponseWriter, code int) {
	w.Header().Set("Cache-Control", cacheControlError)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	http.Error(w, http.StatusText(code), code)
}

// master returns the multivariant playlist (the same for live and VOD: its
// URIs are relative).
func (o *Origin) master() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", hlsVersion)
	for _, r := range o.renditions {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d", r.bandwidth)
		if r.avgBandwidth > 0 {
			fmt.Fprintf(&b, ",AVERAGE-BANDWIDTH=%d", r.avgBandwidth)
		}
		if r.resolution != "" {
			fmt.Fprintf(&b, ",RESOLUTION=%s", r.resolution)
		}
		if r.frameRate != "" {
			fmt.Fprintf(&b, ",FRAME-RATE=%s", r.frameRate)
		}
		if r.codecs != "" {
			fmt.Fprintf(&b, ",CODECS=%q", r.codecs)
		}
		fmt.Fprintf(&b, "\n%s/index.m3u8\n", r.name)
	}
	return []byte(b.String())
}

// extinf is the EXTINF duration of every segment, in seconds.
func (o *Origin) extinf() string {
	return strconv.FormatFloat(o.segDur.Seconds(), 'f', 3, 64)
}

// livePlaylist returns the live media playlist whose newest segment is edge.
func (o *Origin) livePlaylist(edge int64) []byte {
	first := max(0, o.first, edge-o.window+1)
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n",
		hlsVersion, o.target, first)
	fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", o.segmentStart(first).Format("2006-01-02T15:04:05.000Z07:00"))
	inf := o.extinf()
	for seq := first; seq <= edge; seq++ {
		fmt.Fprintf(&b, "#EXTINF:%s,\n%d.ts\n", inf, seq)
	}
	return []byte(b.String())
}

// vodPlaylist returns the VOD media playlist.
func (o *Origin) vodPlaylist() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n",
		hlsVersion, o.target)
	inf := o.extinf()
	for seq := range o.vodSegments {
		fmt.Fprintf(&b, "#EXTINF:%s,\n%d.ts\n", inf, seq)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return []byte(b.String())
}

// segment returns the bytes of segment seq (>= 0) of rendition ri. The result
// is shared: callers must not modify it.
func (o *Origin) segment(ri int, seq int64) []byte {
	k := segmentKey{rendition: ri, seq: seq}
	if b, ok := o.cache.get(k); ok {
		return b
	}
	var b []byte
	if o.synthetic {
		b = make([]byte, o.segSize)
		syntheticSegment(b, ri, seq)
	} else {
		c := o.clips[ri]
		n := int64(len(c.segments))
		b = bytes.Clone(c.segments[seq%n])
		// The embedded segments were checked in New; this cannot fail.
		_ = loopRewrite(b, uint64(seq/n), o.clip90k, c.counts)
	}
	o.cache.add(k, b)
	return b
}
