package wire

import (
	"fmt"
	"unicode/utf8"
)

// The helpers below validate one field each and return a bad_request
// *Error naming the field. Decoders and encoders share them, so both
// directions enforce the same rules.

func badField(field, format string, args ...any) *Error {
	return Errorf(CodeBadRequest, "%s: %s", field, fmt.Sprintf(format, args...))
}

// checkText accepts valid UTF-8 of at most max bytes, non-empty if required.
func checkText(field, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return badField(field, "missing")
	case len(s) > max:
		return badField(field, "%d bytes, limit %d", len(s), max)
	case !utf8.ValidString(s):
		return badField(field, "not valid UTF-8")
	}
	return nil
}

// checkKey accepts a content key: 1..MaxKeyLen bytes of UTF-8 without
// control characters.
func checkKey(field, s string) error {
	if err := checkText(field, s, MaxKeyLen, true); err != nil {
		return err
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return badField(field, "control character %U", r)
		}
	}
	return nil
}

// checkID accepts 1..max characters from [A-Za-z0-9_-] (peer and session ids).
func checkID(field, s string, max int) error {
	if s == "" {
		return badField(field, "missing")
	}
	if len(s) > max {
		return badField(field, "%d bytes, limit %d", len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return badField(field, "character %q outside [A-Za-z0-9_-]", c)
		}
	}
	return nil
}

// checkASCII accepts printable ASCII (lo..0x7e) of at most max bytes.
func checkASCII(field, s string, lo byte, max int, required bool) error {
	if required && s == "" {
		return badField(field, "missing")
	}
	if len(s) > max {
		return badField(field, "%d bytes, limit %d", len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > 0x7e {
			return badField(field, "byte 0x%02x is not printable ASCII", s[i])
		}
	}
	return nil
}

// checkToken accepts a code: [a-z][a-z0-9_]* of at most MaxCodeLen bytes.
func checkToken(field, s string) error {
	if s == "" {
		return badField(field, "missing")
	}
	if len(s) > MaxCodeLen {
		return badField(field, "%d bytes, limit %d", len(s), MaxCodeLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_')) {
			return badField(field, "%q is not lower-case snake_case", s)
		}
	}
	return nil
}

func checkRange[T int | int64 | uint64](field string, v, lo, hi T) error {
	if v < lo || v > hi {
		return badField(field, "%d outside %d..%d", v, lo, hi)
	}
	return nil
}

func checkCount(field string, n, lo, hi int) error {
	if n < lo || n > hi {
		return badField(field, "%d entries, allowed %d..%d", n, lo, hi)
	}
	return nil
}

// isSHA256Hex reports whether s is 64 lower-case hex digits.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
