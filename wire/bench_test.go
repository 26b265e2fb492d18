package wire

import (
	"strings"
	"testing"
)

func BenchmarkDecodeFrameChunk(b *testing.B) {
	buf, _ := AppendFrame(nil, Frame{Type: FrameChunk, Req: 1, Payload: make([]byte, 16<<10)})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrameChunk(b *testing.B) {
	p := make([]byte, 16<<10)
	buf := make([]byte, 0, MaxFrameSize)
	b.SetBytes(int64(len(p) + ChunkHeaderSize))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendFrame(buf[:0], Frame{Type: FrameChunk, Req: 1, Payload: p})
	}
}

func BenchmarkDecodeSignalOffer(b *testing.B) {
	msg, err := Encode(&Relay{To: "p1", Session: "a1", Kind: KindOffer, SDP: strings.Repeat(sampleSDP, 4)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFromClient(msg); err != nil {
			b.Fatal(err)
		}
	}
}
