package wire

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dashGolden is the layout of testdata/dash.json, shared with the browser
// client's tests: both sides name Representation swarms and read the
// swarms header the same way.
type dashGolden struct {
	Version int `json:"version"`
	Swarms  []struct {
		Manifest       string `json:"manifest"`
		Representation string `json:"representation"`
		Swarm          string `json:"swarm"`
	} `json:"swarms"`
	Headers []struct {
		List   []SwarmTicket `json:"list"`
		Header string        `json:"header"`
	} `json:"headers"`
	InvalidHeaders []string `json:"invalid_headers"`
}

func loadDashGolden(tb testing.TB) dashGolden {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "dash.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var g dashGolden
	if err := json.Unmarshal(b, &g); err != nil || g.Version != 1 || len(g.Swarms) == 0 || len(g.Headers) == 0 {
		tb.Fatalf("testdata/dash.json: %v (version %d)", err, g.Version)
	}
	return g
}

func TestRepresentationSwarmGolden(t *testing.T) {
	for _, c := range loadDashGolden(t).Swarms {
		if got := RepresentationSwarm(c.Manifest, c.Representation); got != c.Swarm {
			t.Errorf("RepresentationSwarm(%q, %q) = %q, want %q", c.Manifest, c.Representation, got, c.Swarm)
		}
	}
}

func TestSwarmsHeaderGolden(t *testing.T) {
	g := loadDashGolden(t)
	for _, c := range g.Headers {
		if got := FormatSwarms(c.List); got != c.Header {
			t.Errorf("FormatSwarms(%+v) = %q, want %q", c.List, got, c.Header)
		}
		got, err := ParseSwarms(c.Header)
		if err != nil {
			t.Errorf("ParseSwarms(%q): %v", c.Header, err)
			continue
		}
		if len(got) != len(c.List) {
			t.Errorf("ParseSwarms(%q) = %+v, want %+v", c.Header, got, c.List)
			continue
		}
		for i := range got {
			if got[i] != c.List[i] {
				t.Errorf("ParseSwarms(%q)[%d] = %+v, want %+v", c.Header, i, got[i], c.List[i])
			}
		}
	}
	for _, h := range g.InvalidHeaders {
		if got, err := ParseSwarms(h); err == nil {
			t.Errorf("ParseSwarms(%q) = %+v, want an error", h, got)
		}
	}
}

// FuzzParseSwarms checks that any header either parses into swarms that
// format back to an equivalent header, or is refused with an error.
func FuzzParseSwarms(f *testing.F) {
	for _, c := range loadDashGolden(f).Headers {
		f.Add(c.Header)
	}
	for _, h := range loadDashGolden(f).InvalidHeaders {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		list, err := ParseSwarms(h)
		if err != nil {
			if err.Error() == "" || !strings.HasPrefix(err.Error(), "swarms header: ") {
				t.Fatalf("error %q does not say what it is about", err)
			}
			return
		}
		again, err := ParseSwarms(FormatSwarms(list))
		if err != nil || len(again) != len(list) {
			t.Fatalf("%q: formatted back, parses as %+v, %v", h, again, err)
		}
		for i := range list {
			if again[i] != list[i] {
				t.Fatalf("%q: round trip changed %+v into %+v", h, list[i], again[i])
			}
		}
	})
}
