package node

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/edgeswarm/edgeswarm/origin"
	"github.com/edgeswarm/edgeswarm/origin/demo"
	"github.com/edgeswarm/edgeswarm/seeder"
	"github.com/edgeswarm/edgeswarm/signal"
)

// Config is the whole node configuration. Defaults come from DefaultConfig,
// then the YAML file, then EDGESWARM_* environment variables, then flags.
type Config struct {
	// Listen is the public HTTP address (HTTPS and HTTP/3 on the same port
	// when TLS is configured).
	Listen string `yaml:"listen"`
	// Admin is the address of /healthz, /readyz and /metrics. Keep it private.
	Admin string `yaml:"admin"`
	// Origin is a shorthand for one upstream route "/" to this URL. Empty
	// with no upstream.routes: the built-in demo origin is served.
	Origin string `yaml:"origin"`
	// CacheSize bounds the memory of all cache stores together.
	CacheSize ByteSize `yaml:"cache_size"`
	// StaleGrace is how long an expired object may be served while the
	// origin fails (stale-if-error).
	StaleGrace time.Duration `yaml:"stale_grace"`
	// TLSCert and TLSKey enable HTTPS on Listen and HTTP/3 on its UDP port.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// ShutdownTimeout bounds the drain of in-flight responses on shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// CORS says which pages may use the node's responses.
	CORS CORSConfig `yaml:"cors"`
	// Upstream configures origin routes, TTLs and content keys.
	Upstream origin.Config `yaml:"upstream"`
	// Demo configures the built-in demo origin.
	Demo demo.Config `yaml:"demo"`
	// Signal configures the swarm tracker at /swarm.
	Signal signal.Config `yaml:"signal"`
	// SuperPeer runs the node's always-on WebRTC peer in every swarm.
	SuperPeer bool `yaml:"super_peer"`
	// Seeder configures the super-peer.
	Seeder seeder.Config `yaml:"seeder"`
}

// CORSConfig configures Cross-Origin Resource Sharing headers.
type CORSConfig struct {
	// AllowOrigins lists page origins allowed to read responses; "*" (the
	// default) allows any.
	AllowOrigins []string `yaml:"allow_origins"`
	// MaxAge is how long browsers may cache a preflight answer.
	MaxAge time.Duration `yaml:"max_age"`
}

// DefaultConfig returns the configuration used when nothing is given.
func DefaultConfig() Config {
	return Config{
		Listen:          ":8080",
		Admin:           "127.0.0.1:9090",
		CacheSize:       1 << 30,
		StaleGrace:      time.Minute,
		ShutdownTimeout: 10 * time.Second,
		CORS:            CORSConfig{AllowOrigins: []string{"*"}, MaxAge: 10 * time.Minute},
		Upstream:        origin.DefaultConfig(),
		Demo:            demo.DefaultConfig(),
		Signal:          signal.DefaultConfig(),
		SuperPeer:       true,
		Seeder:          seeder.DefaultConfig(),
	}
}

// Validate checks the whole configuration; messages name the key.
func (c *Config) Validate() error {
	if err := validAddr("listen", c.Listen); err != nil {
		return err
	}
	if err := validAddr("admin", c.Admin); err != nil {
		return err
	}
	if c.CacheSize < 1<<20 {
		return fmt.Errorf("cache_size: %s is too small (at least 1MiB)", c.CacheSize)
	}
	if c.StaleGrace < 0 {
		return errors.New("stale_grace: must not be negative")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls_cert, tls_key: set both or neither")
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("shutdown_timeout: must be positive")
	}
	if len(c.CORS.AllowOrigins) == 0 {
		return errors.New(`cors.allow_origins: list at least one origin, or "*"`)
	}
	if c.Origin != "" {
		if len(c.Upstream.Routes) > 0 {
			return errors.New("origin: set either origin or upstream.routes, not both")
		}
		if !strings.HasPrefix(c.Origin, "http://") && !strings.HasPrefix(c.Origin, "https://") {
			return fmt.Errorf("origin: %q is not an http(s) URL", c.Origin)
		}
	}
	up := c.upstream("http://127.0.0.1:1")
	if err := up.Validate(); err != nil {
		return err
	}
	if err := c.Demo.Validate(); err != nil {
		return fmt.Errorf("demo.%w", err)
	}
	sig := c.Signal
	if !sig.Open && sig.TicketSecret == "" {
		sig.TicketSecret = "generated-at-start-when-unset" // see setupSwarms
	}
	if err := sig.Validate(); err != nil {
		return err
	}
	if c.SuperPeer {
		if err := c.Seeder.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// usesDemo reports whether the node must run the built-in demo origin.
func (c *Config) usesDemo() bool { return c.Origin == "" && len(c.Upstream.Routes) == 0 }

// upstream returns the origin configuration with the shorthand applied;
// demoURL is where the demo origin listens when it is used.
func (c *Config) upstream(demoURL string) origin.Config {
	up := c.Upstream
	switch {
	case c.Origin != "":
		up.Routes = []origin.Route{{Prefix: "/", URL: c.Origin}}
	case c.usesDemo():
		up.Routes = []origin.Route{{Prefix: "/", URL: demoURL}}
	}
	return up
}

func validAddr(key, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s: %q is not host:port (%v)", key, addr, err)
	}
	return nil
}

// LoadFile decodes a YAML file over c. Unknown keys are an error.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return c.decodeYAML(data, path)
}

