package demo

import (
	"net/http"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		path string
		want route
		ok   bool
	}{
		{"/live/master.m3u8", route{stream: streamLive, res: resMaster}, true},
		{"/vod/master.m3u8", route{stream: streamVOD, res: resMaster}, true},
		{"/live/low/index.m3u8", route{stream: streamLive, res: resPlaylist, rendition: "low"}, true},
		{"/vod/r12/0.ts", route{stream: streamVOD, res: resSegment, rendition: "r12", seq: 0}, true},
		{"/live/high/870982464.ts", route{stream: streamLive, res: resSegment, rendition: "high", seq: 870982464}, true},
		{"", route{}, false},
		{"live/master.m3u8", route{}, false},
		{"/live//index.m3u8", route{}, false},
		{"/live/../master.m3u8", route{}, false},
		{"/live/Low/index.m3u8", route{}, false},
		{"/live/low/00.ts", route{}, false},
		{"/live/low/+1.ts", route{}, false},
		{"/live/low/.ts", route{}, false},
		{"/live/low/1.ts?x=1", route{}, false},
		{"/live/low/1234567890123456.ts", route{}, false},
		{"/live/low/sub/1.ts", route{}, false},
		{"/live/master.m3u8/", route{}, false},
	}
	for _, tt := range tests {
		got, ok := parsePath(tt.path)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParsePath checks that the path parser never panics, accepts only
// canonical paths (formatting a parsed route gives the path back) and that the
// handler answers every path without panicking.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/live/master.m3u8", "/vod/mid/index.m3u8", "/live/high/870982464.ts", "/vod/low/0.ts",
		"/live/low/01.ts", "/live//x", "/", "",
	} {
		f.Add(s)
	}
	cfg := DefaultConfig()
	cfg.Synthetic, cfg.SegmentSize = true, 1000
	o := newTestOrigin(f, cfg, newFakeClock(testStart))
	f.Fuzz(func(t *testing.T, p string) {
		rt, ok := parsePath(p)
		if ok {
			if back := rt.String(); back != p {
				t.Fatalf("parsePath(%q) = %+v, which formats as %q", p, rt, back)
			}
			if rt.seq < 0 {
				t.Fatalf("parsePath(%q): negative sequence %d", p, rt.seq)
			}
		}
		if p == "" || p[0] != '/' {
			return
		}
		req, err := http.NewRequest(http.MethodGet, "http://origin.invalid"+p, nil)
		if err != nil {
			return
		}
		req.URL.Path = p
		o.ServeHTTP(discard{}, req)
	})
}

// discard is a ResponseWriter that drops everything.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
