package wire

import "fmt"

// HaveMap is a compact set of media sequence numbers: bit i of Bits,
// least significant bit first within each byte, says whether the sender
// holds segment Base+i, for i < Count.
type HaveMap struct {
	// Base is the sequence number of bit 0.
	Base uint64
	// Count is the number of bits, 0..MaxHaveBits.
	Count int
	// Bits is the bitmap, (Count+7)/8 bytes; the unused high bits of the
	// last byte are zero.
	Bits []byte
}

// NewHaveMap returns an empty have-map of count bits from base. It
// panics if count is outside 0..MaxHaveBits, a programming error.
func NewHaveMap(base uint64, count int) HaveMap {
	if count < 0 || count > MaxHaveBits {
		panic(fmt.Sprintf("wire: have-map of %d bits", count))
	}
	return HaveMap{Base: base, Count: count, Bits: make([]byte, bitmapLen(count))}
}

func bitmapLen(count int) int { return (count + 7) / 8 }

// Has reports whether seq is in the map.
func (h HaveMap) Has(seq uint64) bool {
	if seq < h.Base || seq-h.Base >= uint64(h.Count) {
		return false
	}
	i := seq - h.Base
	return i/8 < uint64(len(h.Bits)) && h.Bits[i/8]&(1<<(i%8)) != 0
}

// Set adds seq to the map and reports whether it lies within the map.
func (h HaveMap) Set(seq uint64) bool {
	if seq < h.Base || seq-h.Base >= uint64(h.Count) || (seq-h.Base)/8 >= uint64(len(h.Bits)) {
		return false
	}
	i := seq - h.Base
	h.Bits[i/8] |= 1 << (i % 8)
	return true
}

// Validate reports whether h is well formed: Count within 0..MaxHaveBits,
// Bits of the right length with zero padding, and every covered sequence
// at most MaxSequence.
func (h HaveMap) Validate() error {
	switch {
	case h.Count < 0 || h.Count > MaxHaveBits:
		return fmt.Errorf("have-map of %d bits, allowed 0..%d", h.Count, MaxHaveBits)
	case len(h.Bits) != bitmapLen(h.Count):
		return fmt.Errorf("bitmap of %d bytes for %d bits", len(h.Bits), h.Count)
	case h.Count%8 != 0 && h.Bits[len(h.Bits)-1]>>(h.Count%8) != 0:
		return fmt.Errorf("padding bits after bit %d are not zero", h.Count)
	case h.Count > 0 && (h.Base > MaxSequence || uint64(h.Count-1) > MaxSequence-h.Base):
		return fmt.Errorf("have-map %d+%d goes past MaxSequence", h.Base, h.Count)
	}
	return nil
}
