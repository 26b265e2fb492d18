package demo

import (
	"fmt"
)

// MPEG-TS constants used when looping the clip.
const (
	tsPacketSize = 188
	tsSyncByte   = 0x47
	tsNumPIDs    = 1 << 13
	// pts33 is the modulus of PES PTS/DTS and of the PCR base (33 bits).
	pts33 = 1 << 33
)

// tsPacketsValid reports whether b is a whole number of 188-byte packets, each
// starting with the sync byte.
func tsPacketsValid(b []byte) error {
	if len(b) == 0 || len(b)%tsPacketSize != 0 {
		return fmt.Errorf("length %d is not a positive multiple of %d", len(b), tsPacketSize)
	}
	for off := 0; off < len(b); off += tsPacketSize {
		if b[off] != tsSyncByte {
			return fmt.Errorf("no sync byte at offset %d", off)
		}
	}
	return nil
}

// tsHasPayload reports whether packet p carries a payload (its continuity
// counter counts).
func tsHasPayload(p []byte) bool { return p[3]&0x10 != 0 }

func tsPID(p []byte) uint16 { return uint16(p[1]&0x1f)<<8 | uint16(p[2]) }

// tsPayloadOffset returns where the payload of packet p starts, or -1 when the
// packet has no payload or its adaptation field is malformed.
func tsPayloadOffset(p []byte) int {
	if !tsHasPayload(p) {
		return -1
	}
	off := 4
	if p[3]&0x20 != 0 {
		off += 1 + int(p[4])
	}
	if off >= tsPacketSize {
		return -1
	}
	return off
}

// tsPCRField returns the 6-byte PCR field of packet p, or nil.
func tsPCRField(p []byte) []byte {
	if p[3]&0x20 == 0 || p[4] < 7 || p[5]&0x10 == 0 {
		return nil
	}
	return p[6:12]
}

// tsPESTimestamps returns the 5-byte PTS and DTS fields of the PES header that
// starts in packet p (nil when absent). Only audio, video and private stream 1
// PES packets carry the optional header with timestamps.
func tsPESTimestamps(p []byte) (pts, dts []byte) {
	if p[1]&0x40 == 0 {
		return nil, nil
	}
	off := tsPayloadOffset(p)
	if off < 0 || off+9 > tsPacketSize {
		return nil, nil
	}
	h := p[off:]
	if h[0] != 0 || h[1] != 0 || h[2] != 1 {
		return nil, nil
	}
	if sid := h[3]; sid != 0xbd && (sid < 0xc0 || sid > 0xef) {
		return nil, nil
	}
	if h[6]&0xc0 != 0x80 {
		return nil, nil
	}
	flags := h[7] >> 6
	if flags&2 == 0 || len(h) < 14 {
		return nil, nil
	}
	pts = h[9:14]
	if flags == 3 && len(h) >= 19 {
		dts = h[14:19]
	}
	return pts, dts
}

// getTimestamp decodes a 33-bit PES timestamp.
func getTimestamp(b []byte) uint64 {
	return uint64(b[0]>>1&0x07)<<30 | uint64(b[1])<<22 | uint64(b[2]>>1)<<15 | uint64(b[3])<<7 | uint64(b[4]>>1)
}

// putTimestamp encodes a 33-bit PES timestamp, keeping the 4-bit prefix and
// setting the marker bits.
func putTimestamp(b []byte, v uint64) {
	v %= pts33
	b[0] = b[0]&0xf0 | byte(v>>29)&0x0e | 1
	b[1] = byte(v >> 22)
	b[2] = byte(v>>14) | 1
	b[3] = byte(v >> 7)
	b[4] = byte(v<<1) | 1
}

// getPCRBase decodes the 33-bit base of a PCR field.
func getPCRBase(b []byte) uint64 {
	return uint64(b[0])<<25 | uint64(b[1])<<17 | uint64(b[2])<<9 | uint64(b[3])<<1 | uint64(b[4]>>7)
}

// putPCRBase encodes the 33-bit base of a PCR field, keeping the extension.
func putPCRBase(b []byte, v uint64) {
	v %= pts33
	b[0] = byte(v >> 25)
	b[1] = byte(v >> 17)
	b[2] = byte(v >> 9)
	b[3] = byte(v >> 1)
	b[4] = b[4]&0x7f | byte(v<<7)
}

// ccCounts holds, per PID, how many payload-carrying packets one loop of the
// clip has, modulo 16: how far the continuity counters move per loop.
type ccCounts [tsNumPIDs]uint8

// normalizeCC renumbers the continuity counters of the segments in place so
// that they run on without a gap from the first packet of segs[0] to the last
// of segs[len-1], and returns how far each PID's counter moves over all of
// them. Packets without payload repeat the previous value, as the standard
// requires.
func normalizeCC(segs [][]byte) *ccCounts {
	var next [tsNumPIDs]uint32
	for _, seg := range segs {
		for off := 0; off+tsPacketSize <= len(seg); off += tsPacketSize {
			p := seg[off : off+tsPacketSize]
			pid := tsPID(p)
			cc := next[pid]
			if tsHasPayload(p) {
				next[pid]++
			} else {
				cc--
			}
			p[3] = p[3]&0xf0 | byte(cc&0x0f)
		}
	}
	var counts ccCounts
	for pid, n := range next {
		counts[pid] = uint8(n & 0x0f)
	}
	return &counts
}

// loopRewrite rewrites one clip segment, in place, for its use in loop number
// loop: every PTS, DTS and PCR base moves by loop*clip90k (modulo 2^33) and
// every continuity counter by loop*counts[pid] (modulo 16), so that the last
// segment of loop k-1 and the first of loop k join without a discontinuity.
func loopRewrite(seg []byte, loop uint64, clip90k uint64, counts *ccCounts) error {
	if err := tsPacketsValid(seg); err != nil {
		return err
	}
	shift := (loop % pts33) * clip90k % pts33
	ccLoop := byte(loop % 16)
	for off := 0; off < len(seg); off += tsPacketSize {
		p := seg[off : off+tsPacketSize]
		if ccLoop != 0 {
			add := ccLoop * counts[tsPID(p)]
			p[3] = p[3]&0xf0 | (p[3]+add)&0x0f
		}
		if shift == 0 {
			continue
		}
		if pcr := tsPCRField(p); pcr != nil {
			putPCRBase(pcr, getPCRBase(pcr)+shift)
		}
		pts, dts := tsPESTimestamps(p)
		if pts != nil {
			putTimestamp(pts, getTimestamp(pts)+shift)
		}
		if dts != nil {
			putTimestamp(dts, getTimestamp(dts)+shift)
		}
	}
	return nil
}
