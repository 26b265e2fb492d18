package demo

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/origin"
)

// decodeTime reads a fragment's tfdt decode time and mfhd sequence number.
func decodeTime(tb testing.TB, b []byte) (uint64, uint32) {
	tb.Helper()
	_, tfdt, mfhd, err := prepareFragment(b)
	if err != nil {
		tb.Fatalf("segment: %v", err)
	}
	return binary.BigEndian.Uint64(b[tfdt:]), binary.BigEndian.Uint32(b[mfhd:])
}

// The live manifest, read by the node's own MPD parser, lists the
// segments up to the live edge; each is served, and their decode times
// run on across the loop of the clip, for video and audio alike.
func TestDASHLive(t *testing.T) {
	clk := newFakeClock(testStart)
	o := newTestOrigin(t, DefaultConfig(), clk)
	res := do(t, o, "GET", "/dash/live.mpd", nil)
	if res.code != 200 || res.header.Get("Content-Type") != "application/dash+xml" {
		t.Fatalf("live.mpd: %d %q", res.code, res.header.Get("Content-Type"))
	}
	info, err := origin.ParseMPD("/dash/live.mpd", res.body, nil, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !info.Dynamic || len(info.Representations) != 3 {
		t.Fatalf("dynamic %v, %d representations", info.Dynamic, len(info.Representations))
	}
	edge := o.liveEdge(clk.Now())
	for _, r := range info.Representations {
		last := r.StartNumber + uint64(len(r.Segments)) - 1
		if int64(last) != edge {
			t.Errorf("%s: the manifest's newest segment is %d, the live edge %d", r.ID, last, edge)
		}
		if r.Init != "/dash/live/"+r.ID+"/init.mp4" {
			t.Errorf("%s: init %q", r.ID, r.Init)
		}
		get(t, o, r.Init)
		var prevT uint64
		for i, p := range r.Segments {
			b := get(t, o, p)
			dt, seq := decodeTime(t, b)
			n := r.StartNumber + uint64(i)
			if seq != uint32(n+1) {
				t.Errorf("%s: segment %d has sequence number %d", p, n, seq)
			}
			if i > 0 && (dt <= prevT || dt-prevT > 3*48000) {
				t.Errorf("%s: decode time %d after %d", p, dt, prevT)
			}
			if r.ID != "audio" && dt != n*25600 {
				t.Errorf("%s: video decode time %d, want %d (2 s at 12.8 kHz per segment)", p, dt, n*25600)
			}
			prevT = dt
		}
	}
	// One segment of grace past the edge; nothing further.
	if res := do(t, o, "GET", fmt.Sprintf("/dash/live/low/%d.m4s", edge+2), nil); res.code != 404 {
		t.Errorf("a segment two past the edge: %d", res.code)
	}
}

func TestDASHVOD(t *testing.T) {
	o := newTestOrigin(t, DefaultConfig(), nil)
	body := get(t, o, "/dash/vod.mpd")
	info, err := origin.ParseMPD("/dash/vod.mpd", body, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if info.Dynamic || len(info.Representations) != 3 {
		t.Fatalf("dynamic %v, %d representations", info.Dynamic, len(info.Representations))
	}
	for _, r := range info.Representations {
		if int64(len(r.Segments)) != o.vodSegments || r.Duration != vodDuration {
			t.Errorf("%s: %d segments, %v", r.ID, len(r.Segments), r.Duration)
		}
	}
	// Across the loop of the clip, video decode times run on.
	for n := int64(6); n < 10; n++ {
		if dt, _ := decodeTime(t, get(t, o, fmt.Sprintf("/dash/vod/low/%d.m4s", n))); dt != uint64(n)*25600 {
			t.Errorf("VOD segment %d: decode time %d", n, dt)
		}
	}
	if res := do(t, o, "GET", fmt.Sprintf("/dash/vod/low/%d.m4s", o.vodSegments), nil); res.code != 404 {
		t.Errorf("past the end: %d", res.code)
	}
	for _, p := range []string{"/dash/vod/low/01.m4s", "/dash/vod/high/1.m4s", "/dash/x/low/1.m4s", "/dash/vod/low/-1.m4s", "/dash/nothing"} {
		if res := do(t, o, "GET", p, nil); res.code != 404 {
			t.Errorf("%s: %d, want 404", p, res.code)
		}
	}
}

func TestDASHTime(t *testing.T) {
	clk := newFakeClock(testStart)
	o := newTestOrigin(t, DefaultConfig(), clk)
	res := do(t, o, "GET", "/dash/time", nil)
	if got := strings.TrimSpace(string(res.body)); got != "2025-03-14T15:09:26.500Z" || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("/dash/time = %q (%q)", got, res.header.Get("Cache-Control"))
	}
}
