package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from vectors_test.go")

// On-disk forms of the golden files. docs/protocol.md describes them for
// other implementations.

type signalGolden struct {
	Comment string               `json:"comment"`
	Type    Type                 `json:"type"`
	Vectors []signalGoldenVector `json:"vectors"`
}

type signalGoldenVector struct {
	Name      string          `json:"name"`
	Canonical bool            `json:"canonical"`
	Text      string          `json:"text"`
	Decoded   json.RawMessage `json:"decoded"`
}

type rejectedSignalGolden struct {
	Comment string                       `json:"comment"`
	Vectors []rejectedSignalGoldenVector `json:"vectors"`
}

type rejectedSignalGoldenVector struct {
	Name    string `json:"name"`
	Text    string `json:"text,omitempty"`
	Hex     string `json:"hex,omitempty"`
	Decoder string `json:"decoder"`
	Error   Code   `json:"error"`
}

type frameGolden struct {
	Comment string              `json:"comment"`
	Type    string              `json:"type"`
	Vectors []frameGoldenVector `json:"vectors"`
}

type frameGoldenVector struct {
	Name    string    `json:"name"`
	Hex     string    `json:"hex"`
	Decoded frameJSON `json:"decoded"`
}

type rejectedFrameGolden struct {
	Comment string                      `json:"comment"`
	Vectors []rejectedFrameGoldenVector `json:"vectors"`
}

type rejectedFrameGoldenVector struct {
	Name string `json:"name"`
	Hex  string `json:"hex"`
	// PadTo, when set, says to append zero bytes to Hex up to this length
	// (keeps the over-long frame vector small on disk).
	PadTo int            `json:"pad_to,omitempty"`
	Error FrameErrorCode `json:"error"`
}

// frameJSON is the "decoded" form of a peer frame: only the fields its
// type uses are present; byte strings are lower-case hex.
type frameJSON struct {
	Type         string    `json:"type"`
	MinVersion   *uint8    `json:"min_version,omitempty"`
	MaxVersion   *uint8    `json:"max_version,omitempty"`
	Flags        *uint8    `json:"flags,omitempty"`
	Have         *haveJSON `json:"have,omitempty"`
	Req          *uint32   `json:"req,omitempty"`
	Size         *uint32   `json:"size,omitempty"`
	Offset       *uint32   `json:"offset,omitempty"`
	Seq          *uint64   `json:"seq,omitempty"`
	Key          *string   `json:"key,omitempty"`
	Payload      *string   `json:"payload,omitempty"`
	RetryAfterMs *uint32   `json:"retry_after_ms,omitempty"`
}

type haveJSON struct {
	Base  uint64 `json:"base"`
	Count int    `json:"count"`
	Bits  string `json:"bits"`
}

func frameToJSON(f Frame) frameJSON {
	j := frameJSON{Type: f.Type.String()}
	switch f.Type {
	case FrameHello:
		j.MinVersion, j.MaxVersion, j.Flags = ptr(f.MinVersion), ptr(f.MaxVersion), ptr(f.Flags)
	case FrameHave:
		j.Have = &haveJSON{Base: f.Have.Base, Count: f.Have.Count, Bits: hex.EncodeToString(f.Have.Bits)}
	case FrameRequest:
		j.Req, j.Offset = ptr(f.Req), ptr(f.Offset)
		if f.Key != "" {
			j.Key = ptr(f.Key)
		} else {
			j.Seq = ptr(f.Seq)
		}
	case FrameData:
		j.Req, j.Size, j.Offset = ptr(f.Req), ptr(f.Size), ptr(f.Offset)
	case FrameChunk:
		j.Req, j.Payload = ptr(f.Req), ptr(hex.EncodeToString(f.Payload))
	case FrameDone, FrameCancel, FrameAbsent:
		j.Req = ptr(f.Req)
	case FrameBusy:
		j.Req, j.RetryAfterMs = ptr(f.Req), ptr(f.RetryAfterMs)
	case FramePush:
		j.Req, j.Seq = ptr(f.Req), ptr(f.Seq)
	}
	return j
}

func frameFromJSON(t testing.TB, j frameJSON) Frame {
	t.Helper()
	var f Frame
	for ft := FrameHello; ft <= FramePush; ft++ {
		if ft.String() == j.Type {
			f.Type = ft
		}
	}
	if f.Type == 0 {
		t.Fatalf("unknown frame type %q", j.Type)
	}
	get := func(p *uint32) uint32 {
		if p == nil {
			return 0
		}
		return *p
	}
	f.Req, f.Size, f.Offset, f.RetryAfterMs = get(j.Req), get(j.Size), get(j.Offset), get(j.RetryAfterMs)
	if j.MinVersion != nil && j.MaxVersion != nil && j.Flags != nil {
		f.MinVersion, f.MaxVersion, f.Flags = *j.MinVersion, *j.MaxVersion, *j.Flags
	}
	if j.Have != nil {
		f.Have = HaveMap{Base: j.Have.Base, Count: j.Have.Count, Bits: mustHex(t, j.Have.Bits)}
	}
	if j.Seq != nil {
		f.Seq = *j.Seq
	}
	if j.Key != nil {
		f.Key = *j.Key
	}
	if j.Payload != nil {
		f.Payload = mustHex(t, *j.Payload)
	}
	return f
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	if len(b) == 0 {
		return nil
	}
	return b
}

