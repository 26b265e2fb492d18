package demo

import "encoding/binary"

// syntheticSegment fills b with the bytes of synthetic segment seq of
// rendition r: a deterministic pseudo-random stream (SplitMix64) seeded by
// both, so every process produces the same bytes for the same segment.
func syntheticSegment(b []byte, r int, seq int64) {
	state := uint64(seq)*0x9e3779b97f4a7c15 ^ uint64(r+1)*0xc2b2ae3d27d4eb4f
	var word [8]byte
	for off := 0; off < len(b); off += 8 {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		if off+8 <= len(b) {
			binary.LittleEndian.PutUint64(b[off:], z)
			continue
		}
		binary.LittleEndian.PutUint64(word[:], z)
		copy(b[off:], word[:])
	}
}
