package wire

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unsafe"
)

// scan checks the structure of a message (one JSON object, nothing after
// it but white space, key rules, unique keys, no null, depth) and extracts
// "v" and "type", in one pass over the bytes without allocating: it runs
// for every message a node receives. data is valid UTF-8 (decode checked
// it). scanTokens in the tests is its slower reference.
func scan(data []byte) (envelope, error) {
	s := scanner{d: data}
	s.keys = s.keyBuf[:0]
	s.ws()
	if s.i >= len(s.d) {
		return envelope{}, Errorf(CodeBadRequest, "malformed JSON: unexpected end")
	}
	if s.d[s.i] != '{' {
		if err := s.value(0, ""); err != nil {
			return envelope{}, err
		}
		return envelope{}, Errorf(CodeBadRequest, "a message is a JSON object")
	}
	if err := s.object(1); err != nil {
		return envelope{}, err
	}
	s.ws()
	if s.i < len(s.d) {
		return envelope{}, Errorf(CodeBadRequest, "data after the message object")
	}
	if !s.haveV {
		return envelope{}, Errorf(CodeBadRequest, "v: missing")
	}
	version := unsafe.String(unsafe.SliceData(s.version), len(s.version))
	if !isDigits(version) {
		return envelope{}, Errorf(CodeBadRequest, "v: %q is not a non-negative integer", truncate(version, 32))
	}
	if version != strconv.Itoa(SignalVersion) {
		return envelope{}, &Error{Code: CodeUnsupportedVersion,
			Message: truncate(fmt.Sprintf("version %s is not supported; supported: %d", version, SignalVersion), MaxErrorMessageLen)}
	}
	if !s.haveT || s.typ == "" {
		return envelope{}, Errorf(CodeBadRequest, "type: missing")
	}
	return envelope{typ: s.typ}, nil
}

type scanner struct {
	d       []byte
	i       int
	keys    []string // keys of the open objects, innermost last
	keyBuf  [32]string
	version []byte
	typ     string
	haveV   bool
	haveT   bool
}

func (s *scanner) ws() {
	for s.i < len(s.d) {
		switch s.d[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) malformed(what string) error {
	if s.i >= len(s.d) {
		return Errorf(CodeBadRequest, "malformed JSON: unexpected end")
	}
	return Errorf(CodeBadRequest, "malformed JSON: invalid character %q %s at offset %d", s.d[s.i], what, s.i)
}

// object reads an object at nesting level (the message is level 1).
func (s *scanner) object(level int) error {
	s.i++ // '{'
	first := len(s.keys)
	defer func() { s.keys = s.keys[:first] }()
	s.ws()
	if s.i < len(s.d) && s.d[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.d) || s.d[s.i] != '"' {
			return s.malformed("looking for a key")
		}
		raw, escaped, err := s.str()
		if err != nil {
			return err
		}
		key := unsafe.String(unsafe.SliceData(raw), len(raw))
		if escaped {
			// Its own variable: only an escaped key goes to the heap.
			var k string
			if err := json.Unmarshal(s.d[s.i-len(raw)-2:s.i], &k); err != nil {
				return Errorf(CodeBadRequest, "malformed JSON: %v", err)
			}
			key = k
		}
		if err := checkJSONKey(key); err != nil {
			return err
		}
		for _, k := range s.keys[first:] {
			if k == key {
				return Errorf(CodeBadRequest, "duplicate key %q", key)
			}
		}
		s.keys = append(s.keys, key)
		s.ws()
		if s.i >= len(s.d) || s.d[s.i] != ':' {
			return s.malformed("after an object key")
		}
		s.i++
		s.ws()
		if err := s.value(level, key); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.d) {
			return s.malformed("")
		}
		switch s.d[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.malformed("after an object value")
		}
	}
}

func (s *scanner) array(level int) error {
	s.i++ // '['
	s.ws()
	if s.i < len(s.d) && s.d[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := s.value(level, ""); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.d) {
			return s.malformed("")
		}
		switch s.d[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.malformed("after an array element")
		}
	}
}

// value reads one value inside a container of nesting level (0: none);
// key is its key when the container is an object.
func (s *scanner) value(level int, key string) error {
	if s.i >= len(s.d) {
		return s.malformed("")
	}
	top := level == 1
	switch c := s.d[s.i]; {
	case c == '{' || c == '[':
		if level == MaxDepth {
			return Errorf(CodeBadRequest, "nesting deeper than %d", MaxDepth)
		}
		if c == '{' {
			return s.object(level + 1)
		}
		return s.array(level + 1)
	case c == '"':
		start := s.i
		raw, escaped, err := s.str()
		if err != nil {
			return err
		}
		switch {
		case top && key == "v":
			return Errorf(CodeBadRequest, "v: not a number")
		case top && key == "type":
			s.typ, s.haveT = string(raw), true
			if escaped {
				if err := json.Unmarshal(s.d[start:s.i], &s.typ); err != nil {
					return Errorf(CodeBadRequest, "malformed JSON: %v", err)
				}
			}
		}
		return nil
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		if err := s.number(); err != nil {
			return err
		}
		switch {
		case top && key == "v":
			s.version, s.haveV = s.d[start:s.i], true
		case top && key == "type":
			return Errorf(CodeBadRequest, "type: not a string")
		}
		return nil
	case c == 't' || c == 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		if len(s.d)-s.i < len(lit) || string(s.d[s.i:s.i+len(lit)]) != lit {
			return s.malformed("in literal")
		}
		s.i += len(lit)
		switch {
		case top && key == "v":
			return Errorf(CodeBadRequest, "v: not a number")
		case top && key == "type":
			return Errorf(CodeBadRequest, "type: not a string")
		}
		return nil
	case c == 'n':
		if len(s.d)-s.i < 4 || string(s.d[s.i:s.i+4]) != "null" {
			return s.malformed("in literal null")
		}
		if key != "" {
			return Errorf(CodeBadRequest, "%s: null is not a value", key)
		}
		return Errorf(CodeBadRequest, "null is not a value")
	}
	return s.malformed("looking for a value")
}

// str reads a string and returns its raw content (between the quotes) and
// whether it has escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	s.i++ // '"'
	start := s.i
	for s.i < len(s.d) {
		c := s.d[s.i]
		switch {
		case c == '"':
			raw = s.d[start:s.i]
			s.i++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.d) {
				return nil, false, s.malformed("")
			}
			switch s.d[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if s.i >= len(s.d) || !isHex(s.d[s.i]) {
						return nil, false, s.malformed("in \\u hexadecimal character escape")
					}
					s.i++
				}
			default:
				return nil, false, s.malformed("in string escape code")
			}
		case c < 0x20:
			return nil, false, s.malformed("in string literal")
		default:
			s.i++
		}
	}
	return nil, false, s.malformed("")
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	if s.d[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.d) && s.d[s.i] == '0':
		s.i++
	case s.i < len(s.d) && s.d[s.i] >= '1' && s.d[s.i] <= '9':
		s.digits()
	default:
		return s.malformed("in numeric literal")
	}
	if s.i < len(s.d) && s.d[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.malformed("after decimal point in numeric literal")
		}
	}
	if s.i < len(s.d) && (s.d[s.i] == 'e' || s.d[s.i] == 'E') {
		s.i++
		if s.i < len(s.d) && (s.d[s.i] == '+' || s.d[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.malformed("in exponent of numeric literal")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.d) && s.d[s.i] >= '0' && s.d[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
