package check

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCacheability(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		h          http.Header
		stored     bool
		shared     bool
		revalidate bool
		fresh      float64
		source     string
		inSummary  string
	}{
		{"max-age", 200, http.Header{"Cache-Control": {"max-age=60"}}, true, true, false, 60, "max-age", "fresh for 60s (max-age)"},
		{"s-maxage wins over max-age", 200, http.Header{"Cache-Control": {"max-age=60, s-maxage=600"}}, true, true, false, 600, "s-maxage", "s-maxage"},
		{"directives over several lines and case", 200, http.Header{"Cache-Control": {"public", "Max-Age=30"}}, true, true, false, 30, "max-age", ""},
		{"Age is taken off", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"45"}}, true, true, false, 15, "max-age", "15s"},
		{"Age beyond the lifetime: stale", 200, http.Header{"Cache-Control": {"max-age=60"}, "Age": {"90"}}, true, true, true, 0, "max-age", "already stale"},
		{"no-store", 200, http.Header{"Cache-Control": {"max-age=60, no-store"}}, false, false, false, 0, "none", "no-store"},
		{"private", 200, http.Header{"Cache-Control": {"private, max-age=60"}}, false, false, false, 0, "none", "private"},
		{"private with field names is stored", 200, http.Header{"Cache-Control": {`private="X-User", max-age=60`}}, true, true, false, 60, "max-age", ""},
		{"no-cache: stored and revalidated", 200, http.Header{"Cache-Control": {"no-cache"}, "Etag": {`"a"`}}, true, true, true, 0, "none", "revalidated before every reuse (no-cache)"},
		{"no-cache without validator", 200, http.Header{"Cache-Control": {"no-cache"}}, true, true, true, 0, "none", "refetches the whole object"},
		{"Expires", 200, http.Header{"Date": {date}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, true, true, false, 3600, "Expires", "1h (Expires)"},
		{"invalid Expires is stale", 200, http.Header{"Expires": {"0"}}, true, true, true, 0, "Expires", "already stale"},
		{"max-age wins over Expires", 200, http.Header{"Cache-Control": {"max-age=5"}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, true, true, false, 5, "max-age", ""},
		{"heuristic from Last-Modified", 200, http.Header{"Date": {date}, "Last-Modified": {now.Add(-100 * time.Second).Format(http.TimeFormat)}}, true, true, false, 10, "heuristic", "(heuristic)"},
		{"nothing at all", 200, http.Header{}, true, true, true, 0, "none", "no freshness information"},
		{"Set-Cookie is not shared", 200, http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"a=b"}}, true, false, false, 60, "max-age", "Set-Cookie"},
		{"Vary: *", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, false, false, false, 0, "none", "Vary: *"},
		{"Vary: Accept-Encoding", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"accept-encoding"}}, true, true, false, 60, "max-age", "Vary: Accept-Encoding"},
		{"CDN-Cache-Control wins", 200, http.Header{"Cache-Control": {"no-store"}, "Cdn-Cache-Control": {"max-age=120"}}, true, true, false, 120, "max-age", ""},
		{"500 without freshness", 500, http.Header{}, false, false, false, 0, "none", "status 500"},
		{"500 with max-age", 500, http.Header{"Cache-Control": {"max-age=5"}}, true, true, false, 5, "max-age", ""},
		{"404 heuristic allowed", 404, http.Header{"Date": {date}, "Last-Modified": {now.Add(-50 * time.Second).Format(http.TimeFormat)}}, true, true, false, 5, "heuristic", ""},
		{"quoted comma does not split", 200, http.Header{"Cache-Control": {`no-cache="a,b", max-age=9`}}, true, true, false, 9, "max-age", ""},
		{"bad max-age ignored", 200, http.Header{"Cache-Control": {"max-age=soon"}}, true, true, true, 0, "none", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cacheability(tt.status, tt.h, now)
			if c.Stored != tt.stored || c.Shared != tt.shared || c.Revalidate != tt.revalidate || c.FreshSeconds != tt.fresh || c.Source != tt.source {
				t.Errorf("got stored=%v shared=%v revalidate=%v fresh=%v source=%s; want %v %v %v %v %s (%s)",
					c.Stored, c.Shared, c.Revalidate, c.FreshSeconds, c.Source, tt.stored, tt.shared, tt.revalidate, tt.fresh, tt.source, c.Summary)
			}
			if !strings.Contains(c.Summary, tt.inSummary) {
				t.Errorf("summary %q lacks %q", c.Summary, tt.inSummary)
			}
			if (!c.Stored || !c.Shared) && len(c.Problems) == 0 {
				t.Errorf("not stored or shared without a problem named: %+v", c)
			}
		})
	}
}

func TestParseDirectives(t *testing.T) {
	d, bad := parseDirectives([]string{`Max-Age=60, no-cache="Set-Cookie, X-A", private, ext="a\"b", max-age=1`, ` , =x, s-maxage=a b`})
	want := directives{"max-age": "60", "no-cache": "Set-Cookie, X-A", "private": "", "ext": `a"b`}
	if len(d) != len(want) {
		t.Errorf("directives %q, want %q", d, want)
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %q, want %q", k, d[k], v)
		}
	}
	if !slices.Equal(bad, []string{"=x", "s-maxage=a b"}) {
		t.Errorf("bad = %q", bad)
	}
}

// FuzzParseDirectives: any header value parses without panicking into
// lower-case token names, at most maxDirectives of them, and the verdict
// built on it is self-consistent.
func FuzzParseDirectives(f *testing.F) {
	for _, s := range []string{"max-age=60", `no-cache="a,b", s-maxage=10`, `private, ext="\"`, ",,,", "max-age=99999999999999999999", `a="`, "no-store\x00"} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, cc, age string) {
		d, _ := parseDirectives([]string{cc})
		if len(d) > maxDirectives {
			t.Fatalf("%d directives", len(d))
		}
		for name := range d {
			if !isToken(name) || strings.ToLower(name) != name {
				t.Fatalf("name %q is not a lower-case token", name)
			}
		}
		c := cacheability(200, http.Header{"Cache-Control": {cc}, "Age": {age}}, time.Unix(0, 0))
		if c.FreshSeconds < 0 || (!c.Stored && c.Shared) || c.Summary == "" {
			t.Fatalf("inconsistent %+v", c)
		}
	})
}
