package demo

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/origin"
)

// The on-demand manifest, read by the node's MPD parser, gives each
// Representation one file with its init and index ranges; the init range
// holds the init segment, the index range a sidx whose references cover
// the rest of the file fragment by fragment (each a moof and its mdat, the
// clip's segments in order) with the clip's duration, and ranges of the
// file are served 206.
func TestDASHOnDemand(t *testing.T) {
	o := newTestOrigin(t, DefaultConfig(), nil)
	body := get(t, o, "/dash/ondemand.mpd")
	info, err := origin.ParseMPD("/dash/ondemand.mpd", body, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if info.Dynamic || len(info.Representations) != 3 {
		t.Fatalf("dynamic %v, %d representations", info.Dynamic, len(info.Representations))
	}
	for ri, r := range info.Representations {
		rep := &o.dash[ri]
		if r.Init != "/dash/ondemand/"+r.ID+".mp4" || len(r.Segments) != 1 || r.Segments[0] != r.Init {
			t.Fatalf("%s: init %q, segments %q; want the one file", r.ID, r.Init, r.Segments)
		}
		file := get(t, o, r.Init)
		span := func(rg string) []byte {
			t.Helper()
			a, b, ok := strings.Cut(rg, "-")
			from, err1 := strconv.Atoi(a)
			to, err2 := strconv.Atoi(b)
			if !ok || err1 != nil || err2 != nil || from > to || to >= len(file) {
				t.Fatalf("%s: range %q of a %d-byte file", r.ID, rg, len(file))
			}
			return file[from : to+1]
		}
		if !bytes.Equal(span(r.InitRange), rep.init) {
			t.Errorf("%s: the init range %s is not the init segment", r.ID, r.InitRange)
		}
		sidx := span(r.IndexRange)
		typ, _, size, err := box(sidx)
		if err != nil || typ != "sidx" || size != len(sidx) || sidx[8] != 1 {
			t.Fatalf("%s: index range %s holds %q (%d of %d bytes, %v), want a version 1 sidx", r.ID, r.IndexRange, typ, size, len(sidx), err)
		}
		if ts := binary.BigEndian.Uint32(sidx[16:]); ts != rep.timescale {
			t.Errorf("%s: sidx timescale %d, the track's %d", r.ID, ts, rep.timescale)
		}
		n := int(binary.BigEndian.Uint16(sidx[38:]))
		if n != len(rep.segments) {
			t.Fatalf("%s: %d references, want one per clip segment (%d)", r.ID, n, len(rep.segments))
		}
		at, _ := strconv.Atoi(strings.SplitN(r.IndexRange, "-", 2)[1])
		at++
		var dur uint64
		for i := range n {
			ref := binary.BigEndian.Uint32(sidx[40+12*i:])
			if ref>>31 != 0 {
				t.Fatalf("%s: reference %d is to an index", r.ID, i)
			}
			f := file[at : at+int(ref)]
			if typ, _, _, _ := box(f); typ != "moof" {
				t.Errorf("%s: fragment %d starts with %q", r.ID, i, typ)
			}
			if dt, _ := decodeTime(t, f); dt != rep.base[i] {
				t.Errorf("%s: fragment %d decode time %d, want %d", r.ID, i, dt, rep.base[i])
			}
			dur += uint64(binary.BigEndian.Uint32(sidx[40+12*i+4:]))
			at += int(ref)
		}
		if at != len(file) {
			t.Errorf("%s: references end at %d of %d bytes", r.ID, at, len(file))
		}
		if dur != rep.clipTicks {
			t.Errorf("%s: subsegments last %d ticks, the clip %d", r.ID, dur, rep.clipTicks)
		}
		res := do(t, o, "GET", r.Init, http.Header{"Range": {"bytes=" + r.IndexRange}})
		if res.code != http.StatusPartialContent || !bytes.Equal(res.body, sidx) {
			t.Errorf("%s: Range %s: %d, %d bytes", r.ID, r.IndexRange, res.code, len(res.body))
		}
	}
	for _, p := range []string{"/dash/ondemand/high.mp4", "/dash/ondemand/low", "/dash/ondemand/", fmt.Sprintf("/dash/ondemand/low.mp4/%d", 1)} {
		if res := do(t, o, "GET", p, nil); res.code != 404 {
			t.Errorf("%s: %d, want 404", p, res.code)
		}
	}
}
