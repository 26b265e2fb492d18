package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	ossignal "os/signal"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"

	"go.yaml.in/yaml/v3"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/control"
	"github.com/edgeswarm/edgeswarm/edge"
	"github.com/edgeswarm/edgeswarm/origin"
	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/wire"
)

// This file wires the control side: the admin key's two forms, the token,
// the /api/v1 handler, policies into the tracker, purge, and the reload of
// what may change while the node serves.

// AdminSetting is the "admin" key as a file writes it: the listen address
// ("127.0.0.1:9090"), or a mapping {listen, token}. LoadFile copies it into
// Config.Admin and Config.AdminToken.
type AdminSetting struct {
	Listen, Token string
	set           bool
}

// UnmarshalYAML accepts a scalar (the address) or a mapping.
func (a *AdminSetting) UnmarshalYAML(n *yaml.Node) error {
	a.set = true
	switch n.Kind {
	case yaml.ScalarNode:
		a.Listen = n.Value
		return nil
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("admin.%s: a string, not a list or mapping (line %d)", k.Value, v.Line)
			}
			switch k.Value {
			case "listen":
				a.Listen = v.Value
			case "token":
				a.Token = v.Value
			default:
				return fmt.Errorf("admin.%s: unknown key; admin takes listen and token (line %d)", k.Value, k.Line)
			}
		}
		return nil
	}
	return fmt.Errorf("admin: an address or a mapping {listen, token} (line %d)", n.Line)
}

// applyAdmin moves the file's admin setting into Admin and AdminToken.
func (c *Config) applyAdmin() error {
	a := c.AdminFile
	c.AdminFile = AdminSetting{}
	if !a.set {
		return nil
	}
	if a.Listen != "" {
		c.Admin = a.Listen
	}
	if a.Token != "" {
		if c.AdminToken != "" && c.AdminToken != a.Token {
			return errors.New("admin.token, admin_token: both set and different; admin_token is the old name of admin.token, keep one")
		}
		c.AdminToken = a.Token
	}
	return nil
}

// validAdmin refuses an admin port that other machines can reach without
// a token: the API changes what viewers get and pprof shows the process.
func validAdmin(addr, token string) error {
	if token != "" {
		return nil
	}
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("admin: %q can be reached from other machines; set admin.token (16+ characters, or EDGESWARM_ADMIN_TOKEN) or listen on 127.0.0.1", addr)
}

// liveOrigin is the origin client the node serves with, swapped whole by
// a reload (routes, TTLs, timeouts); fetches in flight finish on the one
// they started with.
type liveOrigin struct{ p atomic.Pointer[origin.Client] }

var (
	_ cache.Fetcher = (*liveOrigin)(nil)
	_ edge.Router   = (*liveOrigin)(nil)
)

func newLiveOrigin(c *origin.Client) *liveOrigin {
	l := &liveOrigin{}
	l.p.Store(c)
	return l
}

func (l *liveOrigin) Fetch(ctx context.Context, req *cache.Request) (*cache.Object, error) {
	return l.p.Load().Fetch(ctx, req)
}
func (l *liveOrigin) Route(path string) bool { return l.p.Load().Route(path) }
func (l *liveOrigin) Key(host, path, rawQuery string) string {
	return l.p.Load().Key(host, path, rawQuery)
}
func (l *liveOrigin) CacheKey(host, path, rawQuery string) string {
	return l.p.Load().CacheKey(host, path, rawQuery)
}
func (l *liveOrigin) PublicPath(scheme, host, path string) (string, bool) {
	return l.p.Load().PublicPath(scheme, host, path)
}
func (l *liveOrigin) Keyer() *origin.Keyer { return l.p.Load().Keyer() }
func (l *liveOrigin) Close()               { l.p.Load().Close() }

// swap installs c and closes the idle connections of the previous client.
func (l *liveOrigin) swap(c *origin.Client) { l.p.Swap(c).Close() }

// liveEdge is the edge the fronts serve with, swapped whole by a reload
// (CORS).
type liveEdge struct{ p atomic.Pointer[edge.Server] }

func newLiveEdge(s *edge.Server) *liveEdge {
	l := &liveEdge{}
	l.p.Store(s)
	return l
}

func (l *liveEdge) Serve(ctx context.Context, x *edge.Exchange) *edge.Response {
	return l.p.Load().Serve(ctx, x)
}

// controlState is the node's control state.
type controlState struct {
	token    *control.Token
	policies *control.Policies
	load     func() (Config, error)
	mu       sync.Mutex // serializes reloads
	running  Config     // the configuration in force, guarded by mu
	// generatedSecret is the ticket secret in use while
	// signal.ticket_secret is unset (guarded by mu after New).
	generatedSecret string
}

