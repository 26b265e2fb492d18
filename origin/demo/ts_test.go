package demo

import (
	"bytes"
	"fmt"
	"testing"
)

func TestTimestampRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 90000, 1<<30 - 1, 1 << 30, 1<<32 + 12345, pts33 - 1} {
		b := []byte{0x31, 0, 0, 0, 0}
		putTimestamp(b, v)
		if got := getTimestamp(b); got != v {
			t.Errorf("timestamp %d: got %d back", v, got)
		}
		if b[0]&0xf0 != 0x30 || b[0]&1 != 1 || b[2]&1 != 1 || b[4]&1 != 1 {
			t.Errorf("timestamp %d: prefix or marker bits lost: % x", v, b)
		}
		pcr := []byte{0, 0, 0, 0, 0x7e | 0x01, 0x23} // reserved bits and extension 0x123
		putPCRBase(pcr, v)
		if got := getPCRBase(pcr); got != v {
			t.Errorf("PCR base %d: got %d back", v, got)
		}
		if pcr[4]&0x7f != 0x7f || pcr[5] != 0x23 {
			t.Errorf("PCR base %d: extension changed: % x", v, pcr)
		}
	}
}

// liveSegment fetches live segment seq of rendition name through the handler.
func liveSegment(t *testing.T, o *Origin, name string, seq int64) []byte {
	t.Helper()
	return get(t, o, fmt.Sprintf("/live/%s/%d.ts", name, seq))
}

// TestLoopTimestamps checks that looping the clip shifts every timestamp by
// exactly one clip duration per loop and leaves the rest of the bytes alone.
func TestLoopTimestamps(t *testing.T) {
	clock := newFakeClock(testStart)
	o := newTestOrigin(t, DefaultConfig(), clock)
	k := int64(len(o.clips[0].segments))
	clip90k := k * 2 * 90000 // k segments of 2 s at 90 kHz
	edge := o.liveEdge(clock.Now())
	for _, name := range o.Renditions() {
		t.Run(name, func(t *testing.T) {
			n := edge - k
			a, b := parseTS(t, liveSegment(t, o, name, n)), parseTS(t, liveSegment(t, o, name, n+k))
			if len(a.pes) == 0 || len(a.pcrs) == 0 {
				t.Fatalf("segment %d has %d streams and %d PCRs", n, len(a.pes), len(a.pcrs))
			}
			for pid, as := range a.pes {
				bs := b.pes[pid]
				if len(as) != len(bs) {
					t.Fatalf("PID %d: %d PES packets, then %d one loop later", pid, len(as), len(bs))
				}
				for i := range as {
					if d := tsDiff(as[i].pts, bs[i].pts); d != clip90k {
						t.Errorf("PID %d PES %d: PTS moved by %d over one loop, want %d", pid, i, d, clip90k)
					}
					if d := tsDiff(as[i].dts, bs[i].dts); d != clip90k {
						t.Errorf("PID %d PES %d: DTS moved by %d over one loop, want %d", pid, i, d, clip90k)
					}
					if !bytes.Equal(as[i].payload, bs[i].payload) {
						t.Errorf("PID %d PES %d: payload differs between loops", pid, i)
					}
				}
			}
			for i := range a.pcrs {
				if d := tsDiff(a.pcrs[i], b.pcrs[i]); d != clip90k {
					t.Errorf("PCR %d moved by %d over one loop, want %d", i, d, clip90k)
				}
			}
		})
	}
}

