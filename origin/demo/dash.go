package demo

import (
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The demo clip as DASH: the same 16 s as the HLS renditions, as fragmented
// MP4 made by media/generate-dash.sh, served live and VOD:
//
//	/dash/live.mpd                     dynamic manifest (SegmentTemplate, $Number$)
//	/dash/vod.mpd                      static manifest (4 minutes)
//	/dash/timeline.mpd                 the live stream as SegmentTimeline with $Time$ (dash_timeline.go)
//	/dash/ondemand.mpd                 the clip as SegmentBase, one file per Representation (dash_ondemand.go)
//	/dash/{live,vod}/<rep>/init.mp4    init segment
//	/dash/{live,vod}/<rep>/<n>.m4s     segment n (from 0)
//	/dash/time                         the clock (UTCTiming, ISO 8601)
//
// Live segment n covers [n*2 s, (n+1)*2 s) after the Unix epoch, as for HLS:
// the manifest names the epoch as availabilityStartTime, so every process
// agrees on the live edge. Segment n plays clip segment n mod 8 with its
// decode time (tfdt) moved on by whole clip durations and its fragment
// sequence number set to n+1, so players see one continuous stream.

//go:generate sh media/generate-dash.sh

//go:embed media/dash/low media/dash/mid media/dash/audio
var dashMedia embed.FS

const (
	contentTypeMPD       = "application/dash+xml"
	contentTypeDASHVideo = "video/mp4"
	contentTypeDASHAudio = "audio/mp4"
	// dashLiveWindow is the live manifest's timeShiftBufferDepth.
	dashLiveWindow = 30 * time.Second
)

// dashRep is one Representation of the committed DASH clip.
type dashRep struct {
	id, contentType, codecs, extra string
	init                           []byte
	segments                       [][]byte
	tfdt                           []int // offset of each segment's 64-bit tfdt decode time
	mfhd                           []int // offset of each segment's sequence number
	base                           []uint64
	clipTicks                      uint64 // the clip's duration in the track's timescale
	timescale                      uint32 // the track's timescale (its init segment's mdhd)
	onDemand                       []byte // the clip as one file (SegmentBase, dash_ondemand.go)
	indexEnd                       int    // onDemand's offset past its sidx
	bandwidth                      int64
}

// dashReps describes the committed Representations, video from the lowest
// bitrate up, then audio.
var dashReps = [...]struct{ id, contentType, codecs, extra string }{
	{"low", "video", "avc1.4d401f", `width="416" height="234" frameRate="25"`},
	{"mid", "video", "avc1.4d401f", `width="640" height="360" frameRate="25"`},
	{"audio", "audio", "mp4a.40.2", `audioSamplingRate="48000"`},
}

// loadDASH reads and checks the embedded DASH clip. Every Representation
// must have as many segments as the HLS clip, each a styp/sidx/moof/mdat
// fragment with a version 1 tfdt. The sidx boxes are dropped: their 32-bit
// earliest presentation time cannot hold live times.
func loadDASH(fsys fs.FS, segments int, clipDur time.Duration) ([]dashRep, error) {
	reps := make([]dashRep, 0, len(dashReps))
	for _, d := range dashReps {
		r := dashRep{id: d.id, contentType: d.contentType, codecs: d.codecs, extra: d.extra}
		var err error
		if r.init, err = fs.ReadFile(fsys, "media/dash/"+d.id+"/init.mp4"); err != nil {
			return nil, fmt.Errorf("demo DASH media: %w", err)
		}
		ts, err := mdhdTimescale(r.init)
		if err != nil {
			return nil, fmt.Errorf("demo DASH media %s/init.mp4: %w", d.id, err)
		}
		r.clipTicks = uint64(clipDur/time.Millisecond) * uint64(ts) / 1000
		r.timescale = ts
		var peak int
		for n := 0; n < segments; n++ {
			b, err := fs.ReadFile(fsys, fmt.Sprintf("media/dash/%s/%d.m4s", d.id, n))
			if err != nil {
				return nil, fmt.Errorf("demo DASH media: %w", err)
			}
			b, tfdt, mfhd, err := prepareFragment(b)
			if err != nil {
				return nil, fmt.Errorf("demo DASH media %s/%d.m4s: %w", d.id, n, err)
			}
			r.segments = append(r.segments, b)
			r.tfdt = append(r.tfdt, tfdt)
			r.mfhd = append(r.mfhd, mfhd)
			r.base = append(r.base, binary.BigEndian.Uint64(b[tfdt:]))
			peak = max(peak, len(b))
		}
		r.bandwidth = int64(peak) * 8 * int64(time.Second) / int64(clipSegmentDuration)
		if r.onDemand, r.indexEnd, err = onDemandFile(&r); err != nil {
			return nil, fmt.Errorf("demo DASH media %s: on-demand file: %w", d.id, err)
		}
		reps = append(reps, r)
	}
	return reps, nil
}

// box returns the type, header length and total length of the ISO BMFF box
// at the start of b.
func box(b []byte) (typ string, hdr, size int, err error) {
	if len(b) < 8 {
		return "", 0, 0, errors.New("truncated box")
	}
	size, hdr = int(binary.BigEndian.Uint32(b)), 8
	if size == 1 {
		if len(b) < 16 {
			return "", 0, 0, errors.New("truncated box")
		}
		s := binary.BigEndian.Uint64(b[8:])
		if s > uint64(len(b)) {
			return "", 0, 0, errors.New("box larger than its container")
		}
		size, hdr = int(s), 16
	}
	if size < hdr || size > len(b) {
		return "", 0, 0, errors.New("bad box size")
	}
	return string(b[4:8]), hdr, size, nil
}

// prepareFragment drops the top-level sidx boxes of a media segment and
// returns it with the offsets of its tfdt decode time and mfhd sequence
// number.
func prepareFragment(b []byte) (out []byte, tfdt, mfhd int, err error) {
	tfdt, mfhd = -1, -1
	for rest := b; len(rest) > 0; {
		typ, hdr, size, err := box(rest)
		if err != nil {
			return nil, 0, 0, err
		}
		if typ != "sidx" {
			if typ == "moof" {
				at := len(out)
				if err := walkMoof(rest[hdr:size], at+hdr, &tfdt, &mfhd); err != nil {
					return nil, 0, 0, err
				}
			}
			out = append(out, rest[:size]...)
		}
		rest = rest[size:]
	}
	if tfdt < 0 || mfhd < 0 {
		return nil, 0, 0, errors.New("no moof with mfhd and a version 1 tfdt")
	}
	return out, tfdt, mfhd, nil
}

func walkMoof(b []byte, off int, tfdt, mfhd *int) error {
	for len(b) > 0 {
		typ, hdr, size, err := box(b)
		if err != nil {
			return err
		}
		switch typ {
		case "mfhd":
			if size < hdr+8 {
				return errors.New("short mfhd")
			}
			*mfhd = off + hdr + 4
		case "traf":
			if err := walkMoof(b[hdr:size], off+hdr, tfdt, mfhd); err != nil {
				return err
			}
		case "tfdt":
			if size < hdr+12 || b[hdr] != 1 {
				return errors.New("tfdt is not version 1")
			}
			if *tfdt >= 0 {
				return errors.New("more than one track fragment")
			}
			*tfdt = off + hdr + 4
		}
		b, off = b[size:], off+size
	}
	return nil
}

// mdhdTimescale finds the media timescale in an init segment.
func mdhdTimescale(b []byte) (uint32, error) {
	i := bytes.Index(b, []byte("mdhd"))
	if i < 4 || len(b) < i+4+24 {
		return 0, errors.New("no mdhd")
	}
	body := b[i+4:]
	var ts uint32
	if body[0] == 1 {
		ts = binary.BigEndian.Uint32(body[20:])
	} else {
		ts = binary.BigEndian.Uint32(body[12:])
	}
	if ts == 0 {
		return 0, errors.New("mdhd timescale 0")
	}
	return ts, nil
}

// dashSegment returns segment n of Representation ri: the clip segment
// n mod K with its decode time moved on by n div K clip durations.
func (o *Origin) dashSegment(ri int, n int64) []byte {
	r := &o.dash[ri]
	k := int64(len(r.segments))
	i := n % k
	b := bytes.Clone(r.segments[i])
	binary.BigEndian.PutUint64(b[r.tfdt[i]:], r.base[i]+uint64(n/k)*r.clipTicks)
	binary.BigEndian.PutUint32(b[r.mfhd[i]:], uint32(n+1))
	return b
}

// dashManifest writes the live (dynamic) or VOD (static) manifest.
func (o *Origin) dashManifest(live bool) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	segMS := o.segDur.Milliseconds()
	if live {
		fmt.Fprintf(&b, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic"`+
			` availabilityStartTime="1970-01-01T00:00:00Z" minimumUpdatePeriod="PT%dS" timeShiftBufferDepth="PT%dS"`+
			` suggestedPresentationDelay="PT%dS" maxSegmentDuration="PT%dS" minBufferTime="PT%dS">`+"\n",
			int(o.segDur/time.Second), int(dashLiveWindow/time.Second), 3*int(o.segDur/time.Second), int(o.segDur/time.Second), int(o.segDur/time.Second))
		b.WriteString(` <Period id="0" start="PT0S">` + "\n")
	} else {
		fmt.Fprintf(&b, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static"`+
			` mediaPresentationDuration="PT%dS" maxSegmentDuration="PT%dS" minBufferTime="PT%dS">`+"\n",
			int(time.Duration(o.vodSegments)*o.segDur/time.Second), int(o.segDur/time.Second), int(o.segDur/time.Second))
		b.WriteString(` <Period id="0">` + "\n")
	}
	dir := "vod"
	if live {
		dir = "live"
	}
	for i, ct := range []string{"video", "audio"} {
		mime := contentTypeDASHVideo
		if ct == "audio" {
			mime = contentTypeDASHAudio
		}
		fmt.Fprintf(&b, `  <AdaptationSet id="%d" contentType="%s" mimeType="%s" segmentAlignment="true" startWithSAP="1">`+"\n", i, ct, mime)
		fmt.Fprintf(&b, `   <SegmentTemplate timescale="1000" duration="%d" startNumber="0" initialization="%s/$RepresentationID$/init.mp4" media="%s/$RepresentationID$/$Number$.m4s"/>`+"\n",
			segMS, dir, dir)
		for _, r := range o.dash {
			if r.contentType == ct {
				fmt.Fprintf(&b, `   <Representation id="%s" codecs="%s" bandwidth="%d" %s/>`+"\n", r.id, r.codecs, r.bandwidth, r.extra)
			}
		}
		b.WriteString("  </AdaptationSet>\n")
	}
	b.WriteString(" </Period>\n")
	if live {
		b.WriteString(` <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/dash/time"/>` + "\n")
	}
	b.WriteString("</MPD>\n")
	return []byte(b.String())
}

