package demo

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/edgeswarm/edgeswarm/origin"
)

// The timeline manifest, read by the node's MPD parser, lists the live
// window up to the edge as $Time$ URLs; each serves the segment of that
// decode time, byte for byte the numbered one; a segment later the
// manifest (and its ETag) moves on by one, and names that are no segment's
// decode time are 404.
func TestDASHTimeline(t *testing.T) {
	clk := newFakeClock(testStart)
	o := newTestOrigin(t, DefaultConfig(), clk)
	read := func() (*origin.MPDInfo, string) {
		t.Helper()
		res := do(t, o, "GET", "/dash/timeline.mpd", nil)
		if res.code != 200 || res.header.Get("Content-Type") != "application/dash+xml" {
			t.Fatalf("timeline.mpd: %d %q", res.code, res.header.Get("Content-Type"))
		}
		if strings.Contains(string(res.body), "startNumber") || !strings.Contains(string(res.body), "$Time$") {
			t.Fatalf("timeline.mpd: want $Time$ names and no startNumber:\n%s", res.body)
		}
		info, err := origin.ParseMPD("/dash/timeline.mpd", res.body, nil, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !info.Dynamic || len(info.Representations) != 3 {
			t.Fatalf("dynamic %v, %d representations", info.Dynamic, len(info.Representations))
		}
		return info, res.header.Get("ETag")
	}
	info, etag := read()
	edge := o.liveEdge(clk.Now())
	window := int64(dashLiveWindow / o.segDur)
	for ri, r := range info.Representations {
		if int64(len(r.Segments)) != window || r.Init != "/dash/live/"+r.ID+"/init.mp4" {
			t.Fatalf("%s: %d segments (want %d), init %q", r.ID, len(r.Segments), window, r.Init)
		}
		for i, p := range r.Segments {
			n := edge - window + 1 + int64(i)
			want := fmt.Sprintf("/dash/live/%s/t%d.m4s", r.ID, o.dashTime(ri, n))
			if p != want {
				t.Fatalf("%s: segment %d is %q, want %q", r.ID, i, p, want)
			}
			b := get(t, o, p)
			if dt, seq := decodeTime(t, b); dt != o.dashTime(ri, n) || seq != uint32(n+1) {
				t.Errorf("%s: decode time %d, sequence %d; want %d, %d", p, dt, seq, o.dashTime(ri, n), n+1)
			}
			if numbered := get(t, o, fmt.Sprintf("/dash/live/%s/%d.m4s", r.ID, n)); !bytes.Equal(b, numbered) {
				t.Errorf("%s differs from segment %d", p, n)
			}
		}
		// Video: 2 s at 12.8 kHz per segment, from the epoch.
		if r.ID != "audio" && o.dashTime(ri, edge) != uint64(edge)*25600 {
			t.Errorf("%s: the edge's decode time %d, want %d", r.ID, o.dashTime(ri, edge), edge*25600)
		}
	}
	clk.Advance(o.segDur)
	next, etag2 := read()
	for i, r := range next.Representations {
		prev := info.Representations[i].Segments
		if got := r.Segments[len(r.Segments)-2]; got != prev[len(prev)-1] {
			t.Errorf("%s: a segment later, the one before the edge is %q, want the previous edge %q", r.ID, got, prev[len(prev)-1])
		}
	}
	if etag2 == etag {
		t.Errorf("the manifest changed and kept its ETag %s", etag)
	}
	a := o.dashTime(0, edge)
	for _, p := range []string{fmt.Sprintf("/dash/live/low/t%d.m4s", a+1), fmt.Sprintf("/dash/live/low/t0%d.m4s", a), "/dash/live/low/t.m4s",
		"/dash/live/low/t-1.m4s", fmt.Sprintf("/dash/vod/low/t%d.m4s", a), fmt.Sprintf("/dash/live/low/t%d.m4s", o.dashTime(0, edge+5))} {
		if res := do(t, o, "GET", p, nil); res.code != 404 {
			t.Errorf("%s: %d, want 404", p, res.code)
		}
	}
}
