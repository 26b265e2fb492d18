package demo

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafov/m3u8"

	"github.com/edgeswarm/edgeswarm/units"
)

func decodePlaylist(tb testing.TB, body []byte) (m3u8.Playlist, m3u8.ListType) {
	tb.Helper()
	p, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil {
		tb.Fatalf("playlist does not parse: %v\n%s", err, body)
	}
	return p, kind
}

func decodeMedia(tb testing.TB, body []byte) *m3u8.MediaPlaylist {
	tb.Helper()
	p, kind := decodePlaylist(tb, body)
	if kind != m3u8.MEDIA {
		tb.Fatalf("got a multivariant playlist, want a media playlist:\n%s", body)
	}
	return p.(*m3u8.MediaPlaylist)
}

// mediaSegments returns the segments of a media playlist (grafov pads the
// slice with nils).
func mediaSegments(p *m3u8.MediaPlaylist) []*m3u8.MediaSegment {
	return p.Segments[:p.Count()]
}

func TestMasterPlaylist(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		want      []string
		hasCodecs bool
	}{
		{name: "clip", cfg: DefaultConfig(), want: []string{"low", "mid", "high"}, hasCodecs: true},
		{name: "synthetic", cfg: func() Config { c := DefaultConfig(); c.Synthetic = true; c.Renditions = 5; return c }(),
			want: []string{"low", "mid", "high", "r3", "r4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTestOrigin(t, tt.cfg, newFakeClock(testStart))
			for _, stream := range []string{"live", "vod"} {
				res := do(t, o, http.MethodGet, "/"+stream+"/master.m3u8", nil)
				if res.code != http.StatusOK || res.header.Get("Content-Type") != contentTypePlaylist {
					t.Fatalf("%s master: status %d, type %q", stream, res.code, res.header.Get("Content-Type"))
				}
				p, kind := decodePlaylist(t, res.body)
				if kind != m3u8.MASTER {
					t.Fatalf("%s master parsed as a media playlist", stream)
				}
				variants := p.(*m3u8.MasterPlaylist).Variants
				if len(variants) != len(tt.want) {
					t.Fatalf("%s master: %d variants, want %d", stream, len(variants), len(tt.want))
				}
				var lastBW uint32
				for i, v := range variants {
					if v.URI != tt.want[i]+"/index.m3u8" {
						t.Errorf("variant %d URI %q, want %q", i, v.URI, tt.want[i]+"/index.m3u8")
					}
					if v.Bandwidth == 0 {
						t.Errorf("variant %d has no BANDWIDTH", i)
					}
					if tt.hasCodecs {
						if v.Bandwidth <= lastBW || v.Resolution == "" || v.Codecs != clipCodecs {
							t.Errorf("variant %d: BANDWIDTH %d (previous %d), RESOLUTION %q, CODECS %q",
								i, v.Bandwidth, lastBW, v.Resolution, v.Codecs)
						}
					}
					lastBW = v.Bandwidth
					// The variant's playlist must resolve.
					get(t, o, "/"+stream+"/"+v.URI)
				}
			}
		})
	}
}

// TestMasterBandwidthCoversSegments checks that BANDWIDTH is a true peak: no
// segment needs more bits per second than announced.
func TestMasterBandwidthCoversSegments(t *testing.T) {
	o := newTestOrigin(t, DefaultConfig(), newFakeClock(testStart))
	for i, r := range o.renditions {
		for n, s := range o.clips[i].segments {
			if bps := int64(len(s)) * 8 / 2; bps > r.bandwidth {
				t.Errorf("%s segment %d: %d bit/s, BANDWIDTH says %d", r.name, n, bps, r.bandwidth)
			}
		}
	}
}

