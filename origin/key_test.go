package origin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustKeyer(tb testing.TB, c KeyConfig) *Keyer {
	tb.Helper()
	k, err := NewKeyer(c)
	if err != nil {
		tb.Fatalf("NewKeyer: %v", err)
	}
	return k
}

func TestKey(t *testing.T) {
	tests := []struct {
		name              string
		cfg               KeyConfig
		host, path, query string
		want              string
	}{
		{"segment", KeyConfig{}, "h", "/live/1.ts", "", "/live/1.ts"},
		{"query dropped", KeyConfig{}, "h", "/live/1.ts", "id=xyz", "/live/1.ts"},
		{"same segment other token", KeyConfig{}, "h", "/live/1.ts", "id=abc", "/live/1.ts"},
		{"empty path", KeyConfig{}, "", "", "", "/"},
		{"lower-case hex", KeyConfig{}, "", "/a%2fb", "", "/a%2Fb"},
		{"unreserved decoded", KeyConfig{}, "", "/%41%7E", "", "/A~"},
		{"control byte", KeyConfig{}, "", "/a\x00\n.ts", "", "/a%00%0A.ts"},
		{"hash escaped", KeyConfig{}, "", "/a#b.ts", "", "/a%23b.ts"},
		{"query in path escaped", KeyConfig{}, "", "/a?b.ts", "", "/a%3Fb.ts"},
		{"directives", KeyConfig{}, "", "/i.m3u8", "_HLS_part=1&_HLS_msn=2", "/i.m3u8?_HLS_msn=2&_HLS_part=1"},
		{"directives only on playlists", KeyConfig{}, "", "/i.mp4", "_HLS_msn=2", "/i.mp4"},
		{"keep query", KeyConfig{KeepQuery: true}, "", "/a.ts", "z=1&a=2", "/a.ts?z=1&a=2"},
		{"keep host", KeyConfig{KeepHost: true}, "A.B", "/a.ts", "", "a.b/a.ts"},
		{"keep host escapes", KeyConfig{KeepHost: true}, "a b%41", "/a.ts", "", "a%20ba/a.ts"},
		{"rewrite", KeyConfig{Rewrites: []Rewrite{{Match: `^/(xyz|abc)/`, Replace: "/"}}}, "", "/xyz/1.ts", "", "/1.ts"},
		{"rewrite other session", KeyConfig{Rewrites: []Rewrite{{Match: `^/(xyz|abc)/`, Replace: "/"}}}, "", "/abc/1.ts", "", "/1.ts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustKeyer(t, tt.cfg)
			if got := k.Key(tt.host, tt.path, tt.query); got != tt.want {
				t.Errorf("Key(%q, %q, %q) = %q, want %q", tt.host, tt.path, tt.query, got, tt.want)
			}
		})
	}
}

// goldenKeys is the layout of testdata/keys.json, shared with the browser
// client's tests.
type goldenKeys struct {
	Version int `json:"version"`
	Cases   []struct {
		Name   string    `json:"name"`
		Config KeyConfig `json:"config"`
		Host   string    `json:"host"`
		Path   string    `json:"path"`
		Query  string    `json:"query"`
		Key    string    `json:"key"`
	} `json:"cases"`
	InvalidRewrites []struct {
		Name    string `json:"name"`
		Match   string `json:"match"`
		Replace string `json:"replace"`
	} `json:"invalid_rewrites"`
}

func loadGoldenKeys(tb testing.TB) goldenKeys {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "keys.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var g goldenKeys
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&g); err != nil {
		tb.Fatalf("keys.json: %v", err)
	}
	if g.Version != 1 {
		tb.Fatalf("keys.json: version %d, want 1", g.Version)
	}
	return g
}

func TestKeyGolden(t *testing.T) {
	g := loadGoldenKeys(t)
	if len(g.Cases) == 0 || len(g.InvalidRewrites) == 0 {
		t.Fatal("keys.json has no cases")
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			k := mustKeyer(t, c.Config)
			if got := k.Key(c.Host, c.Path, c.Query); got != c.Key {
				t.Errorf("Key(%q, %q, %q) = %q, want %q", c.Host, c.Path, c.Query, got, c.Key)
			}
		})
	}
	for _, c := range g.InvalidRewrites {
		t.Run("invalid/"+c.Name, func(t *testing.T) {
			cfg := KeyConfig{Rewrites: []Rewrite{{Match: c.Match, Replace: c.Replace}}}
			if err := cfg.Validate(); err == nil {
				t.Errorf("rewrite {%q, %q} accepted, want an error", c.Match, c.Replace)
			}
		})
	}
}

