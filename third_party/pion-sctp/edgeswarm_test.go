// SPDX-FileCopyrightText: 2026 The edgeswarm authors
// SPDX-License-Identifier: MIT

// Tests of the change made for edgeswarm (see the README of the folder
// above): DATA chunks are written into the packet directly, into one
// buffer of the packet's size.

package sctp

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

// marshalCopying is packet.marshal as released: every chunk through its
// own marshal, appended.
func marshalCopying(t *testing.T, p *packet) []byte {
	t.Helper()
	raw := make([]byte, packetHeaderSize)
	binary.BigEndian.PutUint16(raw[0:], p.sourcePort)
	binary.BigEndian.PutUint16(raw[2:], p.destinationPort)
	binary.BigEndian.PutUint32(raw[4:], p.verificationTag)
	for _, c := range p.chunks {
		chunkRaw, err := c.marshal()
		assert.NoError(t, err)
		raw = append(raw, chunkRaw...)
		if n := getPadding(len(raw)); n != 0 {
			raw = append(raw, make([]byte, n)...)
		}
	}
	binary.LittleEndian.PutUint32(raw[8:], generatePacketChecksum(raw))

	return raw
}

// TestPacketMarshalToMatchesChunkMarshal: packets of DATA and I-DATA
// chunks (first, middle and last fragments, unordered, immediate SACK,
// sizes that need padding) and of other chunks encode byte for byte as the
// released code did, into a reused buffer or a new one, and decode back.
func TestPacketMarshalToMatchesChunkMarshal(t *testing.T) {
	data := func(n int, iData, begin, end, unordered, sack bool) *chunkPayloadData {
		return &chunkPayloadData{
			tsn: 0x01020304, streamIdentifier: 7, streamSequenceNumber: 0x0506,
			messageIdentifier: 0x0a0b0c0d, fragmentSequenceNumber: 3,
			payloadType: PayloadTypeWebRTCBinary, userData: bytes.Repeat([]byte{0x5a}, n),
			iData: iData, beginningFragment: begin, endingFragment: end,
			unordered: unordered, immediateSack: sack,
		}
	}
	for _, tc := range []struct {
		name   string
		chunks []chunk
	}{
		{"one DATA chunk of a full packet", []chunk{data(1172, false, true, false, false, false)}},
		{"DATA, padded, last fragment, unordered", []chunk{data(1001, false, false, true, true, true)}},
		{"two DATA chunks", []chunk{data(3, false, true, true, false, false), data(502, false, false, false, false, true)}},
		{"I-DATA first and middle fragments", []chunk{data(17, true, true, false, false, false), data(600, true, false, false, true, false)}},
		{"a SACK and a DATA chunk", []chunk{
			&chunkSelectiveAck{cumulativeTSNAck: 9, advertisedReceiverWindowCredit: 1 << 20},
			data(10, false, true, true, false, false),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &packet{sourcePort: 5000, destinationPort: 5000, verificationTag: 0xdeadbeef, chunks: tc.chunks}
			want := marshalCopying(t, p)
			got, err := p.marshal(true)
			assert.NoError(t, err)
			assert.Equal(t, want, got)

			buf := make([]byte, 0, len(want))
			got, err = p.marshalTo(buf, true)
			assert.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Same(t, &buf[:1][0], &got[0], "encoded into the buffer it was given")

			back := &packet{}
			assert.NoError(t, back.unmarshal(true, got))
			assert.Len(t, back.chunks, len(tc.chunks))
		})
	}
}

// TestPacketDataSize: a packet of DATA chunks fits the buffer dataSize
// sizes, so encoding it allocates once.
func TestPacketDataSize(t *testing.T) {
	p := &packet{chunks: []chunk{
		&chunkPayloadData{userData: make([]byte, 1001)},
		&chunkPayloadData{userData: make([]byte, 3), iData: true},
	}}
	raw, err := p.marshal(true)
	assert.NoError(t, err)
	assert.LessOrEqual(t, len(raw), p.dataSize())
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = p.marshalTo(make([]byte, 0, p.dataSize()), true)
	})
	assert.Equal(t, 1.0, allocs)
}