func TestLivePlaylistAdvances(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Window = 10
	clock := newFakeClock(testStart)
	o := newTestOrigin(t, cfg, clock)
	const path = "/live/mid/index.m3u8"

	var lastSeq uint64
	for step, advance := range []time.Duration{0, time.Second, time.Second, 2 * time.Second, time.Minute} {
		clock.Advance(advance)
		res := do(t, o, http.MethodGet, path, nil)
		if res.code != http.StatusOK {
			t.Fatalf("step %d: status %d", step, res.code)
		}
		p := decodeMedia(t, res.body)
		segs := mediaSegments(p)
		if p.Closed || p.TargetDuration != 2 || len(segs) != cfg.Window {
			t.Fatalf("step %d: closed %v, target %v, %d segments; want a live playlist, target 2, %d segments",
				step, p.Closed, p.TargetDuration, len(segs), cfg.Window)
		}
		// The newest segment listed is the last one complete at the clock.
		edgeEnd := time.Unix(0, int64(p.SeqNo+uint64(len(segs)))*int64(2*time.Second))
		if now := clock.Now(); edgeEnd.After(now) || now.Sub(edgeEnd) >= 2*time.Second {
			t.Errorf("step %d: newest segment ends at %v, clock is %v", step, edgeEnd, now)
		}
		// The window slides by one segment per 2 s of clock.
		wantSeq := uint64(clock.Now().UnixNano()/int64(2*time.Second)) - uint64(cfg.Window)
		if p.SeqNo != wantSeq {
			t.Errorf("step %d: media sequence %d, want %d", step, p.SeqNo, wantSeq)
		}
		if step > 0 && p.SeqNo < lastSeq {
			t.Errorf("step %d: media sequence went back from %d to %d", step, lastSeq, p.SeqNo)
		}
		if want := time.Unix(0, int64(p.SeqNo)*int64(2*time.Second)); !segs[0].ProgramDateTime.Equal(want) {
			t.Errorf("step %d: program date time %v, want %v", step, segs[0].ProgramDateTime, want)
		}
		for i, s := range segs {
			if s.Duration != 2 {
				t.Errorf("step %d: segment %d lasts %v", step, i, s.Duration)
			}
			if want := fmt.Sprintf("%d.ts", p.SeqNo+uint64(i)); s.URI != want {
				t.Errorf("step %d: segment %d URI %q, want %q", step, i, s.URI, want)
			}
		}
		// Every listed segment resolves (relative to the playlist URL).
		base, _ := url.Parse(path)
		for _, s := range []*m3u8.MediaSegment{segs[0], segs[len(segs)-1]} {
			ref, _ := url.Parse(s.URI)
			res := do(t, o, http.MethodGet, base.ResolveReference(ref).Path, nil)
			if res.code != http.StatusOK || res.header.Get("Content-Type") != contentTypeSegment {
				t.Errorf("step %d: segment %s: status %d, type %q", step, s.URI, res.code, res.header.Get("Content-Type"))
			}
		}
		lastSeq = p.SeqNo
	}
}

func TestVODPlaylist(t *testing.T) {
	o := newTestOrigin(t, DefaultConfig(), newFakeClock(testStart))
	p := decodeMedia(t, get(t, o, "/vod/high/index.m3u8"))
	segs := mediaSegments(p)
	if !p.Closed || p.MediaType != m3u8.VOD || p.SeqNo != 0 || p.TargetDuration != 2 {
		t.Fatalf("closed %v, type %v, sequence %d, target %v; want a VOD playlist from 0, target 2",
			p.Closed, p.MediaType, p.SeqNo, p.TargetDuration)
	}
	var total float64
	for _, s := range segs {
		total += s.Duration
	}
	if total < 120 || total > 600 {
		t.Errorf("VOD lasts %v s, want a few minutes", total)
	}
	get(t, o, "/vod/high/"+segs[len(segs)-1].URI)
	if res := do(t, o, http.MethodGet, fmt.Sprintf("/vod/high/%d.ts", len(segs)), nil); res.code != http.StatusNotFound {
		t.Errorf("segment past the end of the VOD: status %d, want 404", res.code)
	}
	// VOD and live segments with the same number are the same bytes.
	live := liveSegmentRaw(t, o, "high", 7)
	if !bytes.Equal(get(t, o, "/vod/high/7.ts"), live) {
		t.Errorf("VOD segment 7 differs from live segment 7")
	}
}

