package origin

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/units"
)

// Route maps a public path prefix to an origin base URL: with prefix "/tv/"
// and URL "http://o:8000/streams/", "/tv/a.m3u8" is fetched from
// "http://o:8000/streams/a.m3u8".
type Route struct {
	// Prefix is the public path prefix; it starts and ends with '/'.
	Prefix string `yaml:"prefix"`
	// URL is the origin base: http or https, a host, and a path ending in
	// '/' (or none). No query, fragment or user info.
	URL string `yaml:"url"`
	// TTL holds the route's freshness rules.
	TTL RouteTTL `yaml:"ttl"`
	// CacheKey says what of a request URL the HTTP cache key keeps.
	CacheKey CacheKeyConfig `yaml:"cache_key"`
}

// RouteTTL holds a route's freshness rules.
type RouteTTL struct {
	// Override lets the media TTLs (upstream.ttl) replace the origin's
	// freshness on this route instead of only bounding it, like nginx's
	// proxy_ignore_headers. no-store, private and Set-Cookie still keep an
	// answer from being stored. Default false.
	Override bool `yaml:"override"`
}

// CacheKeyConfig says what of a request URL the HTTP cache key (what may
// be served to whom) keeps. The key is the path and the whole query by
// default; it is apart from the P2P content key (upstream.key).
type CacheKeyConfig struct {
	// DropQuery names query parameters left out of the cache key (auth
	// tokens on segments that are the same object for every viewer).
	DropQuery []string `yaml:"drop_query"`
}

// TTLConfig says how long objects stay fresh when the origin does not say.
type TTLConfig struct {
	// MasterPlaylist is the freshness of master (multivariant) playlists.
	// Default 2s.
	MasterPlaylist time.Duration `yaml:"master_playlist"`
	// VODPlaylist is the freshness of media playlists with EXT-X-ENDLIST.
	// Default 24h.
	VODPlaylist time.Duration `yaml:"vod_playlist"`
	// Segment is the freshness of answers the origin gives no freshness
	// information for (no s-maxage, max-age, Expires or Last-Modified).
	// Default 0: stored and revalidated before each reuse.
	Segment time.Duration `yaml:"segment"`
	// Negative is the freshness of 404 and 410 answers without freshness
	// information. Default 2s.
	Negative time.Duration `yaml:"negative"`
	// Heuristic caps the freshness guessed from Last-Modified (a tenth of
	// its age) when the origin gives no explicit freshness. Default 1h.
	Heuristic time.Duration `yaml:"heuristic"`
	// TargetedHeader is the response header with cache directives for
	// this node alone (RFC 9213): it takes precedence over
	// CDN-Cache-Control and Cache-Control and is not forwarded to viewers.
	// Default "Edgeswarm-Cache-Control".
	TargetedHeader string `yaml:"targeted_header"`
	// MaxLivePlaylist caps the freshness of live media playlists (which is
	// otherwise half the target duration, or less when the origin says so).
	// Default 0: no cap.
	MaxLivePlaylist time.Duration `yaml:"max_live_playlist"`
}

// Config configures the upstream client.
type Config struct {
	// Routes map public path prefixes to origins. The longest matching
	// prefix wins. Nothing outside these origins is ever fetched.
	Routes []Route `yaml:"routes"`
	// Timeout bounds a whole fetch, body included. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds establishing a connection to an origin.
	// Default 5s; 0 means only Timeout applies.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// MaxBodySize is the largest object fetched, e.g. 48MiB; larger ones
	// fail with ErrTooLarge. Default 256 MiB.
	MaxBodySize units.ByteSize `yaml:"max_body_size"`
	// TTL holds the freshness defaults.
	TTL TTLConfig `yaml:"ttl"`
	// Key says how content keys are computed.
	Key KeyConfig `yaml:"key"`
}

// DefaultConfig returns the defaults. It has no routes: the operator (or the
// built-in demo) adds them.
func DefaultConfig() Config {
	return Config{
		Timeout:        30 * time.Second,
		ConnectTimeout: 5 * time.Second,
		MaxBodySize:    256 << 20,
		TTL: TTLConfig{
			MasterPlaylist: 2 * time.Second,
			VODPlaylist:    24 * time.Hour,
			Negative:       2 * time.Second,
			Heuristic:      time.Hour,
			TargetedHeader: "Edgeswarm-Cache-Control",
		},
	}
}

