package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"unicode/utf8"
)

// scanTokens is the reference for scan: the same checks, token by token
// with encoding/json's Decoder (simple, and 20 times slower). FuzzScan
// holds the two to the same verdicts.
//
// It checks the structure of a message token by token (one object, key
// rules, no null, depth) and extracts "v" and "type".
func scanTokens(data []byte) (envelope, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []scanLevel
	var version json.Number
	haveVersion, haveType, done := false, false, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return env, Errorf(CodeBadRequest, "malformed JSON: %v", err)
		}
		if done {
			return env, Errorf(CodeBadRequest, "data after the message object")
		}
		if len(stack) == 0 {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return env, Errorf(CodeBadRequest, "a message is a JSON object")
			}
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			top := &stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				done = afterValue(stack)
				continue
			}
			key, _ := tok.(string)
			if err := checkJSONKey(key); err != nil {
				return env, err
			}
			if _, dup := top.keys[key]; dup {
				return env, Errorf(CodeBadRequest, "duplicate key %q", key)
			}
			top.keys[key] = struct{}{}
			top.key, top.wantKey = key, false
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if len(stack) == MaxDepth {
					return env, Errorf(CodeBadRequest, "nesting deeper than %d", MaxDepth)
				}
				l := scanLevel{object: v == '{', wantKey: v == '{'}
				if l.object {
					l.keys = make(map[string]struct{}, 8)
				}
				stack = append(stack, l)
				continue
			default: // ']'; '}' is handled above
				stack = stack[:len(stack)-1]
			}
		case nil:
			if top := stack[len(stack)-1]; top.object {
				return env, Errorf(CodeBadRequest, "%s: null is not a value", top.key)
			}
			return env, Errorf(CodeBadRequest, "null is not a value")
		default:
			if len(stack) == 1 {
				switch stack[0].key {
				case "v":
					version, haveVersion = v.(json.Number)
					if !haveVersion {
						return env, Errorf(CodeBadRequest, "v: not a number")
					}
				case "type":
					env.typ, haveType = v.(string)
					if !haveType {
						return env, Errorf(CodeBadRequest, "type: not a string")
					}
				}
			}
		}
		done = afterValue(stack)
	}
	if !done {
		return env, Errorf(CodeBadRequest, "malformed JSON: unexpected end")
	}
	if !haveVersion {
		return env, Errorf(CodeBadRequest, "v: missing")
	}
	if !isDigits(version.String()) {
		return env, Errorf(CodeBadRequest, "v: %q is not a non-negative integer", truncate(version.String(), 32))
	}
	if version.String() != strconv.Itoa(SignalVersion) {
		return env, &Error{Code: CodeUnsupportedVersion,
			Message: truncate(fmt.Sprintf("version %s is not supported; supported: %d", version, SignalVersion), MaxErrorMessageLen)}
	}
	if !haveType || env.typ == "" {
		return env, Errorf(CodeBadRequest, "type: missing")
	}
	return env, nil
}

// scanLevel is one open object or array during scan.
type scanLevel struct {
	object  bool                // an object, else an array
	wantKey bool                // the next token is a key or '}'
	key     string              // the object's current key
	keys    map[string]struct{} // the object's keys so far
}

// afterValue marks that a value ended in the innermost container and
// reports whether the top-level object is complete.
func afterValue(stack []scanLevel) bool {
	if len(stack) == 0 {
		return true
	}
	if top := &stack[len(stack)-1]; top.object {
		top.wantKey = true
	}
	return false
}

// checkJSONKey enforces the key alphabet: 1..64 bytes of [a-z0-9_].

