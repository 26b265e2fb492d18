package signal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/edgeswarm/edgeswarm/wire"
)

// clientFrame is a frame as a client sends it: masked with key.
func clientFrame(fin bool, op int, payload []byte, key [4]byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// parsed is what frameReader handed on, one string per message or
// control frame ("text:...", "too large", ...), and its error.
func parseAll(chunks [][]byte) ([]string, error) {
	var r frameReader
	var out []string
	on := func(op int, p []byte) bool {
		switch op {
		case opTooLarge:
			out = append(out, "too large")
		default:
			out = append(out, fmt.Sprintf("%d:%s", op, p))
		}
		return true
	}
	for _, c := range chunks {
		if err := r.feed(bytes.Clone(c), on); err != nil {
			return out, err
		}
	}
	if len(r.carry) > 0 || r.op != 0 || r.skip > 0 || r.drop {
		out = append(out, "incomplete")
	}
	return out, nil
}

func TestFrameReader(t *testing.T) {
	k := [4]byte{1, 2, 3, 4}
	big := strings.Repeat("x", 300)
	tooBig := bytes.Repeat([]byte("y"), wire.MaxMessageSize+1)
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	tests := []struct {
		name string
		in   []byte
		want []string
		err  string // part of the error, "" for none
	}{
		{"text", clientFrame(true, opText, []byte(`{"v":1}`), k), []string{`1:{"v":1}`}, ""},
		{"empty text", clientFrame(true, opText, nil, k), []string{"1:"}, ""},
		{"16-bit length", clientFrame(true, opText, []byte(big), k), []string{"1:" + big}, ""},
		{"two in one read", cat(clientFrame(true, opText, []byte("a"), k), clientFrame(true, opBinary, []byte("b"), k)), []string{"1:a", "2:b"}, ""},
		{"fragmented with a ping between", cat(clientFrame(false, opText, []byte("ab"), k), clientFrame(true, opPing, []byte("p"), k),
			clientFrame(false, opContinuation, []byte("cd"), k), clientFrame(true, opContinuation, []byte("e"), k)), []string{"9:p", "1:abcde"}, ""},
		{"close, pong", cat(clientFrame(true, opPong, []byte("x"), k), clientFrame(true, opClose, []byte{3, 232}, k)), []string{"10:x", "8:\x03\xe8"}, ""},
		{"too large, then the next", cat(clientFrame(true, opText, tooBig, k), clientFrame(true, opText, []byte("n"), k)), []string{"too large", "1:n"}, ""},
		{"fragments too large", cat(clientFrame(false, opText, tooBig[:wire.MaxMessageSize], k), clientFrame(false, opContinuation, []byte("zz"), k),
			clientFrame(true, opContinuation, []byte("zz"), k), clientFrame(true, opText, []byte("n"), k)), []string{"too large", "1:n"}, ""},
		{"exactly the limit", clientFrame(true, opText, tooBig[:wire.MaxMessageSize], k), []string{"1:" + string(tooBig[:wire.MaxMessageSize])}, ""},
		{"incomplete", clientFrame(true, opText, []byte("abc"), k)[:5], []string{"incomplete"}, ""},
		{"unmasked", []byte{0x81, 0x01, 'a'}, nil, "not masked"},
		{"reserved bit", []byte{0xc1, 0x80, 0, 0, 0, 0}, nil, "reserved"},
		{"unknown opcode", []byte{0x83, 0x80, 0, 0, 0, 0}, nil, "opcode"},
		{"fragmented ping", clientFrame(false, opPing, nil, k), nil, "control frame"},
		{"long ping", clientFrame(true, opPing, bytes.Repeat([]byte("p"), 126), k), nil, "control frame"},
		{"continuation alone", clientFrame(true, opContinuation, []byte("a"), k), nil, "continuation"},
		{"text inside a message", cat(clientFrame(false, opText, []byte("a"), k), clientFrame(true, opText, []byte("b"), k)), nil, "new message"},
		{"64-bit length, high bit", []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, "high bit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Whole, then cut at every byte: the same messages either way.
			splits := [][][]byte{{tc.in}}
			for i := 1; i < len(tc.in) && i < 40; i++ {
				splits = append(splits, [][]byte{tc.in[:i], tc.in[i:]})
			}
			bytewise := make([][]byte, len(tc.in))
			for i := range tc.in {
				bytewise[i] = tc.in[i : i+1]
			}
			splits = append(splits, bytewise)
			for _, chunks := range splits {
				got, err := parseAll(chunks)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errProtocol) {
						t.Fatalf("%d chunks: error %v, want one with %q", len(chunks), err, tc.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%d chunks: %v", len(chunks), err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("%d chunks: got %q, want %q", len(chunks), got, tc.want)
				}
			}
		})
	}
}