// Validate checks c. Messages name the offending key, e.g.
// "upstream.routes[0].url: scheme must be http or https".
func (c Config) Validate() error {
	var errs []error
	if len(c.Routes) == 0 {
		errs = append(errs, errors.New("upstream.routes: at least one route is required"))
	}
	seen := make(map[string]int, len(c.Routes))
	for i, r := range c.Routes {
		if err := validPrefix(r.Prefix); err != nil {
			errs = append(errs, fmt.Errorf("upstream.routes[%d].prefix: %w", i, err))
		} else if j, dup := seen[r.Prefix]; dup {
			errs = append(errs, fmt.Errorf("upstream.routes[%d].prefix: %q is already used by upstream.routes[%d]", i, r.Prefix, j))
		} else {
			seen[r.Prefix] = i
		}
		if _, err := parseBase(r.URL); err != nil {
			errs = append(errs, fmt.Errorf("upstream.routes[%d].url: %w", i, err))
		}
		for j, q := range r.CacheKey.DropQuery {
			if q == "" || strings.ContainsAny(q, "&=#") {
				errs = append(errs, fmt.Errorf("upstream.routes[%d].cache_key.drop_query[%d]: %q is not a query parameter name", i, j, q))
			}
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("upstream.timeout: must be positive"))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, errors.New("upstream.connect_timeout: must not be negative"))
	}
	if c.MaxBodySize <= 0 {
		errs = append(errs, errors.New("upstream.max_body_size: must be positive"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"master_playlist", c.TTL.MasterPlaylist},
		{"vod_playlist", c.TTL.VODPlaylist},
		{"segment", c.TTL.Segment},
		{"negative", c.TTL.Negative},
		{"max_live_playlist", c.TTL.MaxLivePlaylist},
		{"heuristic", c.TTL.Heuristic},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("upstream.ttl.%s: must not be negative", d.name))
		}
	}
	if h := c.TTL.TargetedHeader; h != "" && !validHeaderField(h, "") {
		errs = append(errs, fmt.Errorf("upstream.ttl.targeted_header: %q is not a header name", h))
	}
	if err := c.Key.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("upstream.%w", err))
	}
	return errors.Join(errs...)
}

func validPrefix(p string) error {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") {
		return fmt.Errorf("%q must start and end with '/'", p)
	}
	for i := 0; i < len(p); i++ {
		if !pathChars[p[i]] {
			return fmt.Errorf("%q: byte %q is not allowed (write the prefix unescaped)", p, p[i])
		}
	}
	if strings.Contains(p, "//") || hasDotSegment(p) {
		return fmt.Errorf("%q must not contain empty, '.' or '..' segments", p)
	}
	return nil
}

func hasDotSegment(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}

// base is a parsed origin base URL.
type base struct {
	scheme string // "http" or "https"
	host   string // host[:port] as configured, lower-case
	path   string // ends with '/'
}

func parseBase(raw string) (base, error) {
	if raw == "" {
		return base{}, errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return base{}, fmt.Errorf("%q: %w", raw, err)
	}
	var b base
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		b.scheme = strings.ToLower(u.Scheme)
	default:
		return base{}, fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return base{}, fmt.Errorf("%q: host is required", raw)
	}
	if u.User != nil {
		return base{}, fmt.Errorf("%q: user info is not allowed (forward credentials as headers)", raw)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return base{}, fmt.Errorf("%q: query and fragment are not allowed", raw)
	}
	b.host = strings.ToLower(u.Host)
	b.path = u.EscapedPath()
	if b.path == "" {
		b.path = "/"
	}
	if !strings.HasSuffix(b.path, "/") {
		return base{}, fmt.Errorf("%q: path must end with '/'", raw)
	}
	if strings.Contains(b.path, "//") || hasDotSegment(b.path) {
		return base{}, fmt.Errorf("%q: path must not contain empty, '.' or '..' segments", raw)
	}
	return b, nil
}