// liveSegmentRaw builds a live segment directly (old sequence numbers are no
// longer served over HTTP).
func liveSegmentRaw(t *testing.T, o *Origin, name string, seq int64) []byte {
	t.Helper()
	return o.segment(o.index[name], seq)
}

func TestLiveSegmentAvailability(t *testing.T) {
	clock := newFakeClock(testStart)
	o := newTestOrigin(t, DefaultConfig(), clock)
	edge := o.liveEdge(clock.Now())
	retained := int64(time.Hour / (2 * time.Second))
	tests := []struct {
		seq  int64
		want int
	}{
		{edge, http.StatusOK},
		{edge + 1, http.StatusOK}, // being recorded: grace for clock skew
		{edge + 2, http.StatusNotFound},
		{edge + 1000, http.StatusNotFound},
		{edge - retained + 1, http.StatusOK},
		{edge - retained, http.StatusNotFound},
		{0, http.StatusNotFound},
	}
	for _, tt := range tests {
		res := do(t, o, http.MethodGet, fmt.Sprintf("/live/low/%d.ts", tt.seq), nil)
		if res.code != tt.want {
			t.Errorf("segment edge%+d: status %d, want %d", tt.seq-edge, res.code, tt.want)
		}
	}
}

func TestSegmentsIdenticalAcrossInstances(t *testing.T) {
	synth := DefaultConfig()
	synth.Synthetic = true
	synth.SegmentSize = 100_000
	for name, cfg := range map[string]Config{"clip": DefaultConfig(), "synthetic": synth} {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock(testStart)
			a, b := newTestOrigin(t, cfg, clock), newTestOrigin(t, cfg, clock)
			edge := a.liveEdge(clock.Now())
			for _, r := range a.Renditions() {
				for _, seq := range []int64{edge - 9, edge - 8, edge} {
					path := fmt.Sprintf("/live/%s/%d.ts", r, seq)
					// Fetch twice from a so the second answer comes from its cache.
					x, y, z := get(t, a, path), get(t, a, path), get(t, b, path)
					if !bytes.Equal(x, z) || !bytes.Equal(x, y) {
						t.Errorf("%s differs between instances or between requests", path)
					}
				}
			}
			if bytes.Equal(get(t, a, fmt.Sprintf("/live/low/%d.ts", edge)), get(t, a, fmt.Sprintf("/live/mid/%d.ts", edge))) {
				t.Errorf("two renditions have the same segment bytes")
			}
		})
	}
}

func TestSynthetic(t *testing.T) {
	tests := []struct {
		size       int
		dur        time.Duration
		wantTarget float64
	}{
		{size: 1 << 20, dur: 2 * time.Second, wantTarget: 2},
		{size: 1000, dur: 1500 * time.Millisecond, wantTarget: 2},
		{size: 7, dur: 4 * time.Second, wantTarget: 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%v", tt.size, tt.dur), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Synthetic, cfg.SegmentSize, cfg.SegmentDuration, cfg.Renditions = true, units.ByteSize(tt.size), tt.dur, 2
			clock := newFakeClock(testStart)
			o := newTestOrigin(t, cfg, clock)
			p := decodeMedia(t, get(t, o, "/live/mid/index.m3u8"))
			segs := mediaSegments(p)
			if p.TargetDuration != tt.wantTarget || len(segs) != cfg.Window {
				t.Fatalf("target %v, %d segments; want %v, %d", p.TargetDuration, len(segs), tt.wantTarget, cfg.Window)
			}
			wantSeq := uint64(clock.Now().UnixNano()/int64(tt.dur)) - uint64(cfg.Window)
			if p.SeqNo != wantSeq {
				t.Errorf("media sequence %d, want %d", p.SeqNo, wantSeq)
			}
			seen := make(map[string]bool)
			for _, s := range segs {
				if s.Duration != tt.dur.Seconds() {
					t.Errorf("segment %s lasts %v, want %v", s.URI, s.Duration, tt.dur.Seconds())
				}
				b := get(t, o, "/live/mid/"+s.URI)
				if len(b) != tt.size {
					t.Errorf("segment %s has %d bytes, want %d", s.URI, len(b), tt.size)
				}
				seen[string(b)] = true
			}
			if len(seen) != len(segs) {
				t.Errorf("%d distinct segments among %d", len(seen), len(segs))
			}
			vod := decodeMedia(t, get(t, o, "/vod/low/index.m3u8"))
			if !vod.Closed || len(get(t, o, "/vod/low/0.ts")) != tt.size {
				t.Errorf("synthetic VOD is not closed or has the wrong segment size")
			}
		})
	}
}

