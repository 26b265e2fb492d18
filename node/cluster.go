package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/signal/natsbus"
	"github.com/edgeswarm/edgeswarm/wire"
)

// This file wires the cluster: the NATS bus that joins this node's swarms
// to those of the other nodes, and the embedded nats-server.

// ClusterConfig joins the node to others: viewers of one stream on
// different nodes share one swarm. Off unless cluster.nats.url or
// cluster.nats.listen is set.
type ClusterConfig struct {
	// Name labels this node in logs and on the bus; default the host name.
	Name string `yaml:"name"`
	// Region labels where the node is: viewers are offered peers on their
	// own node first, then on nodes of the same region, then the rest.
	Region string `yaml:"region"`
	// SignalURL is where viewers reach this node's signaling
	// (wss://edge-3.example.com/swarm); the other nodes' welcomes list it
	// so that a viewer whose node goes away rejoins here.
	SignalURL string `yaml:"signal_url"`
	// NATS is the bus: an external NATS cluster, or a server embedded in
	// the node.
	NATS natsbus.Config `yaml:"nats"`
}

func defaultClusterConfig() ClusterConfig {
	return ClusterConfig{NATS: natsbus.DefaultConfig()}
}

// validate checks the cluster keys; c is the whole configuration.
func (cc *ClusterConfig) validate(c *Config) error {
	if err := cc.NATS.Validate(); err != nil {
		return err
	}
	if !cc.NATS.Enabled() {
		return nil
	}
	if !c.Signal.Open && c.Signal.TicketSecret == "" {
		return errors.New("signal.ticket_secret: required in a cluster (cluster.nats is set): every node must check the tickets the others sign, so all share one secret (or set signal.open)")
	}
	if u := cc.SignalURL; u != "" && ((!strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://")) || len(u) > 256 || strings.ContainsAny(u, " \t\r\n")) {
		return fmt.Errorf("cluster.signal_url: %q is not a ws:// or wss:// URL", u)
	}
	for _, f := range []struct{ key, v string }{{"cluster.name", cc.Name}, {"cluster.region", cc.Region}} {
		if len(f.v) > 64 || strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
			return fmt.Errorf("%s: at most 64 printable ASCII characters", f.key)
		}
	}
	return nil
}

// clusterEnv applies the secrets that are better kept out of flags (and
// so out of process listings) and out of files: EDGESWARM_TICKET_SECRET
// and EDGESWARM_NATS_TOKEN.
func clusterEnv(c *Config, getenv func(string) string) {
	if v := getenv("EDGESWARM_TICKET_SECRET"); v != "" {
		c.Signal.TicketSecret = v
	}
	if v := getenv("EDGESWARM_NATS_TOKEN"); v != "" {
		c.Cluster.NATS.Token = v
	}
}

// clusterSettings are the cluster's flags, for deploy/local and small
// clusters started from the command line.
func clusterSettings() []setting {
	str := func(name, key, usage string, p func(*Config) *string) setting {
		return setting{name: name, key: key, usage: usage,
			get: func(c *Config) string { return *p(c) },
			set: func(c *Config, v string) error { *p(c) = v; return nil }}
	}
	return []setting{
		str("node-name", "cluster.name", "this node's `name` in the cluster (default the host name)", func(c *Config) *string { return &c.Cluster.Name }),
		str("region", "cluster.region", "this node's region `label`: peers in the same region are offered first", func(c *Config) *string { return &c.Cluster.Region }),
		str("signal-url", "cluster.signal_url", "the `URL` viewers reach this node's /swarm at, listed to the cluster's viewers for failover", func(c *Config) *string { return &c.Cluster.SignalURL }),
		str("nats-url", "cluster.nats.url", "external NATS cluster `URLs`, comma-separated", func(c *Config) *string { return &c.Cluster.NATS.URL }),
		str("nats-listen", "cluster.nats.listen", "client `address` of the embedded nats-server", func(c *Config) *string { return &c.Cluster.NATS.Listen }),
		str("nats-cluster-listen", "cluster.nats.cluster_listen", "route `address` of the embedded nats-server", func(c *Config) *string { return &c.Cluster.NATS.ClusterListen }),
		{name: "nats-routes", key: "cluster.nats.routes", usage: "the other embedded servers' route `URLs`, comma-separated",
			get: func(c *Config) string { return strings.Join(c.Cluster.NATS.Routes, ",") },
			set: func(c *Config, v string) error {
				c.Cluster.NATS.Routes = nil
				for _, r := range strings.Split(v, ",") {
					if r = strings.TrimSpace(r); r != "" {
						c.Cluster.NATS.Routes = append(c.Cluster.NATS.Routes, r)
					}
				}
				return nil
			}},
	}
}

