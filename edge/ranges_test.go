package edge

import (
	"errors"
	"testing"
)

func TestParseRange(t *testing.T) {
	const size = 1000
	tests := []struct {
		h          string
		start, end int64
		ok         bool
		err        error
	}{
		{h: "bytes=0-99", start: 0, end: 100, ok: true},
		{h: "bytes=100-", start: 100, end: 1000, ok: true},
		{h: "bytes=-100", start: 900, end: 1000, ok: true},
		{h: "bytes=-5000", start: 0, end: 1000, ok: true},
		{h: "bytes=990-5000", start: 990, end: 1000, ok: true},
		{h: " bytes=1-1 ", start: 1, end: 2, ok: true},
		{h: "bytes=1000-", err: errUnsatisfiable},
		{h: "bytes=5000-6000", err: errUnsatisfiable},
		{h: "bytes=-0", err: errUnsatisfiable},
		{h: "bytes=0-1,5-6"}, // multiple ranges: whole body
		{h: "items=0-1"},     // other unit: whole body
		{h: "bytes=5-1"},     // invalid: whole body
		{h: "bytes=a-b"},     // malformed
		{h: "bytes=-"},       // malformed
		{h: "bytes=+1-2"},    // malformed
		{h: "bytes=99999999999999999999-"},
		{h: "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.h, func(t *testing.T) {
			r, ok, err := parseRange(tt.h, size)
			if !errors.Is(err, tt.err) || ok != tt.ok || (ok && (r.start != tt.start || r.end != tt.end)) {
				t.Fatalf("parseRange(%q) = %+v, %v, %v; want [%d,%d) %v %v", tt.h, r, ok, err, tt.start, tt.end, tt.ok, tt.err)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-99", "bytes=-1", "bytes=5-", "bytes=0-1,2-3", "bytes=99999999999999999999-"} {
		f.Add(s, int64(1000))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		r, ok, err := parseRange(h, size)
		if ok && err != nil {
			t.Fatal("ok with an error")
		}
		if ok && (r.start < 0 || r.end > size || r.start >= r.end) {
			t.Fatalf("parseRange(%q, %d) = [%d,%d): outside the body", h, size, r.start, r.end)
		}
	})
}
