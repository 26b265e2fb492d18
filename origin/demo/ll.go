package demo

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The LL-HLS mode (/ll/): the live stream again, each segment also served
// in llParts parts, listed with EXT-X-PART as they are "recorded", and the
// origin's own blocking playlist reloads and blocking preload-hint
// requests, as a real LL-HLS packager has them:
//
//	/ll/master.m3u8                    multivariant playlist
//	/ll/<rendition>/index.m3u8         media playlist (_HLS_msn, _HLS_part)
//	/ll/<rendition>/<seq>.ts           segment (the same bytes as /live/)
//	/ll/<rendition>/<seq>.<part>.ts    part: a run of the segment's packets
//
// Part j of segment n exists from segmentStart(n) + (j+1)*partDur on.
// Parts split a segment's MPEG-TS packets in equal runs, so only part 0
// (which starts with the segment's key frame) is INDEPENDENT.

// llParts is the number of parts of a segment (0.5 s parts of the clip's
// 2 s segments).
const llParts = 4

// llVersion is the EXT-X-VERSION of the LL-HLS playlists.
const llVersion = 9

// partDur returns the duration of a part.
func (o *Origin) partDur() time.Duration { return o.segDur / llParts }

// partReady returns when part `part` of segment seq exists (part -1: when
// the whole segment does).
func (o *Origin) partReady(seq int64, part int) time.Time {
	if part < 0 {
		return o.segmentStart(seq + 1)
	}
	return o.segmentStart(seq).Add(time.Duration(part+1) * o.partDur())
}

// llNewest returns the newest part at now: part `part` of segment seq
// (part -1: no part of seq yet, the segment before it is complete).
func (o *Origin) llNewest(now time.Time) (seq int64, part int) {
	seq = o.liveEdge(now) + 1
	return seq, int(now.Sub(o.segmentStart(seq))/o.partDur()) - 1
}

// serveLL serves the LL-HLS mode; p is the path after "/ll/".
func (o *Origin) serveLL(w http.ResponseWriter, r *http.Request, p string) {
	rendition, file, _ := strings.Cut(p, "/")
	if p == "master.m3u8" {
		o.serve(w, r, o.master(), contentTypePlaylist, cacheControlMaster, o.etag("ll", "master"), time.Time{})
		return
	}
	ri, ok := o.index[rendition]
	if !ok {
		o.fail(w, http.StatusNotFound)
		return
	}
	if file == "index.m3u8" {
		o.serveLLPlaylist(w, r, rendition)
		return
	}
	if rt, ok := parsePath("/live/" + p); ok && rt.res == resSegment {
		o.serveLLObject(w, r, ri, rt.seq, -1)
		return
	}
	name, ok := strings.CutSuffix(file, ".ts")
	s, j, ok2 := strings.Cut(name, ".")
	seq, err1 := strconv.ParseInt(s, 10, 64)
	part, err2 := strconv.Atoi(j)
	if !ok || !ok2 || err1 != nil || err2 != nil || seq < 0 || part < 0 || part >= llParts || strconv.FormatInt(seq, 10) != s || strconv.Itoa(part) != j {
		o.fail(w, http.StatusNotFound)
		return
	}
	o.serveLLObject(w, r, ri, seq, part)
}