func TestKeyConfigValidate(t *testing.T) {
	tests := []struct {
		name     string
		rewrites []Rewrite
		want     string
	}{
		{"ok", []Rewrite{{Match: "^/a/", Replace: "/"}, {Match: `(\d+)`, Replace: "${1}"}}, ""},
		{"second rule bad", []Rewrite{{Match: "a", Replace: ""}, {Match: "(?i)a", Replace: ""}},
			"key.rewrites[1].match: group syntax (?i at offset 0 is not portable: use (...) or (?:...)"},
		{"empty", []Rewrite{{}}, "key.rewrites[0].match: must not be empty"},
		{"nullable", []Rewrite{{Match: "x*"}}, `key.rewrites[0].match: "x*" can match the empty string`},
		{"escape", []Rewrite{{Match: `\pL`}}, `key.rewrites[0].match: escape \p at offset 0 is not portable`},
		{"posix", []Rewrite{{Match: `[[:digit:]]`}}, `key.rewrites[0].match: POSIX class at offset 1 is not portable`},
		{"go syntax error", []Rewrite{{Match: `(a`}}, "key.rewrites[0].match: error parsing regexp: missing closing ): `(a`"},
		{"dollar", []Rewrite{{Match: `(a)`, Replace: "$1"}},
			"key.rewrites[0].replace: '$' at offset 0: write ${N} for a group or $$ for a dollar sign"},
		{"group count", []Rewrite{{Match: `(a)`, Replace: "${2}"}}, "key.rewrites[0].replace: ${2}: the expression has 1 groups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := KeyConfig{Rewrites: tt.rewrites}.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKeyAllocs(t *testing.T) {
	k := mustKeyer(t, KeyConfig{})
	if n := testing.AllocsPerRun(100, func() { k.Key("h", "/live/low/123.ts", "token=abc") }); n != 0 {
		t.Errorf("segment key: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { k.Key("h", "/live/low/index.m3u8", "_HLS_msn=12&_HLS_part=3") }); n > 1 {
		t.Errorf("LL-HLS playlist key: %v allocations, want at most 1", n)
	}
	kh := mustKeyer(t, KeyConfig{KeepHost: true})
	if n := testing.AllocsPerRun(100, func() { kh.Key("Edge.Example", "/a%7e/1.ts", "") }); n > 1 {
		t.Errorf("host key: %v allocations, want at most 1", n)
	}
}

func BenchmarkKey(b *testing.B) {
	k := mustKeyer(b, KeyConfig{})
	b.ReportAllocs()
	for b.Loop() {
		k.Key("h", "/live/low/123.ts", "token=abc")
	}
}

func BenchmarkKeyRewrite(b *testing.B) {
	k := mustKeyer(b, KeyConfig{Rewrites: []Rewrite{{Match: "^/session/[^/]+/", Replace: "/"}}})
	b.ReportAllocs()
	for b.Loop() {
		k.Key("h", "/session/abc123/live/low/123.ts", "")
	}
}

func FuzzKey(f *testing.F) {
	g := loadGoldenKeys(f)
	for _, c := range g.Cases {
		f.Add(c.Host, c.Path, c.Query, c.Config.KeepHost, c.Config.KeepQuery)
	}
	plain := mustKeyer(f, KeyConfig{})
	withRules := mustKeyer(f, KeyConfig{Rewrites: []Rewrite{{Match: `^/s/[^/]+/`, Replace: "/"}, {Match: `-\d+`, Replace: ""}}})
	f.Fuzz(func(t *testing.T, host, path, query string, keepHost, keepQuery bool) {
		k := mustKeyer(t, KeyConfig{KeepHost: keepHost, KeepQuery: keepQuery})
		key := k.Key(host, path, query)
		withRules.Key(host, path, query) // must not panic

		for i := 0; i < len(key); i++ {
			if key[i] <= ' ' || key[i] >= 0x7f {
				t.Fatalf("key %q has byte %#x", key, key[i])
			}
		}
		if keepQuery {
			return
		}
		// Idempotence: a key (without host) is its own key.
		p, q, _ := strings.Cut(key, "?")
		if !keepHost {
			if again := k.Key(host, p, q); again != key {
				t.Fatalf("not idempotent: Key(%q, %q) = %q, then %q", path, query, key, again)
			}
		}
		// The query never leaks into a segment key.
		if !isPlaylistPath(path) {
			if strings.Contains(key, "?") {
				t.Fatalf("segment key %q carries a query", key)
			}
			if plain.Key("", path, query) != plain.Key("", path, "") {
				t.Fatalf("segment key depends on the query %q", query)
			}
		}
	})
}

// The HTTP cache key keeps the query (normalised, in order) but the
// parameters its route drops, and no rewrite rule applies to it.
func TestCacheKey(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Routes = []Route{
		{Prefix: "/seg/", URL: "http://o/", CacheKey: CacheKeyConfig{DropQuery: []string{"token", "sig"}}},
		{Prefix: "/", URL: "http://o/"},
	}
	cfg.Key.Rewrites = []Rewrite{{Match: `^/s/[a-z]+/`, Replace: "/s/"}}
	c, err := NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, query, want string }{
		{"/live/a.m3u8", "", "/live/a.m3u8"},
		{"/live/a.m3u8", "user=1", "/live/a.m3u8?user=1"},
		{"/seg/1.ts", "token=abc", "/seg/1.ts"},
		{"/seg/1.ts", "a=1&token=abc&sig=x&b=2", "/seg/1.ts?a=1&b=2"},
		{"/seg/1.ts", "tokenx=1", "/seg/1.ts?tokenx=1"},
		{"/s/abc/1.ts", "", "/s/abc/1.ts"},
		{"/a%7e b", "q=a b", "/a~%20b?q=a%20b"},
	} {
		if got := c.CacheKey("edge.example", tt.path, tt.query); got != tt.want {
			t.Errorf("CacheKey(%q, %q) = %q, want %q", tt.path, tt.query, got, tt.want)
		}
	}
	if k := c.Key("", "/s/abc/1.ts", "token=1"); k != "/s/1.ts" {
		t.Errorf("content key %q: the rewrite applies to it", k)
	}
}
