package wire

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// seedSignal adds every message of the signaling golden files.
func seedSignal(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "signal", "*.json"))
	for _, path := range paths {
		if filepath.Base(path) == "rejected.json" {
			var g rejectedSignalGolden
			readGolden(f, path, &g)
			for _, v := range g.Vectors {
				if v.Hex != "" {
					f.Add(mustHex(f, v.Hex))
				} else {
					f.Add([]byte(v.Text))
				}
			}
			continue
		}
		var g signalGolden
		readGolden(f, path, &g)
		for _, v := range g.Vectors {
			f.Add([]byte(v.Text))
		}
	}
}

// FuzzDecodeSignal: Decode never panics, fails only with an *Error, and
// what it accepts re-encodes to a canonical form that decodes to the same
// message and encodes to the same bytes.
func FuzzDecodeSignal(f *testing.F) {
	seedSignal(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if _, err := Encode(e); err != nil {
				t.Fatalf("decode error %q cannot be sent: %v", e.Message, err)
			}
			return
		}
		enc, err := Encode(m)
		if err != nil {
			var e *Error
			// Raw U+2028/U+2029 are escaped on output (3 bytes become 6),
			// so a message near the limit may not fit once re-encoded.
			if errors.As(err, &e) && e.Code == CodeTooLarge {
				return
			}
			t.Fatalf("Encode of a decoded %T: %v", m, err)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode of %s: %v", enc, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message:\n%#v\n%#v", m, m2)
		}
		enc2, _ := Encode(m2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not canonical:\n%s\n%s", enc, enc2)
		}
		// The directional decoders agree with Decode on what the sender may send.
		for _, side := range []Side{Client, Server} {
			_, err := decode(data, side, nil)
			if m.Type().Sender()&side == 0 && err == nil {
				t.Fatalf("%s accepted from the %s", m.Type(), sideName(side))
			}
		}
	})
}

// FuzzDecodeFrame: DecodeFrame never panics, fails only with a
// *FrameError, and every accepted frame re-encodes to exactly its input
// (the layout has no slack).
func FuzzDecodeFrame(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "peer", "*.json"))
	for _, path := range paths {
		if filepath.Base(path) == "rejected.json" {
			var g rejectedFrameGolden
			readGolden(f, path, &g)
			for _, v := range g.Vectors {
				f.Add(mustHex(f, v.Hex))
			}
			continue
		}
		var g frameGolden
		readGolden(f, path, &g)
		for _, v := range g.Vectors {
			f.Add(mustHex(f, v.Hex))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FrameError", err)
			}
			return
		}
		enc, err := AppendFrame(nil, fr)
		if err != nil {
			t.Fatalf("AppendFrame of a decoded %s: %v", fr.Type, err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoded %x, input %x", enc, data)
		}
		fr2, err := DecodeFrame(enc)
		if err != nil || !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("second decode %+v, %v; first %+v", fr2, err, fr)
		}
	})
}
