package demo

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The live DASH stream as most live packagers write it: a SegmentTimeline
// of the segments available now, named by their decode time ($Time$), and
// a manifest that changes with every new segment (live.mpd is one
// document that players compute the live edge from). Its segments are
// those of live.mpd: /dash/live/<rep>/t<time>.m4s is /dash/live/<rep>/<n>.m4s
// for the n whose decode time is time. The manifest has no startNumber,
// as packagers that name segments by time often leave it out.

// dashTime is the decode time of live segment n of Representation ri, in
// the track's timescale.
func (o *Origin) dashTime(ri int, n int64) uint64 {
	r := &o.dash[ri]
	k := int64(len(r.segments))
	return r.base[n%k] + uint64(n/k)*r.clipTicks
}

// dashNumberAt is the segment whose decode time is the decimal t, if any.
func (o *Origin) dashNumberAt(ri int, t string) (int64, bool) {
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil || strconv.FormatUint(v, 10) != t {
		return 0, false
	}
	r := &o.dash[ri]
	loops, in := v/r.clipTicks, v%r.clipTicks
	i := slices.Index(r.base, in)
	if i < 0 || loops > uint64(1<<62)/uint64(len(r.segments)) {
		return 0, false
	}
	return int64(loops)*int64(len(r.segments)) + int64(i), true
}

// dashTimelineManifest writes the SegmentTimeline manifest whose newest
// segment is edge, listing the live window (dashLiveWindow) behind it.
func (o *Origin) dashTimelineManifest(edge int64) []byte {
	var b strings.Builder
	segS := int(o.segDur / time.Second)
	first := max(0, edge-int64(dashLiveWindow/o.segDur)+1, edge-o.retain+1)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic"`+
		` availabilityStartTime="1970-01-01T00:00:00Z" publishTime="%s" minimumUpdatePeriod="PT%dS" timeShiftBufferDepth="PT%dS"`+
		` suggestedPresentationDelay="PT%dS" maxSegmentDuration="PT%dS" minBufferTime="PT%dS">`+"\n",
		o.segmentStart(edge+1).Format(time.RFC3339), segS, int(dashLiveWindow/time.Second), 3*segS, segS, segS)
	b.WriteString(` <Period id="0" start="PT0S">` + "\n")
	for i, ct := range []string{"video", "audio"} {
		mime := contentTypeDASHVideo
		if ct == "audio" {
			mime = contentTypeDASHAudio
		}
		fmt.Fprintf(&b, `  <AdaptationSet id="%d" contentType="%s" mimeType="%s" segmentAlignment="true" startWithSAP="1">`+"\n", i, ct, mime)
		for ri, r := range o.dash {
			if r.contentType != ct {
				continue
			}
			fmt.Fprintf(&b, `   <Representation id="%s" codecs="%s" bandwidth="%d" %s>`+"\n", r.id, r.codecs, r.bandwidth, r.extra)
			fmt.Fprintf(&b, `    <SegmentTemplate timescale="%d" initialization="live/$RepresentationID$/init.mp4" media="live/$RepresentationID$/t$Time$.m4s">`+"\n", r.timescale)
			b.WriteString("     <SegmentTimeline>")
			// Runs of equal durations as one S with @r; the first with @t.
			for n := first; n <= edge; {
				d := o.dashTime(ri, n+1) - o.dashTime(ri, n)
				run := int64(1)
				for n+run <= edge && o.dashTime(ri, n+run+1)-o.dashTime(ri, n+run) == d {
					run++
				}
				b.WriteString(`<S`)
				if n == first {
					fmt.Fprintf(&b, ` t="%d"`, o.dashTime(ri, n))
				}
				fmt.Fprintf(&b, ` d="%d"`, d)
				if run > 1 {
					fmt.Fprintf(&b, ` r="%d"`, run-1)
				}
				b.WriteString(`/>`)
				n += run
			}
			b.WriteString("</SegmentTimeline>\n    </SegmentTemplate>\n   </Representation>\n")
		}
		b.WriteString("  </AdaptationSet>\n")
	}
	b.WriteString(" </Period>\n")
	b.WriteString(` <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/dash/time"/>` + "\n")
	b.WriteString("</MPD>\n")
	return []byte(b.String())
}