// serveDASH answers the /dash/ paths.
func (o *Origin) serveDASH(w http.ResponseWriter, r *http.Request, p string) {
	if o.dash == nil {
		o.fail(w, http.StatusNotFound)
		return
	}
	now := o.clock()
	switch p {
	case "live.mpd":
		o.serve(w, r, o.dashManifest(true), contentTypeMPD, "public, max-age=1", o.etag("dash", "live"), time.Time{})
		return
	case "vod.mpd":
		o.serve(w, r, o.dashManifest(false), contentTypeMPD, cacheControlVOD, o.etag("dash", "vod"), time.Time{})
		return
	case "ondemand.mpd":
		o.serveOnDemand(w, r, p)
		return
	case "timeline.mpd":
		edge := o.liveEdge(now)
		o.serve(w, r, o.dashTimelineManifest(edge), contentTypeMPD, "public, max-age=1", o.etag("dash", "timeline", strconv.FormatInt(edge, 10)), time.Time{})
		return
	case "time":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", cacheControlError)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write([]byte(now.UTC().Format("2006-01-02T15:04:05.000Z")))
		return
	}
	if strings.HasPrefix(p, "ondemand/") {
		o.serveOnDemand(w, r, p)
		return
	}
	stream, rest, _ := strings.Cut(p, "/")
	id, file, ok := strings.Cut(rest, "/")
	ri := -1
	for i := range o.dash {
		if o.dash[i].id == id {
			ri = i
		}
	}
	if !ok || ri < 0 || (stream != "live" && stream != "vod") {
		o.fail(w, http.StatusNotFound)
		return
	}
	rep := &o.dash[ri]
	ctype := contentTypeDASHVideo
	if rep.contentType == "audio" {
		ctype = contentTypeDASHAudio
	}
	if file == "init.mp4" {
		o.serve(w, r, rep.init, ctype, cacheControlSegment, o.etag("dash", id, "init"), time.Time{})
		return
	}
	num, ok := strings.CutSuffix(file, ".m4s")
	if t, isTime := strings.CutPrefix(num, "t"); isTime && ok && stream == "live" {
		// A $Time$ name (timeline.mpd): the same segment as its number.
		n, found := o.dashNumberAt(ri, t)
		if !found {
			o.fail(w, http.StatusNotFound)
			return
		}
		num = strconv.FormatInt(n, 10)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != num {
		o.fail(w, http.StatusNotFound)
		return
	}
	if stream == "vod" {
		if n >= o.vodSegments {
			o.fail(w, http.StatusNotFound)
			return
		}
		o.serve(w, r, o.dashSegment(ri, n), ctype, cacheControlSegment, o.etag("dash", id, num), time.Time{})
		return
	}
	edge := o.liveEdge(now)
	if n > edge+1 || n <= edge-o.retain {
		o.fail(w, http.StatusNotFound)
		return
	}
	o.serve(w, r, o.dashSegment(ri, n), ctype, cacheControlSegment, o.etag("dash", id, num), minTime(o.segmentStart(n+1), now))
}