func (n *Node) setupControl(cfg Config, load func() (Config, error)) error {
	pol, err := control.NewPolicies("policies", cfg.Policies)
	if err != nil {
		return err
	}
	n.ctl = &controlState{token: control.NewToken(cfg.AdminToken), policies: pol, load: load, running: cfg}
	return nil
}

// hubPolicy is the policies as the tracker asks them.
func (n *Node) hubPolicy() signal.Policy { return hubPolicies{n} }

// hubPolicies is a signal.ViewerPolicy over the node's control policies.
type hubPolicies struct{ n *Node }

var _ signal.ViewerPolicy = hubPolicies{}

func (h hubPolicies) Decide(swarm string, mobile bool) (wire.Policy, float64) {
	return h.DecideViewer(swarm, mobile, false)
}

func (h hubPolicies) DecideViewer(swarm string, mobile, upload bool) (wire.Policy, float64) {
	d := h.n.ctl.policies.DecideViewer(swarm, mobile, upload)
	return d.Policy, d.HoldbackFraction
}

// startControl connects the policies to the tracker and mounts the API
// on the admin mux, behind the token.
func (n *Node) startControl(mux *http.ServeMux) {
	n.ctl.policies.OnChange(func() { n.hub.SetPolicy(n.hubPolicy()) })
	api := control.New(control.Deps{
		Policies: n.ctl.policies,
		Swarms:   hubSwarms{n},
		Purger:   control.PurgerFunc(n.cache.Purge),
		Reloader: control.ReloaderFunc(n.Reload),
		Log:      n.log,
	})
	mux.Handle(control.Prefix+"/", control.RequireToken(n.ctl.token, api))
}

// RequireAdminToken wraps h in the admin token check, for other admin
// handlers that must not be open (the analytics API).
func (n *Node) RequireAdminToken(h http.Handler) http.Handler {
	return control.RequireToken(n.ctl.token, h)
}

// hubSwarms is the tracker as the API reads it.
type hubSwarms struct{ n *Node }

func (h hubSwarms) Swarms() []control.SwarmInfo {
	var out []control.SwarmInfo
	for _, s := range h.n.hub.Swarms() {
		out = append(out, control.SwarmInfo{Swarm: s.Name, Viewers: s.Viewers, SuperPeers: s.SuperPeers,
			Policy: h.n.ctl.policies.Decide(s.Name, false).Matched})
	}
	return out
}

func (h hubSwarms) Peers(swarm string, addrs bool) ([]control.PeerInfo, bool) {
	ps, ok := h.n.hub.Peers(swarm)
	if !ok {
		return nil, false
	}
	out := make([]control.PeerInfo, 0, len(ps))
	for _, p := range ps {
		pi := control.PeerInfo{ID: p.ID, SuperPeer: p.Seeder, Platform: "desktop", Upload: p.Source, Group: "p2p",
			Bytes: control.Bytes{HTTP: p.Stats.HTTPBytes, P2P: p.Stats.P2PBytes, Seed: p.Stats.SeedBytes, Upload: p.Stats.UploadBytes},
			Peers: int(p.Stats.Peers)}
		if p.Mobile {
			pi.Platform = "mobile"
		}
		if p.HTTPOnly {
			pi.Group = "holdback"
		}
		if addrs && p.Addr.IsValid() {
			pi.Address = p.Addr.String()
		}
		out = append(out, pi)
	}
	return out, true
}