func TestFrameReaderStops(t *testing.T) {
	k := [4]byte{9, 8, 7, 6}
	in := append(clientFrame(true, opClose, nil, k), clientFrame(true, opText, []byte("after"), k)...)
	var r frameReader
	var ops []int
	stop := func(op int, _ []byte) bool { ops = append(ops, op); return op != opClose }
	if err := r.feed(in, stop); err != nil || len(ops) != 1 {
		t.Fatalf("err %v, ops %v", err, ops)
	}
	// What follows the frame that stopped it is kept for the next call.
	if err := r.feed(nil, stop); err != nil || len(ops) != 2 || ops[1] != opText {
		t.Fatalf("err %v, ops %v", err, ops)
	}
}

func TestCloseStatus(t *testing.T) {
	for _, tc := range []struct {
		payload []byte
		code    int
		bad     bool
	}{
		{nil, 1005, false},
		{[]byte{3, 232}, 1000, false},
		{[]byte{3, 232, 'o', 'k'}, 1000, false},
		{[]byte{3}, 0, true},
		{[]byte{3, 237}, 0, true}, // 1005 may not be sent
		{[]byte{3, 232, 0xff}, 0, true},
		{[]byte{0x0f, 0xa0}, 4000, false},
	} {
		code, err := closeStatus(tc.payload)
		if (err != nil) != tc.bad || code != tc.code {
			t.Errorf("%x: code %d, err %v", tc.payload, code, err)
		}
	}
}

// FuzzFrameReader: whatever a client sends, the reader neither panics
// nor keeps more than a frame's worth, and cutting the same bytes into
// other reads changes nothing it hands on.
func FuzzFrameReader(f *testing.F) {
	k := [4]byte{1, 2, 3, 4}
	f.Add(clientFrame(true, opText, []byte(`{"v":1,"type":"leave"}`), k), uint16(3))
	f.Add(append(clientFrame(false, opText, []byte("ab"), k), clientFrame(true, opContinuation, []byte("c"), k)...), uint16(7))
	f.Add(clientFrame(true, opClose, []byte{3, 232}, k), uint16(1))
	f.Add([]byte{0x81, 0xfe, 0xff, 0xff, 0, 0, 0, 0}, uint16(5))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		whole, errWhole := parseAll([][]byte{data})
		i := int(cut) % (len(data) + 1)
		split, errSplit := parseAll([][]byte{data[:i], data[i:]})
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("error whole %v, split at %d %v", errWhole, i, errSplit)
		}
		if errWhole == nil && strings.Join(whole, "|") != strings.Join(split, "|") {
			t.Fatalf("whole %q, split at %d %q", whole, i, split)
		}
		var r frameReader
		_ = r.feed(bytes.Clone(data), func(int, []byte) bool { return true })
		if len(r.carry) > wire.MaxMessageSize+maxFrameHeader || len(r.msg) > wire.MaxMessageSize {
			t.Fatalf("kept %d bytes of frame, %d of message", len(r.carry), len(r.msg))
		}
	})
}
