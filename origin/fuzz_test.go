package origin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
)

// FuzzRoute checks that no viewer path leads outside its route's base path,
// however many times the origin percent-decodes what it receives.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/tv/a/1.ts", "/tv/../x", "/tv/%2e%2e/x", "/tv/%252e%252e/x", "/tv/a%2fb",
		"/tv/a\\b", "/tv//x", "/x", "/tv/a/%2E%2e%2f", "/tv/%25%32%65%25%32%65/x", "/tv/.%2e/x"} {
		f.Add(s)
	}
	c, err := NewClient(Config{
		Routes:      []Route{{Prefix: "/tv/", URL: "http://o/streams/"}},
		Timeout:     1,
		MaxBodySize: 1,
	}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, rem, ok := c.routes.match(path)
		if !ok {
			return
		}
		target := string(appendEscaped([]byte(rt.base.path), rem, pathChars))
		for i := 0; i < len(target); i++ {
			if c := target[i]; c <= ' ' || c >= 0x7f || c == '\\' || c == '?' || c == '#' {
				t.Fatalf("%q -> request target %q has byte %#x", path, target, c)
			}
		}
		for range 3 {
			if clean := removeDotSegments(target); !strings.HasPrefix(clean, "/streams/") {
				t.Fatalf("%q -> %q leaves the base path", path, target)
			}
			dec, err := url.PathUnescape(target)
			if err != nil {
				return
			}
			if strings.ContainsAny(dec, "\\\x00") || strings.Contains(dec, "//") {
				t.Fatalf("%q decodes to %q", path, dec)
			}
			target = dec
		}
	})
}

// FuzzCacheControl checks that any cache directives, Age, Expires and
// Vary give a sane policy and never a stored answer the origin forbade,
// and that Cacheability (what the stream checker reports) tells the very
// decision the node's fetches make. The stream checker's seeds are here
// too (testdata/fuzz/FuzzCacheControl).
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", "s-maxage=1, max-age=2", "no-store", `max-age="5"`, "max-age=-1",
		"max-age=99999999999999999999999", ",,=,", "private=\"Set-Cookie\", max-age=1", `no-cache="a, b", max-age=3`,
		"stale-while-revalidate=5, stale-if-error=60", `"unterminated, max-age=1`,
		`no-cache="a,b", s-maxage=10`, `private, ext="\"`, ",,,", `a="`, "no-store\x00", "max-age=soon, s-maxage=1h"} {
		f.Add(s, "10", "Thu, 01 Jan 2026 00:00:00 GMT", "Origin")
	}
	f.Add("max-age=60", "", "Mon, 01 Jan 0001 00:00:00 GMT", "") // a Date two millennia old: age capped
	cfg := DefaultConfig().TTL
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, cc, age, expires, vary string) {
		hs := []cache.Header{{Name: "Cache-Control", Value: cc}, {Name: "Age", Value: age}, {Name: "Expires", Value: expires}, {Name: "Vary", Value: vary}}
		d := parseDirectives([]string{cc})
		for _, kind := range []cache.Kind{cache.KindSegment, cache.KindLivePlaylist, cache.KindOther} {
			// The Expires value doubles as the origin's Date: any date at all.
			p := decide(cfg, hs, expires, 200, false, media{kind: kind, info: &PlaylistInfo{TargetDuration: 6e9}})
			if p.ttl < 0 || p.ttl > maxFreshness || p.age < 0 || p.age > maxFreshness {
				t.Fatalf("Cache-Control %q, Age %q: TTL %v age %v", cc, age, p.ttl, p.age)
			}
			if p.store && (d.noStore || d.private) {
				t.Fatalf("Cache-Control %q: stored", cc)
			}
			if d.noCache && p.ttl != 0 {
				t.Fatalf("Cache-Control %q: fresh for %v despite no-cache", cc, p.ttl)
			}
		}
		h := http.Header{}
		for _, x := range hs {
			h.Add(x.Name, x.Value)
		}
		c := Cacheability(cfg, 200, h, nil, now)
		p := decideAt(cfg, hs, "", 200, false, media{kind: cache.KindSegment}, func() time.Time { return now })
		if c.Store != p.store || c.Store == (c.NotStored != "") || c.Store == (c.Source == "") ||
			(c.Store && (c.TTL != p.ttl || c.Age != p.age || c.NoStale != p.noStale)) || c.Fresh() < 0 {
			t.Fatalf("Cache-Control %q, Age %q, Expires %q: Cacheability %+v, decide %+v", cc, age, expires, c, p)
		}
		for _, v := range c.VaryIgnored {
			if containsFold(c.Vary, v) || v == "*" {
				t.Fatalf("Vary %q: %q both ignored and kept (%q)", vary, v, c.Vary)
			}
		}
	})
}

// FuzzVary checks that Vary parsing yields valid lower-case field names.
func FuzzVary(f *testing.F) {
	for _, s := range []string{"Origin", "accept-encoding, Origin", "*", " , ,x", `"a,b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		names, _ := parseVary([]string{v})
		for _, n := range names {
			if n != strings.ToLower(n) || !validHeaderField(n, "") || n == "accept-encoding" {
				t.Fatalf("Vary %q gave name %q", v, n)
			}
		}
	})
}

// FuzzHTTPDate checks that an HTTP-date that parses prints back to one
// that parses to the same instant.
func FuzzHTTPDate(f *testing.F) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := parseHTTPDate(s)
		if !ok {
			return
		}
		back, ok := parseHTTPDate(tm.UTC().Format(time.RFC1123))
		if !ok || !back.Equal(tm.Truncate(time.Second)) {
			t.Fatalf("%q -> %v -> %v %v", s, tm, back, ok)
		}
	})
}

// FuzzPlainSafe checks the one-pass check of unescaped paths against the
// general one.
func FuzzPlainSafe(f *testing.F) {
	for _, s := range []string{"a/b.ts", "a//b", "/a", "a/./b", "a/../b", "a/", "", "..", "a\\b", "a?b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rem string) {
		if strings.IndexByte(rem, '%') >= 0 {
			return
		}
		if got, want := plainSafe(rem), safeEscaped(rem); got != want {
			t.Fatalf("plainSafe(%q) = %v, general check says %v", rem, got, want)
		}
	})
}