// pushFraction is the policies' super-peer push share for a swarm.
func (n *Node) pushFraction(swarm string) (float64, bool) {
	f, ok := n.ctl.policies.PushFraction(swarm)
	if !ok || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// Reload re-reads the configuration (the file, then the environment and
// the flags the node started with) and applies what may change live:
// upstream routes and TTLs (not upstream.key, which clients share), CORS,
// policies, the admin token and the ticket secret and TTL. Changed keys that need a restart are
// listed and keep their running values. A configuration that does not
// load or validate changes nothing and the error names the key.
func (n *Node) Reload() (control.ReloadResult, error) {
	var res control.ReloadResult
	c := n.ctl
	if c.load == nil {
		return res, errors.New("reload: this node was not started from a configuration file")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next, err := c.load()
	if err != nil {
		return res, err
	}
	cur := c.running
	res.RestartRequired = restartKeys(cur, next)

	// Build every new part first; swap only when all are ready.
	var newOrigin *origin.Client
	upChanged := cur.Origin != next.Origin || !reflect.DeepEqual(withoutKey(cur.Upstream), withoutKey(next.Upstream))
	if upChanged && cur.usesDemo() == next.usesDemo() && reflect.DeepEqual(cur.Upstream.Key, next.Upstream.Key) {
		if newOrigin, err = origin.NewClient(next.upstream(n.demoURL), n.log); err != nil {
			return control.ReloadResult{}, err
		}
	}
	corsChanged := !reflect.DeepEqual(cur.CORS, next.CORS)
	var newEdge *edge.Server
	if corsChanged {
		newEdge = n.edgeFor(next)
	}
	if !c.policies.Same(next.Policies) {
		if err := c.policies.Replace("policies", next.Policies); err != nil {
			return control.ReloadResult{}, err
		}
		res.Applied = append(res.Applied, "policies")
		cur.Policies = next.Policies
	}
	if newOrigin != nil {
		n.origin.swap(newOrigin)
		res.Applied = append(res.Applied, "upstream")
		cur.Origin, cur.Upstream = next.Origin, next.Upstream
	}
	if newEdge != nil {
		n.edge.p.Store(newEdge)
		res.Applied = append(res.Applied, "cors")
		cur.CORS = next.CORS
	}
	if ts, tn := cur.Signal, next.Signal; !ts.Open && !tn.Open && (ts.TicketSecret != tn.TicketSecret || ts.TicketTTL != tn.TicketTTL) {
		secret := tn.TicketSecret
		if secret == "" {
			if c.generatedSecret == "" {
				var b [32]byte
				_, _ = rand.Read(b[:])
				c.generatedSecret = hex.EncodeToString(b[:])
			}
			secret = c.generatedSecret
		}
		if err := n.hub.SetTickets(secret, tn.TicketTTL); err != nil {
			n.log.Error("reload: tickets not changed", "err", err)
		} else {
			res.Applied = append(res.Applied, "signal.ticket_secret", "signal.ticket_ttl")
			cur.Signal.TicketSecret, cur.Signal.TicketTTL = tn.TicketSecret, tn.TicketTTL
		}
	}
	if !reflect.DeepEqual(cur.Signal.ICEServers, next.Signal.ICEServers) {
		if err := n.hub.SetICEServers(next.Signal.ICEServers); err != nil {
			n.log.Error("reload: ICE servers not changed", "err", err)
		} else {
			res.Applied = append(res.Applied, "signal.ice_servers")
			cur.Signal.ICEServers = next.Signal.ICEServers
		}
	}
	if cur.AdminToken != next.AdminToken {
		c.token.Set(next.AdminToken)
		res.Applied = append(res.Applied, "admin.token")
		cur.AdminToken = next.AdminToken
	}
	c.running = cur
	n.log.Info("configuration reloaded", "applied", res.Applied, "restart_required", res.RestartRequired)
	return res, nil
}

func withoutKey(u origin.Config) origin.Config {
	u.Key = origin.KeyConfig{}
	return u
}

// restartKeys lists the top-level keys (and upstream.key) whose values
// differ between a and b and that Reload does not apply.
func restartKeys(a, b Config) []string {
	var out []string
	a.Signal.ICEServers, b.Signal.ICEServers = nil, nil // applied live (Hub.SetICEServers)
	if !a.Signal.Open && !b.Signal.Open {
		// Applied live (Hub.SetTickets).
		a.Signal.TicketSecret, a.Signal.TicketTTL = "", 0
		b.Signal.TicketSecret, b.Signal.TicketTTL = "", 0
	}
	live := map[string]bool{"upstream": true, "origin": true, "cors": true, "policies": true, "admin_token": true, "admin": false}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := cutTag(f.Tag.Get("yaml"))
		if name == "-" || name == "" {
			name = yamlName(f.Name)
		}
		if live[name] || reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			continue
		}
		out = append(out, name)
	}
	if !reflect.DeepEqual(a.Upstream.Key, b.Upstream.Key) {
		out = append(out, "upstream.key")
	}
	if a.Origin != b.Origin && a.usesDemo() != b.usesDemo() {
		out = append(out, "origin")
	}
	sort.Strings(out)
	return out
}

func cutTag(tag string) (string, string, bool) {
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			return tag[:i], tag[i+1:], true
		}
	}
	return tag, "", false
}

// yamlName names the fields without a yaml key of their own.
func yamlName(field string) string {
	switch field {
	case "Admin":
		return "admin"
	}
	return field
}

// reloadOnHangup reloads the configuration on every SIGHUP until ctx ends
// or the returned stop is called. The signal is registered before it
// returns.
func (n *Node) reloadOnHangup(ctx context.Context) (stop func()) {
	hup := make(chan os.Signal, 1)
	ossignal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				if _, err := n.Reload(); err != nil {
					n.log.Error("reload on SIGHUP failed; the running configuration stays", "err", err)
				}
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	}()
	return func() {
		ossignal.Stop(hup)
		close(done)
	}
}
