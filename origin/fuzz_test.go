package origin

import (
	"net/url"
	"strings"
	"testing"

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

// FuzzCacheControl checks that any Cache-Control and Age give a sane TTL.
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", "s-maxage=1, max-age=2", "no-store", `max-age="5"`, "max-age=-1",
		"max-age=99999999999999999999999", ",,=,", "private=\"Set-Cookie\", max-age=1"} {
		f.Add(s, "10")
	}
	cfg := DefaultConfig().TTL
	f.Fuzz(func(t *testing.T, cc, age string) {
		parsed := parseCacheControl([]string{cc}, age)
		for _, kind := range []cache.Kind{cache.KindSegment, cache.KindLivePlaylist, cache.KindOther} {
			ttl := deriveTTL(cfg, 200, kind, &PlaylistInfo{TargetDuration: 6e9}, parsed)
			if ttl < 0 || ttl > maxFreshness && ttl != cfg.Segment {
				t.Fatalf("Cache-Control %q, Age %q: TTL %v", cc, age, ttl)
			}
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
