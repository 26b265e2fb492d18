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

	"github.com/edgeswarm/edgeswarm/analytics"
	"github.com/edgeswarm/edgeswarm/control"
	"github.com/edgeswarm/edgeswarm/origin"
	"github.com/edgeswarm/edgeswarm/origin/demo"
	"github.com/edgeswarm/edgeswarm/seeder"
	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/turn"
	"github.com/edgeswarm/edgeswarm/units"
)

// Config is the whole node configuration. Defaults come from DefaultConfig,
// then the YAML file, then EDGESWARM_* environment variables, then flags.
type Config struct {
	// Listen is the public HTTP address (HTTPS and HTTP/3 on the same port
	// when TLS is configured).
	Listen string `yaml:"listen"`
	// ListenHTTP is an optional second public address served over plain
	// HTTP/1.1 (port 80 beside HTTPS on Listen): the same handler, cache
	// and limits, no TLS.
	ListenHTTP string `yaml:"listen_http"`
	// Admin is the address of /healthz, /readyz, /metrics and the control
	// API. Keep it private. The file's admin key sets it (AdminFile).
	Admin string `yaml:"-"`
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
	// MaxConnsPerIP bounds the concurrent public connections from one
	// client address (for IPv6, one /64); more are closed at once. 0: no
	// bound, for a node behind a proxy that all connections come from.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// AdminToken, when set (at least 16 characters), is the Bearer token
	// of the control API (/api/v1) and /debug/pprof on the admin port
	// (admin.token; admin_token is its old name). Unset: the API admits
	// nobody and profiling is not served; the admin port must then be on
	// loopback.
	AdminToken string `yaml:"admin_token"`
	// LogFormat is "text" (logfmt-like) or "json".
	LogFormat string `yaml:"log_format"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
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
	// Analytics configures viewer telemetry, its figures and the dashboard.
	Analytics analytics.Config `yaml:"analytics"`
	// TURN configures the optional TURN relay for viewers behind
	// symmetric NATs.
	TURN turn.Config `yaml:"turn"`
	// AdminFile is the admin key as the file writes it: an address, or a
	// mapping {listen, token}; LoadFile moves it into Admin and AdminToken.
	AdminFile AdminSetting `yaml:"admin"`
	// Policies are the per-content delivery policies, first match wins
	// (package control); the control API and a reload replace them.
	Policies []control.Policy `yaml:"policies"`
	// Cluster joins the node's swarms to other nodes' over NATS.
	Cluster ClusterConfig `yaml:"cluster"`
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
		MaxConnsPerIP:   256,
		LogFormat:       "text",
		LogLevel:        "info",
		CORS:            CORSConfig{AllowOrigins: []string{"*"}, MaxAge: 10 * time.Minute},
		Upstream:        origin.DefaultConfig(),
		Demo:            demo.DefaultConfig(),
		Signal:          signal.DefaultConfig(),
		SuperPeer:       true,
		Seeder:          seeder.DefaultConfig(),
		Analytics:       analytics.DefaultConfig(),
		TURN:            turn.DefaultConfig(),
		Cluster:         defaultClusterConfig(),
	}
}

// Validate checks the whole configuration; messages name the key.
func (c *Config) Validate() error {
	if c.ListenHTTP != "" {
		if err := validAddr("listen_http", c.ListenHTTP); err != nil {
			return err
		}
	}
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
	if c.MaxConnsPerIP < 0 {
		return errors.New("max_conns_per_ip: must not be negative (0: no bound)")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return errors.New("admin.token (admin_token): at least 16 characters")
	}
	if err := validAdmin(c.Admin, c.AdminToken); err != nil {
		return err
	}
	if err := control.ValidatePolicies("policies", c.Policies); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log_format: %q, want text or json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
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
	if c.Origin != "" {
		// The shorthand's URL becomes upstream.routes[0]; its faults are
		// the origin key's. The rest of upstream is checked below.
		up := c.Upstream
		up.Routes = []origin.Route{{Prefix: "/", URL: c.Origin}}
		probe := c.Upstream
		probe.Routes = []origin.Route{{Prefix: "/", URL: "http://127.0.0.1:1/"}}
		if probe.Validate() == nil {
			if err := up.Validate(); err != nil {
				return fmt.Errorf("origin: %s", strings.TrimPrefix(err.Error(), "upstream.routes[0].url: "))
			}
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
	if err := c.Analytics.Validate(); err != nil {
		return err
	}
	if err := validTURN(c); err != nil {
		return err
	}
	if err := c.Cluster.validate(c); err != nil {
		return err
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
	err := dec.Decode(c)
	if err == nil || errors.Is(err, io.EOF) {
		if err := c.applyAdmin(); err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config %s: %w", name, err)
	}
	// The decoder names lines only; name the key of each too.
	keys := keysByLine(data)
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		msgs[i] = nameKey(e, keys)
	}
	return fmt.Errorf("config %s: %s", name, strings.Join(msgs, "; "))
}

// keysByLine maps each line of a YAML document to the key path (e.g.
// "upstream.routes[1].url") of the deepest value that starts on it.
func keysByLine(data []byte) map[int]string {
	var doc yaml.Node
	keys := map[int]string{}
	if yaml.Unmarshal(data, &doc) != nil {
		return keys
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				keys[k.Line] = p
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				keys[c.Line] = p
				walk(c, p)
			}
		}
	}
	walk(&doc, "")
	return keys
}

// nameKey rewrites a decoder message "line 3: cannot unmarshal !!str
// `5x` into time.Duration" as "stale_grace: `5x` is not a duration, e.g.
// 30s (line 3)".
func nameKey(msg string, keys map[int]string) string {
	var line int
	rest, ok := "", false
	if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
		_, rest, ok = strings.Cut(msg, ": ")
	}
	key := keys[line]
	if !ok || key == "" {
		return msg
	}
	switch {
	case strings.HasPrefix(rest, "field ") && strings.Contains(rest, " not found in type "):
		rest = "unknown key"
	case strings.HasPrefix(rest, "cannot unmarshal ") && strings.HasSuffix(rest, " into time.Duration"):
		v := strings.TrimSuffix(strings.TrimPrefix(rest, "cannot unmarshal !!str "), " into time.Duration")
		rest = v + " is not a duration, e.g. 30s or 1m30s"
	}
	return fmt.Sprintf("%s: %s (line %d)", key, rest, line)
}

// setting is one value settable by flag and EDGESWARM_* environment, as
// well as by its YAML key.
type setting struct {
	name  string // the flag; the env name follows from it
	key   string // the YAML key
	usage string // the first `word` in backquotes names the value in --help
	get   func(c *Config) string
	set   func(c *Config, v string) error
	bool  bool // a bare --name means true
}

func settings() []setting {
	str := func(name, key, usage string, p func(*Config) *string) setting {
		return setting{name: name, key: key, usage: usage,
			get: func(c *Config) string { return *p(c) },
			set: func(c *Config, v string) error { *p(c) = v; return nil }}
	}
	dur := func(name, key, usage string, p func(*Config) *time.Duration) setting {
		return setting{name: name, key: key, usage: usage,
			get: func(c *Config) string { return p(c).String() },
			set: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil {
					return fmt.Errorf("%q is not a duration, e.g. 30s or 1m30s", v)
				}
				*p(c) = d
				return nil
			}}
	}
	boolean := func(name, key, usage string, p func(*Config) *bool) setting {
		return setting{name: name, key: key, usage: usage, bool: true,
			get: func(c *Config) string { return strconv.FormatBool(*p(c)) },
			set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("%q is not true or false", v)
				}
				*p(c) = b
				return nil
			}}
	}
	integer := func(name, key, usage string, p func(*Config) *int) setting {
		return setting{name: name, key: key, usage: usage,
			get: func(c *Config) string { return strconv.Itoa(*p(c)) },
			set: func(c *Config, v string) error {
				i, err := strconv.Atoi(v)
				if err != nil {
					return fmt.Errorf("%q is not an integer", v)
				}
				*p(c) = i
				return nil
			}}
	}
	size := func(name, key, usage string, p func(*Config) *ByteSize) setting {
		return setting{name: name, key: key, usage: usage,
			get: func(c *Config) string { return p(c).String() },
			set: func(c *Config, v string) error { return p(c).UnmarshalText([]byte(v)) }}
	}
	all := []setting{
		str("listen", "listen", "public HTTP `address` (HTTPS and HTTP/3 too with TLS)", func(c *Config) *string { return &c.Listen }),
		str("listen-http", "listen_http", "second public `address` for plain HTTP/1.1 (e.g. :80 beside HTTPS on listen)", func(c *Config) *string { return &c.ListenHTTP }),
		str("admin", "admin", "`address` of /metrics, /healthz and /readyz; keep it private", func(c *Config) *string { return &c.Admin }),
		str("origin", "origin", "origin `URL` (unset: the built-in demo origin)", func(c *Config) *string { return &c.Origin }),
		size("cache-size", "cache_size", "memory for cached objects, a `size` such as 2GiB", func(c *Config) *ByteSize { return &c.CacheSize }),
		dur("stale-grace", "stale_grace", "serve expired objects for this `duration` while the origin fails", func(c *Config) *time.Duration { return &c.StaleGrace }),
		str("tls-cert", "tls_cert", "TLS certificate `file` (enables HTTPS and HTTP/3)", func(c *Config) *string { return &c.TLSCert }),
		str("tls-key", "tls_key", "TLS key `file`", func(c *Config) *string { return &c.TLSKey }),
		dur("shutdown-timeout", "shutdown_timeout", "the `duration` in-flight responses get to finish on shutdown", func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
		integer("max-conns-per-ip", "max_conns_per_ip", "at most `n` concurrent public connections from one client address (0: no bound)", func(c *Config) *int { return &c.MaxConnsPerIP }),
		boolean("super-peer", "super_peer", "run the WebRTC super-peer", func(c *Config) *bool { return &c.SuperPeer }),
		str("ice-udp", "seeder.ice_udp", "UDP `address` of the super-peer's single ICE port", func(c *Config) *string { return &c.Seeder.ICEUDP }),
		str("stun-listen", "seeder.stun_listen", "UDP `address` of the built-in STUN server (not the ICE port)", func(c *Config) *string { return &c.Seeder.STUNListen }),
		boolean("open-swarms", "signal.open", "let viewers join swarms without tickets", func(c *Config) *bool { return &c.Signal.Open }),
		str("log-format", "log_format", "log `format`: text or json", func(c *Config) *string { return &c.LogFormat }),
		str("log-level", "log_level", "least `level` logged: debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
	}
	return append(all, clusterSettings()...)
}

func envName(flagName string) string {
	return "EDGESWARM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// settingFlag is a setting as a flag: Set checks the value's type at once
// and keeps it, to be applied after the file and the environment.
type settingFlag struct {
	s   *setting
	val string
	set bool
}

func (f *settingFlag) String() string {
	if f == nil || f.s == nil {
		return ""
	}
	d := DefaultConfig()
	return f.s.get(&d)
}

func (f *settingFlag) Set(v string) error {
	scratch := DefaultConfig()
	if err := f.s.set(&scratch, v); err != nil {
		return err
	}
	f.val, f.set = v, true
	return nil
}

func (f *settingFlag) IsBoolFlag() bool { return f != nil && f.s != nil && f.s.bool }

// joinBoolValues rewrites "--name true" and "--name false" for a boolean
// setting into "--name=true": the flag package takes a bare boolean flag
// as true and would read the value as a stray argument, and scripts write
// the two-word form for every other flag (--super-peer false).
func joinBoolValues(args []string, all []setting) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		if i+1 < len(args) && (args[i+1] == "true" || args[i+1] == "false") && name != a && len(a)-len(name) <= 2 && !strings.Contains(name, "=") {
			for _, st := range all {
				if st.bool && st.name == name {
					a += "=" + args[i+1]
					i++
					break
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// errVersion is returned by ParseConfig for --version.
var errVersion = errors.New("version requested")

// ParseConfig builds the configuration from args and the environment:
// defaults, then --config FILE (or EDGESWARM_CONFIG), then EDGESWARM_*,
// then flags. --help writes the usage to out and returns flag.ErrHelp.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("edgeswarm", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a bad flag is the caller's one-line error
	file := fs.String("config", "", "YAML configuration `file` (env EDGESWARM_CONFIG)")
	version := fs.Bool("version", false, "print the version, commit and Go version, and exit")
	all := settings()
	flags := make([]*settingFlag, len(all))
	for i := range all {
		flags[i] = &settingFlag{s: &all[i]}
		fs.Var(flags[i], all[i].name, all[i].usage)
	}
	if err := fs.Parse(joinBoolValues(args, all)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(out, fs, all)
		}
		return Config{}, err
	}
	if *version {
		return Config{}, errVersion
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
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
	for _, s := range all {
		if v := getenv(envName(s.name)); v != "" {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", envName(s.name), err)
			}
		}
	}
	if v := getenv("EDGESWARM_ADMIN_TOKEN"); v != "" {
		cfg.AdminToken = v
	}
	clusterEnv(&cfg, getenv)
	for _, f := range flags {
		if f.set {
			if err := f.s.set(&cfg, f.val); err != nil {
				return Config{}, fmt.Errorf("--%s: %w", f.s.name, err)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// usage writes --help: the subcommands, then every flag with its value,
// default, environment variable and YAML key.
func usage(out io.Writer, fs *flag.FlagSet, all []setting) {
	var b strings.Builder
	b.WriteString("Usage: edgeswarm [flags]\n       edgeswarm <subcommand> [flags]\n\nSubcommands:\n")
	for _, sc := range subcommands() {
		fmt.Fprintf(&b, "  %-13s %s\n", sc.name, sc.summary)
	}
	b.WriteString("\nFlags (each also set by its EDGESWARM_* variable or YAML key; flags win, then the environment, then the file):\n")
	keys := map[string]setting{}
	for _, s := range all {
		keys[s.name] = s
	}
	fs.VisitAll(func(f *flag.Flag) {
		name, use := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(&b, " %s", name)
		}
		fmt.Fprintf(&b, "\n        %s", use)
		if s, ok := keys[f.Name]; ok {
			var notes []string
			if f.DefValue != "" {
				notes = append(notes, fmt.Sprintf("default %q", f.DefValue))
			}
			notes = append(notes, "env "+envName(s.name), "yaml "+s.key)
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
		b.WriteString("\n")
	})
	b.WriteString("\nadmin.token (YAML; admin_token is its old name; env EDGESWARM_ADMIN_TOKEN) is the Bearer token of the control API (/api/v1) and /debug/pprof on the admin port.\n")
	_, _ = io.WriteString(out, b.String())
}

// ByteSize is the size type of every size key; see units.ByteSize.
type ByteSize = units.ByteSize