func TestHTTPSemantics(t *testing.T) {
	clock := newFakeClock(testStart)
	o := newTestOrigin(t, DefaultConfig(), clock)
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	edge := o.liveEdge(clock.Now())
	seg := fmt.Sprintf("/live/high/%d.ts", edge)

	send := func(t *testing.T, method, path string, header http.Header) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}

	t.Run("content types and caching", func(t *testing.T) {
		tests := []struct {
			path, ctype, cache string
		}{
			{"/live/master.m3u8", contentTypePlaylist, cacheControlMaster},
			{"/live/low/index.m3u8", contentTypePlaylist, "public, max-age=1"},
			{"/vod/low/index.m3u8", contentTypePlaylist, cacheControlVOD},
			{seg, contentTypeSegment, cacheControlSegment},
			{"/vod/mid/3.ts", contentTypeSegment, cacheControlSegment},
		}
		for _, tt := range tests {
			res := send(t, http.MethodGet, tt.path, nil)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != tt.ctype ||
				res.Header.Get("Cache-Control") != tt.cache || res.Header.Get("ETag") == "" {
				t.Errorf("GET %s: status %d, type %q, cache %q, etag %q; want 200, %q, %q, an etag", tt.path, res.StatusCode,
					res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), res.Header.Get("ETag"), tt.ctype, tt.cache)
			}
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		full := get(t, o, seg)
		res := send(t, http.MethodHead, seg, nil)
		if res.StatusCode != http.StatusOK || res.ContentLength != int64(len(full)) {
			t.Errorf("HEAD: status %d, length %d; want 200, %d", res.StatusCode, res.ContentLength, len(full))
		}
	})

	t.Run("conditional", func(t *testing.T) {
		etag := send(t, http.MethodGet, seg, nil).Header.Get("ETag")
		res := send(t, http.MethodGet, seg, http.Header{"If-None-Match": {etag}})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match with the current ETag: status %d, want 304", res.StatusCode)
		}
		lm := send(t, http.MethodGet, "/live/low/index.m3u8", nil).Header.Get("Last-Modified")
		if lm == "" {
			t.Fatalf("live playlist has no Last-Modified")
		}
	})

	t.Run("range", func(t *testing.T) {
		full := get(t, o, seg)
		res := send(t, http.MethodGet, seg, http.Header{"Range": {"bytes=188-375"}})
		if res.StatusCode != http.StatusPartialContent {
			t.Fatalf("range request: status %d, want 206", res.StatusCode)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(res.Body); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), full[188:376]) {
			t.Errorf("range request returned the wrong bytes")
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			method, path string
			want         int
		}{
			{http.MethodPost, "/live/master.m3u8", http.StatusMethodNotAllowed},
			{http.MethodDelete, seg, http.StatusMethodNotAllowed},
			{http.MethodGet, "/", http.StatusNotFound},
			{http.MethodGet, "/live/", http.StatusNotFound},
			{http.MethodGet, "/live/master.m3u", http.StatusNotFound},
			{http.MethodGet, "/live/ultra/index.m3u8", http.StatusNotFound},
			{http.MethodGet, "/live/low/index.m3u8/x", http.StatusNotFound},
			{http.MethodGet, "/live/low/-1.ts", http.StatusNotFound},
			{http.MethodGet, "/live/low/01.ts", http.StatusNotFound},
			{http.MethodGet, "/live/low/abc.ts", http.StatusNotFound},
			{http.MethodGet, "/dvr/low/index.m3u8", http.StatusNotFound},
			{http.MethodGet, "/vod/low/99999999.ts", http.StatusNotFound},
		}
		for _, tt := range tests {
			res := send(t, tt.method, tt.path, nil)
			if res.StatusCode != tt.want {
				t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, res.StatusCode, tt.want)
			}
			if tt.want == http.StatusMethodNotAllowed && !strings.Contains(res.Header.Get("Allow"), "GET") {
				t.Errorf("%s %s: Allow %q", tt.method, tt.path, res.Header.Get("Allow"))
			}
		}
	})
}

