package origin

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Routes = []Route{{Prefix: "/tv/", URL: "http://o:8000/streams/"}}
		return c
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"valid", func(*Config) {}, ""},
		{"root prefix and bare host", func(c *Config) { c.Routes = []Route{{Prefix: "/", URL: "https://cdn.example.com"}} }, ""},
		{"no routes", func(c *Config) { c.Routes = nil }, "upstream.routes: at least one route is required"},
		{"prefix without leading slash", func(c *Config) { c.Routes[0].Prefix = "tv/" },
			`upstream.routes[0].prefix: "tv/" must start and end with '/'`},
		{"prefix without trailing slash", func(c *Config) { c.Routes[0].Prefix = "/tv" },
			`upstream.routes[0].prefix: "/tv" must start and end with '/'`},
		{"prefix with dot segment", func(c *Config) { c.Routes[0].Prefix = "/tv/../" },
			`upstream.routes[0].prefix: "/tv/../" must not contain empty, '.' or '..' segments`},
		{"prefix with escape", func(c *Config) { c.Routes[0].Prefix = "/t%20v/" },
			`upstream.routes[0].prefix: "/t%20v/": byte '%' is not allowed (write the prefix unescaped)`},
		{"duplicate prefix", func(c *Config) { c.Routes = append(c.Routes, Route{Prefix: "/tv/", URL: "http://p/"}) },
			`upstream.routes[1].prefix: "/tv/" is already used by upstream.routes[0]`},
		{"missing url", func(c *Config) { c.Routes[0].URL = "" }, "upstream.routes[0].url: is required"},
		{"bad scheme", func(c *Config) { c.Routes[0].URL = "ftp://o/" },
			`upstream.routes[0].url: "ftp://o/": scheme must be http or https`},
		{"no host", func(c *Config) { c.Routes[0].URL = "http:///x/" },
			`upstream.routes[0].url: "http:///x/": host is required`},
		{"user info", func(c *Config) { c.Routes[0].URL = "http://u:p@o/" },
			`upstream.routes[0].url: "http://u:p@o/": user info is not allowed (forward credentials as headers)`},
		{"query", func(c *Config) { c.Routes[0].URL = "http://o/?a=1" },
			`upstream.routes[0].url: "http://o/?a=1": query and fragment are not allowed`},
		{"path without trailing slash", func(c *Config) { c.Routes[0].URL = "http://o/streams" },
			`upstream.routes[0].url: "http://o/streams": path must end with '/'`},
		{"unparsable", func(c *Config) { c.Routes[0].URL = "http://o:port/" },
			`upstream.routes[0].url: "http://o:port/": invalid port ":port" after host`},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "upstream.timeout: must be positive"},
		{"connect timeout", func(c *Config) { c.ConnectTimeout = -1 }, "upstream.connect_timeout: must not be negative"},
		{"max body size", func(c *Config) { c.MaxBodySize = 0 }, "upstream.max_body_size: must be positive"},
		{"negative ttl", func(c *Config) { c.TTL.Negative = -1 }, "upstream.ttl.negative: must not be negative"},
		{"live cap", func(c *Config) { c.TTL.MaxLivePlaylist = -1 }, "upstream.ttl.max_live_playlist: must not be negative"},
		{"heuristic cap", func(c *Config) { c.TTL.Heuristic = -1 }, "upstream.ttl.heuristic: must not be negative"},
		{"targeted header", func(c *Config) { c.TTL.TargetedHeader = "Bad Header" },
			`upstream.ttl.targeted_header: "Bad Header" is not a header name`},
		{"drop_query", func(c *Config) { c.Routes[0].CacheKey.DropQuery = []string{"token", "a=b"} },
			`upstream.routes[0].cache_key.drop_query[1]: "a=b" is not a query parameter name`},
		{"route ttl override", func(c *Config) { c.Routes[0].TTL.Override = true }, ""},
		{"rewrite", func(c *Config) { c.Key.Rewrites = []Rewrite{{Match: "a", Replace: "$x"}} },
			"upstream.key.rewrites[0].replace: '$' at offset 0: write ${N} for a group or $$ for a dollar sign"},
		{"several errors", func(c *Config) { c.Timeout = 0; c.MaxBodySize = -1 },
			"upstream.timeout: must be positive\nupstream.max_body_size: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mod(&c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestNewClientRejectsInvalidConfig(t *testing.T) {
	_, err := NewClient(DefaultConfig(), nil)
	if err == nil || !strings.Contains(err.Error(), "upstream.routes") {
		t.Fatalf("NewClient(DefaultConfig()) error = %v, want a routes error", err)
	}
}
