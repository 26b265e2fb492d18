package edge

import (
	"errors"
	"strconv"
	"strings"
)

// byteRange is a half-open range [start, end) of a body.
type byteRange struct{ start, end int64 }

var errUnsatisfiable = errors.New("range not satisfiable")

// parseRange interprets a Range header against a body of size bytes
// (RFC 9110 14.2). It returns ok=false, with no error, for what the node
// answers with the whole body: other units, multiple ranges and malformed
// values (a server may ignore Range). It returns errUnsatisfiable for a
// well-formed single range that selects nothing.
func parseRange(h string, size int64) (r byteRange, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return byteRange{}, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return byteRange{}, false, nil
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		// Suffix range: the last n bytes.
		n, perr := parseDigits(last)
		if perr != nil {
			return byteRange{}, false, nil
		}
		if n == 0 || size == 0 {
			return byteRange{}, false, errUnsatisfiable
		}
		return byteRange{start: max(size-n, 0), end: size}, true, nil
	}
	start, perr := parseDigits(first)
	if perr != nil {
		return byteRange{}, false, nil
	}
	end := size - 1
	if last != "" {
		e, perr := parseDigits(last)
		if perr != nil || e < start {
			return byteRange{}, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return byteRange{}, false, errUnsatisfiable
	}
	return byteRange{start: start, end: end + 1}, true, nil
}

// parseDigits parses a non-empty run of ASCII digits (no sign, no spaces).
func parseDigits(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
