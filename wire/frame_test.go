package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestChunkAllocations(t *testing.T) {
	payload := bytes.Repeat([]byte{0x5a}, 16<<10)
	buf := make([]byte, 0, MaxFrameSize)
	var err error
	if n := testing.AllocsPerRun(100, func() {
		buf, err = AppendFrame(buf[:0], Frame{Type: FrameChunk, Req: 42, Payload: payload})
	}); n != 0 || err != nil {
		t.Errorf("AppendFrame(chunk): %v allocs per run, err %v; want 0", n, err)
	}
	if n := testing.AllocsPerRun(100, func() {
		buf = append(AppendChunkHeader(buf[:0], 42), payload...)
	}); n != 0 {
		t.Errorf("AppendChunkHeader: %v allocs per run, want 0", n)
	}
	var f Frame
	if n := testing.AllocsPerRun(100, func() {
		f, err = DecodeFrame(buf)
	}); n != 0 || err != nil {
		t.Errorf("DecodeFrame(chunk): %v allocs per run, err %v; want 0", n, err)
	}
	if f.Req != 42 || !bytes.Equal(f.Payload, payload) {
		t.Fatalf("decoded req %d, %d payload bytes", f.Req, len(f.Payload))
	}
}

func TestChunkPayloadAliasesInput(t *testing.T) {
	b, _ := AppendFrame(nil, Frame{Type: FrameChunk, Req: 1, Payload: []byte("abc")})
	f, err := DecodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	b[ChunkHeaderSize] = 'X'
	if string(f.Payload) != "Xbc" {
		t.Errorf("payload %q does not alias the input", f.Payload)
	}
	if cap(f.Payload) != len(f.Payload) {
		t.Errorf("payload capacity %d exceeds its length: an append would overwrite the caller's buffer", cap(f.Payload))
	}
}

func TestAppendChunkHeaderMatchesAppendFrame(t *testing.T) {
	p := []byte("segment bytes")
	a, _ := AppendFrame([]byte("prefix"), Frame{Type: FrameChunk, Req: 0xdeadbeef, Payload: p})
	b := append(AppendChunkHeader([]byte("prefix"), 0xdeadbeef), p...)
	if !bytes.Equal(a, b) {
		t.Errorf("AppendFrame %x, AppendChunkHeader %x", a, b)
	}
}

func TestChunkSizeLimit(t *testing.T) {
	b, err := AppendFrame(nil, Frame{Type: FrameChunk, Req: 1, Payload: make([]byte, MaxChunkPayload)})
	if err != nil || len(b) != MaxFrameSize {
		t.Fatalf("largest chunk: %d bytes, %v; want %d", len(b), err, MaxFrameSize)
	}
	if _, err := DecodeFrame(b); err != nil {
		t.Fatalf("largest chunk does not decode: %v", err)
	}
	dst := []byte{1, 2, 3}
	out, err := AppendFrame(dst, Frame{Type: FrameChunk, Req: 1, Payload: make([]byte, MaxChunkPayload+1)})
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Code != FrameErrBadValue {
		t.Fatalf("over-long chunk: %v, want bad_value", err)
	}
	if !bytes.Equal(out, dst) {
		t.Errorf("AppendFrame changed dst on error: %x", out)
	}
}

func TestAppendFrameRejects(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
	}{
		{"unknown type", Frame{Type: 0x7f}},
		{"hello without versions", Frame{Type: FrameHello}},
		{"have with a short bitmap", Frame{Type: FrameHave, Have: HaveMap{Count: 9, Bits: []byte{1}}}},
		{"request by seq and key", Frame{Type: FrameRequest, Seq: 3, Key: "/a.ts"}},
		{"request beyond MaxSequence", Frame{Type: FrameRequest, Seq: MaxSequence + 1}},
		{"request key too long", Frame{Type: FrameRequest, Key: "/" + string(make([]byte, MaxKeyLen))}},
		{"data offset past size", Frame{Type: FrameData, Size: 10, Offset: 11}},
		{"empty chunk", Frame{Type: FrameChunk}},
		{"push with a request id", Frame{Type: FramePush, Req: 1, Seq: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := AppendFrame(nil, tt.f); err == nil {
				t.Fatalf("AppendFrame = %x, want an error", b)
			}
		})
	}
}

func TestHaveMap(t *testing.T) {
	h := NewHaveMap(100, 12)
	for _, s := range []uint64{100, 107, 108, 111} {
		if !h.Set(s) {
			t.Fatalf("Set(%d) outside a map of 100..111", s)
		}
	}
	for _, s := range []uint64{99, 112, 1 << 63} {
		if h.Set(s) {
			t.Fatalf("Set(%d) inside a map of 100..111", s)
		}
	}
	for s := uint64(95); s < 115; s++ {
		want := s == 100 || s == 107 || s == 108 || s == 111
		if h.Has(s) != want {
			t.Errorf("Has(%d) = %v", s, !want)
		}
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := AppendFrame(nil, Frame{Type: FrameHave, Have: h})
	if err != nil {
		t.Fatal(err)
	}
	// base 100, count 12, bits: 100 and 107 in byte 0, 108 and 111 in byte 1.
	if want := []byte{0x02, 0, 0, 0, 0, 0, 0, 0, 100, 0, 12, 0x81, 0x09}; !bytes.Equal(b, want) {
		t.Errorf("have frame %x, want %x", b, want)
	}
}

func TestNegotiateVersion(t *testing.T) {
	tests := []struct {
		min, max uint8
		want     uint8
		ok       bool
	}{
		{1, 1, 1, true},
		{1, 5, PeerVersion, true},
		{2, 5, 2, true},
		{3, 5, 0, false},
		{0, 0, 0, false},
	}
	for _, tt := range tests {
		v, ok := NegotiateVersion(Frame{Type: FrameHello, MinVersion: tt.min, MaxVersion: tt.max})
		if v != tt.want || ok != tt.ok {
			t.Errorf("hello %d..%d: %d, %v; want %d, %v", tt.min, tt.max, v, ok, tt.want, tt.ok)
		}
	}
	if _, ok := NegotiateVersion(Hello(true)); !ok {
		t.Error("our own hello does not negotiate")
	}
}

func TestFrameErrorMessage(t *testing.T) {
	_, err := DecodeFrame([]byte{0x06, 0, 0})
	if got := err.Error(); got != "peer frame done: truncated: 3 bytes, need 5" {
		t.Errorf("Error() = %q", got)
	}
}