// cluster is the node's part of a cluster.
type cluster struct {
	bus    *natsbus.Bus
	server *natsbus.Server // nil with an external NATS cluster

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the nodes seen change
}

// watch returns a channel closed at the next change of the nodes seen.
func (c *cluster) watch() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func (c *cluster) nodesChanged(int) {
	c.mu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// newClusterBus returns the bus the hub is built on, or nil without a
// cluster. It is started by startCluster once the hub exists.
func (n *Node) newClusterBus(cfg Config) (*natsbus.Bus, error) {
	cc := cfg.Cluster
	if !cc.NATS.Enabled() {
		n.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgeswarm_cluster_nodes", Help: "Nodes of the cluster this node sees, itself included.",
		}, func() float64 { return 1 }))
		return nil, nil
	}
	name := cc.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	c := &cluster{changed: make(chan struct{})}
	bus, err := natsbus.New(cc.NATS, natsbus.Options{Name: name, Region: cc.Region, SignalURL: cc.SignalURL,
		Log: n.log, Clock: n.now, Registerer: n.metrics.reg, OnNodes: c.nodesChanged})
	if err != nil {
		return nil, err
	}
	c.bus = bus
	n.cluster = c
	return bus, nil
}

// startCluster starts the embedded server, if any, and connects the bus.
func (n *Node) startCluster(hub *signal.Hub) error {
	if n.cluster == nil {
		return nil
	}
	nc := n.cfg.Cluster.NATS
	url := nc.URL
	if nc.Listen != "" {
		s, err := natsbus.StartServer(nc)
		if err != nil {
			return err
		}
		n.cluster.server = s
		url = s.ClientURL()
	}
	if err := n.cluster.bus.Start(url, hub); err != nil {
		return err
	}
	n.log.Info("cluster: on the bus", "node", n.cluster.bus.ID(), "nats", redactURL(url), "embedded", n.cluster.server != nil, "region", n.cfg.Cluster.Region)
	return nil
}

// closeCluster leaves the bus (the others drop this node's viewers at
// once) and stops the embedded server.
func (n *Node) closeCluster() error {
	if n.cluster == nil {
		return nil
	}
	err := n.cluster.bus.Close()
	if n.cluster.server != nil {
		n.cluster.server.Close()
	}
	return err
}

// defaultSignalURL sets this node's cluster.signal_url, when unset, to
// its public listener's address if that is a specific IP (not a wildcard):
// where viewers reach it.
func (n *Node) defaultSignalURL() {
	if n.cluster == nil || n.cfg.Cluster.SignalURL != "" {
		return
	}
	a, ok := n.pubLn.Addr().(*net.TCPAddr)
	if !ok || a.IP.IsUnspecified() {
		return
	}
	scheme := "ws://"
	if n.cfg.TLSCert != "" {
		scheme = "wss://"
	}
	n.cluster.bus.SetSignalURL(scheme + a.String() + wire.SignalPath)
}

// signalURLs is the hub's SignalURLs option: nil without a cluster.
func (n *Node) signalURLs() func() []string {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.bus.SignalURLs
}

func redactURL(u string) string {
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		if _, host, ok := strings.Cut(rest, "@"); ok {
			return scheme + "://***@" + host
		}
	}
	return u
}

// MetricNames returns the name of every metric the node registers, those
// without a sample yet included (a vector whose labels are not known until
// traffic arrives): what a dashboard may query.
func (n *Node) MetricNames() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		n.metrics.reg.Describe(ch)
		close(ch)
	}()
	var names []string
	for d := range ch {
		if m := descName.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// ClusterRouteAddr is the embedded nats-server's route address, "" without
// one: what the other nodes' cluster.nats.routes name.
func (n *Node) ClusterRouteAddr() string {
	if n.cluster == nil || n.cluster.server == nil || n.cluster.server.ClusterAddr() == nil {
		return ""
	}
	return n.cluster.server.ClusterAddr().String()
}

// WaitClusterNodes waits until the node sees want nodes of its cluster,
// itself included, or ctx is done.
func (n *Node) WaitClusterNodes(ctx context.Context, want int) error {
	if n.cluster == nil {
		if want == 1 {
			return nil
		}
		return errors.New("cluster: not configured")
	}
	for {
		changed := n.cluster.watch()
		if n.cluster.bus.Nodes() == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: %d nodes seen, want %d: %w", n.cluster.bus.Nodes(), want, ctx.Err())
		case <-changed:
		}
	}
}