// waitUntil holds the request until t on the origin's clock (false: the
// viewer went away first).
func (o *Origin) waitUntil(r *http.Request, t time.Time) bool {
	d := t.Sub(o.clock())
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// llHoldLimit is how far ahead a request may ask: further is a 400 for a
// playlist (the spec's "more than two segments ahead") and a 404 for a part.
func (o *Origin) llHoldLimit() time.Duration { return 3 * o.segDur }

// serveLLObject serves a segment (part -1) or a part, holding a request
// for one that is about to exist (a preload hint) until it does.
func (o *Origin) serveLLObject(w http.ResponseWriter, r *http.Request, ri int, seq int64, part int) {
	now := o.clock()
	ready := o.partReady(seq, part)
	if ready.Sub(now) > o.partDur() || seq <= o.liveEdge(now)-o.retain {
		o.fail(w, http.StatusNotFound)
		return
	}
	if !o.waitUntil(r, ready) {
		return
	}
	seg := o.segment(ri, seq)
	body, tag := seg, strconv.FormatInt(seq, 10)
	if part >= 0 {
		body = seg[partStart(seg, part):partStart(seg, part+1)]
		tag += "." + strconv.Itoa(part)
	}
	o.serve(w, r, body, contentTypeSegment, cacheControlSegment, o.etag("ll", o.renditions[ri].name, tag), time.Time{})
}

// serveLLPlaylist serves a media playlist, holding a blocking reload
// (_HLS_msn, _HLS_part) until the playlist has what it asks for.
func (o *Origin) serveLLPlaylist(w http.ResponseWriter, r *http.Request, rendition string) {
	q := r.URL.Query()
	if m := q.Get("_HLS_msn"); m != "" || q.Has("_HLS_part") {
		msn, err := strconv.ParseInt(m, 10, 64)
		part := -1
		if s := q.Get("_HLS_part"); err == nil && s != "" {
			part, err = strconv.Atoi(s)
		}
		if err != nil || msn < 0 || part < -1 || part >= llParts {
			http.Error(w, "bad _HLS_msn or _HLS_part", http.StatusBadRequest)
			return
		}
		ready := o.partReady(msn, part)
		if ready.Sub(o.clock()) > o.llHoldLimit() {
			http.Error(w, "_HLS_msn too far ahead of the live edge", http.StatusBadRequest)
			return
		}
		if !o.waitUntil(r, ready) {
			return
		}
	}
	now := o.clock()
	seq, part := o.llNewest(now)
	if seq < 1 {
		o.fail(w, http.StatusNotFound)
		return
	}
	// The plain playlist changes with every part: revalidated before each
	// reuse. A blocking reload's answer never changes.
	cc := "public, max-age=0"
	if q.Has("_HLS_msn") {
		cc = "public, max-age=6"
	}
	o.serve(w, r, o.llPlaylist(seq, part), contentTypePlaylist, cc,
		o.etag("ll", rendition, strconv.FormatInt(seq, 10), strconv.Itoa(part)), time.Time{})
}

// llPlaylist returns the LL-HLS media playlist whose newest part is part
// `part` of segment seq.
func (o *Origin) llPlaylist(seq int64, part int) []byte {
	edge := seq - 1 // the newest complete segment
	first := max(0, edge-o.window+1)
	pt := o.partDur().Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n", llVersion, o.target)
	fmt.Fprintf(&b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%.3f,HOLD-BACK=%d\n", 3*pt, 3*o.target)
	fmt.Fprintf(&b, "#EXT-X-PART-INF:PART-TARGET=%.3f\n#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", pt, first)
	fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", o.segmentStart(first).Format("2006-01-02T15:04:05.000Z07:00"))
	writeParts := func(s int64, n int) {
		for j := range n {
			indep := ""
			if j == 0 {
				indep = ",INDEPENDENT=YES"
			}
			fmt.Fprintf(&b, "#EXT-X-PART:DURATION=%.3f,URI=\"%d.%d.ts\"%s\n", pt, s, j, indep)
		}
	}
	inf := o.extinf()
	for s := first; s <= edge; s++ {
		if s > edge-2 { // parts of the newest segments only
			writeParts(s, llParts)
		}
		fmt.Fprintf(&b, "#EXTINF:%s,\n%d.ts\n", inf, s)
	}
	writeParts(seq, part+1)
	next, nextPart := seq, part+1
	if nextPart == llParts {
		next, nextPart = seq+1, 0
	}
	fmt.Fprintf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%d.%d.ts\"\n", next, nextPart)
	return []byte(b.String())
}

// partStart returns where part `part` of a segment starts: at the first
// packet that starts a video PES at or after the part's share of the
// packets, so that a part never begins inside a video frame (part 0 at 0,
// part llParts at the end).
func partStart(seg []byte, part int) int {
	n := len(seg) / tsPacketSize
	if part <= 0 {
		return 0
	}
	if part >= llParts {
		return n * tsPacketSize
	}
	for i := n * part / llParts; i < n; i++ {
		p := seg[i*tsPacketSize : (i+1)*tsPacketSize]
		if p[1]&0x40 == 0 {
			continue // no payload unit starts here
		}
		if off := tsPayloadOffset(p); off >= 0 && off+4 <= len(p) && p[off] == 0 && p[off+1] == 0 && p[off+2] == 1 && p[off+3]&0xf0 == 0xe0 {
			return i * tsPacketSize
		}
	}
	return n * tsPacketSize
}