// marshalGolden renders v as the golden files are stored: two-space
// indentation, no HTML escaping, a final newline.
func marshalGolden(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkGolden compares want with the file, or rewrites the file under -update.
func checkGolden(t *testing.T, path string, want []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from vectors_test.go; run go test -run TestGolden -update and review the diff", path)
	}
}

func readGolden(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

const signalComment = "Signaling golden vectors (docs/protocol.md). text: one WebSocket text message. " +
	"decoded: the message it decodes to. canonical: encoding decoded reproduces text byte for byte. " +
	"Generated by go test ./wire -run TestGolden -update."

const frameComment = "Peer frame golden vectors (docs/protocol.md). hex: one DataChannel binary message. " +
	"decoded: the frame it decodes to (byte strings as hex); encoding decoded reproduces hex exactly. " +
	"Generated by go test ./wire -run TestGolden -update."

// TestGoldenFiles keeps testdata/ in step with vectors_test.go.
func TestGoldenFiles(t *testing.T) {
	for _, f := range signalFiles {
		g := signalGolden{Comment: signalComment, Type: f.typ}
		for _, v := range f.vectors {
			enc, err := Encode(v.msg)
			if err != nil {
				t.Fatalf("%s/%s: %v", f.typ, v.name, err)
			}
			text, canonical := string(enc), true
			if v.text != "" {
				text, canonical = v.text, false
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, enc, "", "  "); err != nil {
				t.Fatal(err)
			}
			g.Vectors = append(g.Vectors, signalGoldenVector{Name: v.name, Canonical: canonical, Text: text, Decoded: pretty.Bytes()})

			// The table itself: the text decodes to exactly the message.
			got, err := Decode([]byte(text))
			if err != nil {
				t.Fatalf("%s/%s: Decode: %v", f.typ, v.name, err)
			}
			if !reflect.DeepEqual(got, v.msg) {
				t.Errorf("%s/%s: Decode = %#v, want %#v", f.typ, v.name, got, v.msg)
			}
		}
		checkGolden(t, filepath.Join("testdata", "signal", string(f.typ)+".json"), marshalGolden(t, g))
	}

	rs := rejectedSignalGolden{Comment: "Signaling messages every decoder rejects, with the error code. " +
		"text (or hex when not UTF-8): the message. decoder: any (either direction), from_client (the server's) or from_server (a client's). " +
		"Generated by go test ./wire -run TestGolden -update."}
	for _, v := range rejectedSignal {
		d := v.decoder
		if d == "" {
			d = "any"
		}
		rs.Vectors = append(rs.Vectors, rejectedSignalGoldenVector{Name: v.name, Text: v.text, Hex: v.hex, Decoder: d, Error: v.code})
	}
	checkGolden(t, filepath.Join("testdata", "signal", "rejected.json"), marshalGolden(t, rs))

	for _, f := range frameFiles {
		g := frameGolden{Comment: frameComment, Type: f.typ.String()}
		for _, v := range f.vectors {
			b, err := AppendFrame(nil, v.frame)
			if err != nil {
				t.Fatalf("%s/%s: %v", f.typ, v.name, err)
			}
			got, err := DecodeFrame(b)
			if err != nil {
				t.Fatalf("%s/%s: DecodeFrame: %v", f.typ, v.name, err)
			}
			if !reflect.DeepEqual(got, v.frame) {
				t.Errorf("%s/%s: DecodeFrame = %+v, want %+v", f.typ, v.name, got, v.frame)
			}
			g.Vectors = append(g.Vectors, frameGoldenVector{Name: v.name, Hex: hex.EncodeToString(b), Decoded: frameToJSON(v.frame)})
		}
		checkGolden(t, filepath.Join("testdata", "peer", f.typ.String()+".json"), marshalGolden(t, g))
	}

	rf := rejectedFrameGolden{Comment: "Peer frames every decoder rejects, with the error code. " +
		"pad_to, when present: append zero bytes to hex up to that length. Generated by go test ./wire -run TestGolden -update."}
	for _, v := range rejectedFrames {
		rf.Vectors = append(rf.Vectors, rejectedFrameGoldenVector{Name: v.name, Hex: v.hex, PadTo: v.padTo, Error: v.code})
	}
	checkGolden(t, filepath.Join("testdata", "peer", "rejected.json"), marshalGolden(t, rf))
}

// The tests below read only the files, as the browser client's tests do.

func TestGoldenSignal(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "signal", "*.json"))
	for _, path := range paths {
		if filepath.Base(path) == "rejected.json" {
			continue
		}
		var g signalGolden
		readGolden(t, path, &g)
		for _, v := range g.Vectors {
			t.Run(string(g.Type)+"/"+v.Name, func(t *testing.T) {
				m, err := Decode([]byte(v.Text))
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if m.Type() != g.Type {
					t.Fatalf("type %q, file is for %q", m.Type(), g.Type)
				}
				enc, err := Encode(m)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				if !jsonEqual(t, enc, v.Decoded) {
					t.Errorf("decoded and re-encoded:\n%s\nwant:\n%s", enc, v.Decoded)
				}
				if v.Canonical && string(enc) != v.Text {
					t.Errorf("Encode:\n%s\nwant exactly:\n%s", enc, v.Text)
				}
				// Encoding the decoded form gives the canonical bytes.
				m2, err := Decode(v.Decoded)
				if err != nil {
					t.Fatalf("Decode(decoded): %v", err)
				}
				enc2, _ := Encode(m2)
				if !bytes.Equal(enc, enc2) {
					t.Errorf("decoded form encodes to %s, want %s", enc2, enc)
				}
			})
		}
	}
	if len(paths) < 13 {
		t.Fatalf("found %d signaling golden files, want one per message type plus rejected.json", len(paths))
	}
}