// FuzzScan holds scan to its reference: the same verdict (accepted, or the
// same error code) and the same type for every input.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"stats","http_bytes":1,"errors":{"http":2}}`,
		`{"v":1,"type":"join","swarm":"/a","caps":{"upload":true}}`,
		`{"v":1,"type":"have","ranges":[[1,5],[7,9]]}`,
		`{"v":2,"type":"x"}`, `{"v":-1}`, `{"v":1.0,"type":"a"}`, `{"v":1e0,"type":"a"}`, `{"v":"1","type":"a"}`,
		`{"v":1,"type":"a","k":null}`, `{"v":1,"type":"a"} {}`, `[{"v":1}]`, `{"v":1,"type":"a","v":1}`,
		`{"v":1,"type":"\u0061","\u006b":1}`, `{"v":1,"type":"a","A":1}`, `{"v":1,"type":"a","x":[[[[[[[[1]]]]]]]]}`,
		`{"v":1,"type":"a","x":"\ud800"}`, `{"v":1,"type":"a","x":"a\qb"}`, ` {"v" : 1 , "type" : "a" } `, `{`, ``, `{"v":01}`,
		`{"v":1,"type":true}`, `{"v":true}`, `{"v":1,"type":"a","x":tru}`, `{"v":1,"type":"a","x":-}`, `{"v":1,"type":"a","x":1.}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxMessageSize || !utf8Valid(data) {
			return
		}
		got, err1 := scan(data)
		want, err2 := scanTokens(data)
		code := func(err error) Code {
			var e *Error
			if errors.As(err, &e) {
				return e.Code
			}
			return ""
		}
		if (err1 == nil) != (err2 == nil) || code(err1) != code(err2) || err1 == nil && got.typ != want.typ {
			t.Fatalf("%q: scan %q %v, reference %q %v", data, got.typ, err1, want.typ, err2)
		}
	})
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// FuzzStatsFast holds the reflection-free stats decoder to encoding/json:
// whenever it decodes a message, the result is what json.Unmarshal gives.
func FuzzStatsFast(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"stats","http_bytes":4194304,"p2p_bytes":12582912,"peers":4,"startup_ms":412,"browser":"chrome","webrtc":true,"upload":false,"group":"p2p","stream":"/live/channel1/master.m3u8","errors":{"http":2,"peer":1}}`,
		`{"v":1,"type":"stats"}`, `{"v":1,"type":"stats","x":{"a":[1,{"b":"}"}]},"http_bytes":1}`, `{"v":1,"type":"stats","http_bytes":-1}`,
		`{"v":1,"type":"stats","http_bytes":1.5}`, `{"v":1,"type":"stats","http_bytes":1e3}`, `{"v":1,"type":"stats","browser":"a\"b"}`,
		`{"v":1,"type":"stats","errors":{"http":1,"zzz":"x"}}`, `{"v":1,"type":"stats","mobile":1}`, `{"v":1,"type":"stats","http_bytes":"1"}`,
		`{"v":1,"type":"stats","http_bytes":18446744073709551616}`, `{ "v" : 1 , "type" : "stats" , "peers" : 3 , "unknown" : [ ] }`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxMessageSize || !utf8Valid(data) {
			return
		}
		if _, err := scan(data); err != nil {
			return
		}
		var fast, slow Stats
		if !decodeStatsFast(data, &fast) {
			return
		}
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("%q: fast decoded %+v, encoding/json fails: %v", data, fast, err)
		}
		if fast != slow {
			t.Fatalf("%q: fast %+v, encoding/json %+v", data, fast, slow)
		}
	})
}

// FuzzStatsStrict holds the one-pass stats decoder to scan and the fast
// decoder: whatever it decodes, scan accepts as a stats message of the
// supported version, and decodeStatsFast decodes to the same.
func FuzzStatsStrict(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"stats","http_bytes":4194304,"p2p_bytes":12582912,"peers":4,"startup_ms":412,"browser":"chrome","webrtc":true,"upload":false,"group":"p2p","stream":"/live/channel1/master.m3u8","errors":{"http":2,"peer":1}}`,
		`{"v":1,"type":"stats"}`, `{"type":"stats","v":1}`, `{"v":1,"type":"stats","peers":1,"peers":2}`, `{"v":1,"type":"stats","v":1}`,
		`{"v":1,"type":"stats","errors":{"http":1,"http":1}}`, `{"v":1,"type":"stats","peers":01}`, `{"v":01,"type":"stats"}`,
		`{"v":1,"type":"stats","browser":"a` + "\x01" + `b"}`, `{"v":1,"type":"stats"} x`, `{"v":1,"type":"stats"}{}`, `{"v":2,"type":"stats"}`,
		`{"v":1,"type":"join"}`, `{"v":1,"type":"stats","x":1}`, `{"v":1,"type":"stats","peers":null}`, ` { "v" : 1 , "type" : "stats" } `,
		`{"v":1,"type":"stats","errors":{}}`, `{"v":1,"type":"stats","errors":{"x":1}}`, `{"v":1,"type":"stats","mobile":tru}`, `{"v":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxMessageSize || !utf8Valid(data) {
			return
		}
		var strict Stats
		if !decodeStatsStrict(data, &strict) {
			return
		}
		env, err := scan(data)
		if err != nil || env.typ != string(TypeStats) {
			t.Fatalf("%q: decoded in one pass, scan %q %v", data, env.typ, err)
		}
		var fast Stats
		if !decodeStatsFast(data, &fast) || fast != strict {
			t.Fatalf("%q: one pass %+v, fast %+v", data, strict, fast)
		}
	})
}