func TestLiveBeforeFirstSegment(t *testing.T) {
	o := newTestOrigin(t, DefaultConfig(), newFakeClock(time.Unix(1, 0)))
	if res := do(t, o, http.MethodGet, "/live/low/index.m3u8", nil); res.code != http.StatusNotFound {
		t.Errorf("live playlist before any segment is complete: status %d, want 404", res.code)
	}
	// Shortly after the epoch the window is shorter but valid.
	o = newTestOrigin(t, DefaultConfig(), newFakeClock(time.Unix(7, 0)))
	p := decodeMedia(t, get(t, o, "/live/low/index.m3u8"))
	if p.SeqNo != 0 || p.Count() != 3 {
		t.Errorf("3 s after the epoch: sequence %d, %d segments; want 0, 3", p.SeqNo, p.Count())
	}
}

func TestNilClockUsesTime(t *testing.T) {
	o, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := decodeMedia(t, get(t, o, "/live/low/index.m3u8"))
	if edge := time.Unix(0, int64(p.SeqNo)*int64(2*time.Second)); time.Since(edge) > time.Hour {
		t.Errorf("live edge %v is far from the current time", edge)
	}
}

// A new stream starts when the origin does: nothing before its first
// segment is complete, then only the segments since, growing to the
// window.
func TestLiveNewStream(t *testing.T) {
	clock := newFakeClock(testStart) // 0.5 s into segment n
	cfg := DefaultConfig()
	cfg.NewStream = true
	o := newTestOrigin(t, cfg, clock)
	if res := do(t, o, http.MethodGet, "/live/low/index.m3u8", nil); res.code != http.StatusNotFound {
		t.Fatalf("before the new stream's first segment is complete: status %d, want 404", res.code)
	}
	clock.Advance(2 * time.Second) // segment n done, n+1 not
	p := decodeMedia(t, get(t, o, "/live/low/index.m3u8"))
	first := p.SeqNo
	if p.Count() != 1 {
		t.Fatalf("one segment into the new stream: %d segments listed, want 1", p.Count())
	}
	if res := do(t, o, http.MethodGet, fmt.Sprintf("/live/low/%d.ts", first-1), nil); res.code != http.StatusNotFound {
		t.Errorf("a segment before the new stream: status %d, want 404", res.code)
	}
	get(t, o, fmt.Sprintf("/live/low/%d.ts", first))
	clock.Advance(time.Minute)
	if p := decodeMedia(t, get(t, o, "/live/low/index.m3u8")); p.Count() != uint(cfg.Window) || p.SeqNo <= first {
		t.Errorf("a minute later: %d segments from %d, want the window of %d past %d", p.Count(), p.SeqNo, cfg.Window, first)
	}
}