func TestGoldenSignalRejected(t *testing.T) {
	var g rejectedSignalGolden
	readGolden(t, filepath.Join("testdata", "signal", "rejected.json"), &g)
	for _, v := range g.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			data := []byte(v.Text)
			if v.Hex != "" {
				data = mustHex(t, v.Hex)
			}
			decode := map[string]func([]byte) (Message, error){
				"any": Decode, "from_client": DecodeFromClient, "from_server": DecodeFromServer,
			}[v.Decoder]
			if decode == nil {
				t.Fatalf("unknown decoder %q", v.Decoder)
			}
			m, err := decode(data)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("decode = %#v, %v; want an *Error", m, err)
			}
			if e.Code != v.Error {
				t.Fatalf("code %q (%s), want %q", e.Code, e.Message, v.Error)
			}
			if e.Message == "" || len(e.Message) > MaxErrorMessageLen {
				t.Fatalf("human message %q is empty or too long", e.Message)
			}
			// The server can send the error back as it is.
			if _, err := Encode(e); err != nil {
				t.Fatalf("the error is not a valid error message: %v", err)
			}
		})
	}
}

func TestGoldenFrames(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "peer", "*.json"))
	for _, path := range paths {
		if filepath.Base(path) == "rejected.json" {
			continue
		}
		var g frameGolden
		readGolden(t, path, &g)
		for _, v := range g.Vectors {
			t.Run(g.Type+"/"+v.Name, func(t *testing.T) {
				b := mustHex(t, v.Hex)
				f, err := DecodeFrame(b)
				if err != nil {
					t.Fatalf("DecodeFrame: %v", err)
				}
				if f.Type.String() != g.Type {
					t.Fatalf("type %s, file is for %s", f.Type, g.Type)
				}
				if got := frameToJSON(f); !reflect.DeepEqual(got, v.Decoded) {
					t.Errorf("decoded %+v, want %+v", got, v.Decoded)
				}
				enc, err := AppendFrame(nil, frameFromJSON(t, v.Decoded))
				if err != nil {
					t.Fatalf("AppendFrame: %v", err)
				}
				if !bytes.Equal(enc, b) {
					t.Errorf("AppendFrame = %x, want %x", enc, b)
				}
			})
		}
	}
	if len(paths) < 11 {
		t.Fatalf("found %d peer golden files, want one per frame type plus rejected.json", len(paths))
	}
}

func TestGoldenFramesRejected(t *testing.T) {
	var g rejectedFrameGolden
	readGolden(t, filepath.Join("testdata", "peer", "rejected.json"), &g)
	for _, v := range g.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			b := mustHex(t, v.Hex)
			if v.PadTo > len(b) {
				b = append(b, make([]byte, v.PadTo-len(b))...)
			}
			f, err := DecodeFrame(b)
			var e *FrameError
			if !errors.As(err, &e) {
				t.Fatalf("DecodeFrame = %+v, %v; want a *FrameError", f, err)
			}
			if e.Code != v.Error {
				t.Fatalf("code %q (%v), want %q", e.Code, e, v.Error)
			}
		})
	}
}

// jsonEqual compares two JSON texts as values, numbers exactly.
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	parse := func(b []byte) any {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return v
	}
	return reflect.DeepEqual(parse(a), parse(b))
}