// TestLiveTimelineContinuous walks consecutive live segments across a loop
// boundary and checks that the stream continues as if it were one long
// recording: video frames every 40 ms, audio without gap or overlap, PCR and
// continuity counters without jumps.
func TestLiveTimelineContinuous(t *testing.T) {
	clock := newFakeClock(testStart)
	o := newTestOrigin(t, DefaultConfig(), clock)
	k := int64(len(o.clips[0].segments))
	edge := o.liveEdge(clock.Now())
	// Start two segments before a loop boundary, end two after the next.
	first := (edge-2*k)/k*k - 2
	const frame90k, aacFrame90k = 90000 / 25, 90000 * 1024 / 48000
	for _, name := range o.Renditions() {
		t.Run(name, func(t *testing.T) {
			var (
				lastVideoDTS, audioEnd, lastPCR uint64
				lastCC                          = make(map[uint16]byte)
				started                         bool
			)
			for seq := first; seq <= first+k+4; seq++ {
				s := parseTS(t, liveSegment(t, o, name, seq))
				v, a := s.pes[s.videoPID(t)], s.pes[s.audioPID(t)]
				if got := len(v); got != 50 {
					t.Errorf("segment %d: %d video frames, want 50 (2 s at 25 fps)", seq, got)
				}
				if !hasIDR(v[0].payload) {
					t.Errorf("segment %d does not start with an IDR frame", seq)
				}
				for i, f := range v {
					if started || i > 0 {
						if d := tsDiff(lastVideoDTS, f.dts); d != frame90k {
							t.Fatalf("segment %d video frame %d: DTS step %d, want %d", seq, i, d, frame90k)
						}
					}
					if f.pts < f.dts && tsDiff(f.dts, f.pts) < 0 {
						t.Fatalf("segment %d video frame %d: PTS before DTS", seq, i)
					}
					lastVideoDTS = f.dts
				}
				for i, f := range a {
					if started || i > 0 {
						if d := tsDiff(audioEnd, f.pts); d != 0 {
							t.Fatalf("segment %d audio PES %d: starts %d ticks after the previous one ended", seq, i, d)
						}
					}
					audioEnd = (f.pts + uint64(adtsFrames(t, f.payload))*aacFrame90k) % pts33
				}
				for i, pcr := range s.pcrs {
					if (started || i > 0) && tsDiff(lastPCR, pcr) <= 0 {
						t.Fatalf("segment %d PCR %d does not increase", seq, i)
					}
					lastPCR = pcr
				}
				for pid, ccs := range s.cc {
					for i, cc := range ccs {
						if prev, ok := lastCC[pid]; ok && cc != (prev+1)&0x0f {
							t.Fatalf("segment %d PID %d packet %d: continuity counter %d after %d", seq, pid, i, cc, prev)
						}
						lastCC[pid] = cc
					}
				}
				started = true
			}
		})
	}
}

// hasIDR reports whether an H.264 Annex B access unit holds an IDR slice.
func hasIDR(au []byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 && au[i+3]&0x1f == 5 {
			return true
		}
	}
	return false
}

// TestCodecsMatchMedia checks that the CODECS attribute announced in the
// multivariant playlist is the profile and level of the committed video.
func TestCodecsMatchMedia(t *testing.T) {
	o := newTestOrigin(t, DefaultConfig(), newFakeClock(testStart))
	for i, r := range o.renditions {
		s := parseTS(t, o.clips[i].segments[0])
		au := s.pes[s.videoPID(t)][0].payload
		idx := -1
		for j := 0; j+7 < len(au); j++ {
			if au[j] == 0 && au[j+1] == 0 && au[j+2] == 1 && au[j+3]&0x1f == 7 {
				idx = j + 4
				break
			}
		}
		if idx < 0 {
			t.Fatalf("%s: no SPS in the first access unit", r.name)
		}
		want := fmt.Sprintf("avc1.%02x%02x%02x", au[idx], au[idx+1], au[idx+2])
		if got, _, _ := bytes.Cut([]byte(r.codecs), []byte(",")); string(got) != want {
			t.Errorf("%s: CODECS announces %s, media is %s", r.name, got, want)
		}
	}
}

func TestLoopRewriteRejectsBadInput(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":      nil,
		"short":      make([]byte, 100),
		"no sync":    make([]byte, tsPacketSize),
		"odd length": append(bytes.Repeat([]byte{tsSyncByte}, tsPacketSize), 0),
	} {
		if err := loopRewrite(b, 1, 1, new(ccCounts)); err == nil {
			t.Errorf("%s: loopRewrite accepted it", name)
		}
	}
}
