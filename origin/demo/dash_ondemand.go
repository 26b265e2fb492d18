package demo

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The clip as on-demand DASH (SegmentBase): one file per Representation,
// read by byte ranges, as VOD libraries often are:
//
//	/dash/ondemand.mpd            static manifest, SegmentBase (16 s, the clip once)
//	/dash/ondemand/<rep>.mp4      init segment, a sidx indexing every fragment, the fragments
//
// The manifest gives each file's init range and index range (the sidx);
// players read the index, then the fragments by range.

// onDemandFile lays out Representation r's clip as one file: the init
// segment, a version 1 sidx with one reference per fragment, then the
// fragments (moof and mdat; their styp boxes left out). It returns the file
// and the offset just past the sidx.
func onDemandFile(r *dashRep) ([]byte, int, error) {
	var frags [][]byte
	for _, s := range r.segments {
		var f []byte
		for rest := s; len(rest) > 0; {
			typ, _, size, err := box(rest)
			if err != nil {
				return nil, 0, err
			}
			if typ != "styp" {
				f = append(f, rest[:size]...)
			}
			rest = rest[size:]
		}
		frags = append(frags, f)
	}
	k := len(frags)
	sidxLen := 12 + 4 + 4 + 8 + 8 + 2 + 2 + 12*k
	out := make([]byte, 0, len(r.init)+sidxLen+len(frags)*len(frags[0]))
	out = append(out, r.init...)
	b := make([]byte, sidxLen)
	binary.BigEndian.PutUint32(b[0:], uint32(sidxLen))
	copy(b[4:], "sidx")
	b[8] = 1                              // version 1: 64-bit times; flags 0
	binary.BigEndian.PutUint32(b[12:], 1) // reference_ID: the track
	binary.BigEndian.PutUint32(b[16:], r.timescale)
	binary.BigEndian.PutUint64(b[20:], r.base[0]) // earliest presentation time
	// first_offset 0 (b[28:36]): the first fragment follows the sidx.
	binary.BigEndian.PutUint16(b[38:], uint16(k))
	for i, f := range frags {
		end := r.clipTicks + r.base[0] // the next loop's first fragment
		if i+1 < k {
			end = r.base[i+1]
		}
		at := 40 + 12*i
		if len(f) >= 1<<31 {
			return nil, 0, fmt.Errorf("fragment %d too large for a sidx reference", i)
		}
		binary.BigEndian.PutUint32(b[at:], uint32(len(f)))          // reference_type 0: media
		binary.BigEndian.PutUint32(b[at+4:], uint32(end-r.base[i])) // subsegment_duration
		binary.BigEndian.PutUint32(b[at+8:], 1<<31|1<<28)           // starts with SAP, type 1
	}
	out = append(out, b...)
	indexEnd := len(out)
	for _, f := range frags {
		out = append(out, f...)
	}
	return out, indexEnd, nil
}

// onDemandManifest writes /dash/ondemand.mpd.
func (o *Origin) onDemandManifest() []byte {
	var b strings.Builder
	clip := time.Duration(len(o.dash[0].segments)) * o.segDur
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static"`+
		` mediaPresentationDuration="PT%dS" minBufferTime="PT%dS">`+"\n", int(clip/time.Second), int(o.segDur/time.Second))
	b.WriteString(` <Period id="0">` + "\n")
	for i, ct := range []string{"video", "audio"} {
		mime := contentTypeDASHVideo
		if ct == "audio" {
			mime = contentTypeDASHAudio
		}
		fmt.Fprintf(&b, `  <AdaptationSet id="%d" contentType="%s" mimeType="%s" subsegmentAlignment="true" subsegmentStartsWithSAP="1">`+"\n", i, ct, mime)
		for _, r := range o.dash {
			if r.contentType != ct {
				continue
			}
			fmt.Fprintf(&b, `   <Representation id="%s" codecs="%s" bandwidth="%d" %s>`+"\n", r.id, r.codecs, r.bandwidth, r.extra)
			fmt.Fprintf(&b, "    <BaseURL>ondemand/%s.mp4</BaseURL>\n", r.id)
			fmt.Fprintf(&b, `    <SegmentBase timescale="%d" indexRange="%d-%d"><Initialization range="0-%d"/></SegmentBase>`+"\n",
				r.timescale, len(r.init), r.indexEnd-1, len(r.init)-1)
			b.WriteString("   </Representation>\n")
		}
		b.WriteString("  </AdaptationSet>\n")
	}
	b.WriteString(" </Period>\n</MPD>\n")
	return []byte(b.String())
}

// serveOnDemand answers /dash/ondemand.mpd and /dash/ondemand/<file>.
func (o *Origin) serveOnDemand(w http.ResponseWriter, r *http.Request, p string) {
	if p == "ondemand.mpd" {
		o.serve(w, r, o.onDemandManifest(), contentTypeMPD, cacheControlVOD, o.etag("dash", "ondemand"), time.Time{})
		return
	}
	name, _ := strings.CutPrefix(p, "ondemand/")
	if id, ok := strings.CutSuffix(name, ".mp4"); ok {
		for i := range o.dash {
			if rep := &o.dash[i]; rep.id == id {
				ctype := contentTypeDASHVideo
				if rep.contentType == "audio" {
					ctype = contentTypeDASHAudio
				}
				o.serve(w, r, rep.onDemand, ctype, cacheControlSegment, o.etag("dash", "ondemand", id, strconv.Itoa(len(rep.onDemand))), time.Time{})
				return
			}
		}
	}
	o.fail(w, http.StatusNotFound)
}
