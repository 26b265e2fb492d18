package demo

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
)

// newFakeClock returns a clock the test moves by hand.
func newFakeClock(t time.Time) *fakeclock.Clock { return fakeclock.New(t) }

// testStart is a fixed instant, 0.5 s into a segment, where the live edge is a
// large sequence number (as in production).
var testStart = time.Date(2025, 3, 14, 15, 9, 26, 500_000_000, time.UTC)

func newTestOrigin(tb testing.TB, cfg Config, clock *fakeclock.Clock) *Origin {
	tb.Helper()
	var now func() time.Time
	if clock != nil {
		now = clock.Now
	}
	o, err := New(cfg, now)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return o
}

// response is a recorded response with its body read.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// do sends one request straight to the handler.
func do(tb testing.TB, h http.Handler, method, path string, header http.Header) response {
	tb.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{code: res.StatusCode, header: res.Header, body: body}
}

// get fetches path and fails the test unless the answer is 200.
func get(tb testing.TB, h http.Handler, path string) []byte {
	tb.Helper()
	res := do(tb, h, http.MethodGet, path, nil)
	if res.code != http.StatusOK {
		tb.Fatalf("GET %s: status %d, want 200 (%s)", path, res.code, bytes.TrimSpace(res.body))
	}
	return res.body
}

// pes is one reassembled PES packet of a segment.
type pes struct {
	streamID byte
	pts, dts uint64 // dts == pts when the header has no DTS
	payload  []byte
}

// tsStreams splits a segment into the PES packets of each PID and checks the
// packet structure; pcrs lists the PCR bases in order.
type tsStreams struct {
	pes  map[uint16][]pes
	pcrs []uint64
	// cc lists, per PID, the continuity counters of the packets with payload.
	cc map[uint16][]byte
}

func parseTS(tb testing.TB, seg []byte) tsStreams {
	tb.Helper()
	if err := tsPacketsValid(seg); err != nil {
		tb.Fatalf("segment is not valid MPEG-TS: %v", err)
	}
	s := tsStreams{pes: make(map[uint16][]pes), cc: make(map[uint16][]byte)}
	open := make(map[uint16]*pes)
	flush := func(pid uint16) {
		if p := open[pid]; p != nil {
			s.pes[pid] = append(s.pes[pid], *p)
			delete(open, pid)
		}
	}
	for off := 0; off < len(seg); off += tsPacketSize {
		p := seg[off : off+tsPacketSize]
		pid := tsPID(p)
		if pcr := tsPCRField(p); pcr != nil {
			s.pcrs = append(s.pcrs, getPCRBase(pcr))
		}
		if !tsHasPayload(p) {
			continue
		}
		s.cc[pid] = append(s.cc[pid], p[3]&0x0f)
		po := tsPayloadOffset(p)
		if po < 0 {
			tb.Fatalf("packet at %d: bad adaptation field", off)
		}
		payload := p[po:]
		if p[1]&0x40 != 0 {
			flush(pid)
			pts, dts := tsPESTimestamps(p)
			if pts == nil {
				continue // PSI or a PES without timestamps
			}
			e := &pes{streamID: payload[3], pts: getTimestamp(pts)}
			e.dts = e.pts
			if dts != nil {
				e.dts = getTimestamp(dts)
			}
			hdr := 9 + int(payload[8])
			e.payload = append(e.payload, payload[hdr:]...)
			open[pid] = e
			continue
		}
		if e := open[pid]; e != nil {
			e.payload = append(e.payload, payload...)
		}
	}
	for pid := range open {
		flush(pid)
	}
	return s
}

// streamPID returns the PID whose PES packets have a stream ID in [lo, hi].
func (s tsStreams) streamPID(tb testing.TB, lo, hi byte) uint16 {
	tb.Helper()
	for pid, ps := range s.pes {
		if len(ps) > 0 && ps[0].streamID >= lo && ps[0].streamID <= hi {
			return pid
		}
	}
	tb.Fatalf("no stream with ID in [%#x, %#x]", lo, hi)
	return 0
}

func (s tsStreams) videoPID(tb testing.TB) uint16 { tb.Helper(); return s.streamPID(tb, 0xe0, 0xef) }
func (s tsStreams) audioPID(tb testing.TB) uint16 { tb.Helper(); return s.streamPID(tb, 0xc0, 0xdf) }

// adtsFrames counts the ADTS frames in an audio PES payload.
func adtsFrames(tb testing.TB, b []byte) int {
	tb.Helper()
	n := 0
	for len(b) > 0 {
		if len(b) < 7 || b[0] != 0xff || b[1]&0xf0 != 0xf0 {
			tb.Fatalf("bad ADTS header")
		}
		size := int(b[3]&0x03)<<11 | int(b[4])<<3 | int(b[5]>>5)
		if size < 7 || size > len(b) {
			tb.Fatalf("bad ADTS frame length %d", size)
		}
		b = b[size:]
		n++
	}
	return n
}

// tsDiff returns b - a on the 33-bit timestamp circle, as a signed value.
func tsDiff(a, b uint64) int64 {
	d := int64((b - a) % pts33)
	if d >= pts33/2 {
		d -= pts33
	}
	return d
}