func (c *Config) decodeYAML(data []byte, name string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", name, err)
	}
	return nil
}

// settings are the values settable by flag and EDGESWARM_* environment.
type setting struct {
	name, usage string
	set         func(c *Config, v string) error
}

var settings = []setting{
	{"listen", "public HTTP address", func(c *Config, v string) error { c.Listen = v; return nil }},
	{"admin", "metrics/health/admin address", func(c *Config, v string) error { c.Admin = v; return nil }},
	{"origin", "origin URL (default: the built-in demo origin)", func(c *Config, v string) error { c.Origin = v; return nil }},
	{"cache-size", "memory for cached objects, e.g. 2GiB", func(c *Config, v string) error { return c.CacheSize.UnmarshalText([]byte(v)) }},
	{"stale-grace", "serve stale objects this long while the origin fails", func(c *Config, v string) (err error) {
		c.StaleGrace, err = time.ParseDuration(v)
		return err
	}},
	{"tls-cert", "TLS certificate file (enables HTTPS and HTTP/3)", func(c *Config, v string) error { c.TLSCert = v; return nil }},
	{"tls-key", "TLS key file", func(c *Config, v string) error { c.TLSKey = v; return nil }},
	{"super-peer", "run the WebRTC super-peer (true/false)", func(c *Config, v string) (err error) {
		c.SuperPeer, err = strconv.ParseBool(v)
		return err
	}},
	{"ice-udp", "UDP address of the super-peer's single ICE port, e.g. :3478", func(c *Config, v string) error { c.Seeder.ICEUDP = v; return nil }},
	{"open-swarms", "let viewers join swarms without tickets (true/false)", func(c *Config, v string) (err error) {
		c.Signal.Open, err = strconv.ParseBool(v)
		return err
	}},
}

func envName(flagName string) string {
	return "EDGESWARM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseConfig builds the configuration from args and the environment:
// defaults, then --config FILE (or EDGESWARM_CONFIG), then EDGESWARM_*,
// then flags.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("edgeswarm", flag.ContinueOnError)
	fs.SetOutput(out)
	file := fs.String("config", "", "YAML configuration file (env EDGESWARM_CONFIG)")
	vals := make(map[string]*string, len(settings))
	for _, s := range settings {
		vals[s.name] = fs.String(s.name, "", s.usage+" (env "+envName(s.name)+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := DefaultConfig()
	if *file == "" {
		*file = getenv("EDGESWARM_CONFIG")
	}
	if *file != "" {
		if err := cfg.LoadFile(*file); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if v := getenv(envName(s.name)); v != "" {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", envName(s.name), err)
			}
		}
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		for _, s := range settings {
			if s.name == f.Name && err == nil {
				if e := s.set(&cfg, *vals[s.name]); e != nil {
					err = fmt.Errorf("--%s: %w", s.name, e)
				}
			}
		}
	})
	if err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// ByteSize is a byte count written as 512MiB, 2GiB, 1.5GB or plain bytes.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// UnmarshalText parses a size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f*mult > 1<<62 {
		return fmt.Errorf("invalid size %q (want e.g. 512MiB, 2GiB)", string(text))
	}
	*b = ByteSize(f * mult)
	return nil
}

// String formats the size with a binary unit.
func (b ByteSize) String() string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(b) >= u.m && int64(b)%u.m == 0 {
			return strconv.FormatInt(int64(b)/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// MarshalText formats the size.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }
