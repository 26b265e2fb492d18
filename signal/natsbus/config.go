package natsbus

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"time"
)

// Config configures the bus. The yaml keys live under "cluster.nats" in
// the node's configuration file. Either URL (an external NATS cluster) or
// Listen (a nats-server embedded in the node) is set; neither: no
// cluster.
type Config struct {
	// URL lists the servers of an external NATS cluster, comma-separated
	// (nats://host:4222,nats://other:4222; tls:// for TLS).
	URL string `yaml:"url"`
	// Listen is the client address of the embedded nats-server. The
	// node connects to it, and so may other nodes.
	Listen string `yaml:"listen"`
	// ClusterListen is the address of the embedded server's routes, the
	// links between the servers of the cluster. Required with Routes.
	ClusterListen string `yaml:"cluster_listen"`
	// Routes are the other embedded servers' route URLs
	// (nats-route://host:6222). Listing every node on every node is
	// simplest; servers learn the rest from each other.
	Routes []string `yaml:"routes"`
	// ClusterName names the NATS cluster the embedded servers form.
	ClusterName string `yaml:"cluster_name"`
	// Token authenticates the node to the bus; with an embedded server,
	// clients and routes must present it too.
	Token string `yaml:"token"`
	// NKeySeedFile authenticates the node with an NKey instead (the file
	// holds the seed, SU...); an embedded server then admits that key,
	// and its routes authenticate with a password derived from the seed
	// (every node holds the same one).
	NKeySeedFile string `yaml:"nkey_seed_file"`
	// TLS secures the connections to the bus (and, with an embedded
	// server, its client and route listeners).
	TLS TLSConfig `yaml:"tls"`
	// Subject prefixes every subject of the bus, so that several
	// deployments can share one NATS cluster.
	Subject string `yaml:"subject"`
	// Heartbeat is the period of the node's presence messages.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// NodeTimeout: a node not heard of for this long is gone, and its
	// viewers are removed from every swarm.
	NodeTimeout time.Duration `yaml:"node_timeout"`
}

// TLSConfig names the files of the bus's TLS.
type TLSConfig struct {
	// CA verifies the servers (and, for an embedded server, its clients).
	CA string `yaml:"ca"`
	// Cert and Key are this node's certificate and key.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// DefaultConfig returns the defaults: no cluster until URL or Listen is
// set.
func DefaultConfig() Config {
	return Config{
		ClusterName: "edgeswarm",
		Subject:     "edgeswarm",
		Heartbeat:   time.Second,
		NodeTimeout: 3 * time.Second,
	}
}

// Enabled reports whether a bus is configured.
func (c Config) Enabled() bool { return c.URL != "" || c.Listen != "" }

var subjectRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// Validate reports the first invalid field, naming its key under
// "cluster.nats".
func (c Config) Validate() error {
	if !c.Enabled() {
		if len(c.Routes) > 0 || c.ClusterListen != "" {
			return errors.New("cluster.nats.routes, cluster.nats.cluster_listen: need cluster.nats.listen (the embedded server)")
		}
		return nil
	}
	if c.URL != "" && c.Listen != "" {
		return errors.New("cluster.nats.url, cluster.nats.listen: set one: an external NATS cluster or the embedded server")
	}
	if c.URL != "" {
		if len(c.Routes) > 0 || c.ClusterListen != "" {
			return errors.New("cluster.nats.routes, cluster.nats.cluster_listen: only for the embedded server (cluster.nats.listen)")
		}
		for _, u := range splitURLs(c.URL) {
			p, err := url.Parse(u)
			if err != nil || p.Host == "" || (p.Scheme != "nats" && p.Scheme != "tls") {
				return fmt.Errorf("cluster.nats.url: %q is not a nats:// or tls:// URL", u)
			}
		}
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("cluster.nats.listen: %q is not host:port", c.Listen)
		}
	}
	if c.ClusterListen != "" {
		if _, _, err := net.SplitHostPort(c.ClusterListen); err != nil {
			return fmt.Errorf("cluster.nats.cluster_listen: %q is not host:port", c.ClusterListen)
		}
	}
	if len(c.Routes) > 0 && c.ClusterListen == "" {
		return errors.New("cluster.nats.cluster_listen: required with cluster.nats.routes (the routes connect to it)")
	}
	for i, r := range c.Routes {
		p, err := url.Parse(r)
		if err != nil || p.Host == "" || p.Scheme != "nats-route" {
			return fmt.Errorf("cluster.nats.routes[%d]: %q is not a nats-route:// URL", i, r)
		}
	}
	if c.Token != "" && c.NKeySeedFile != "" {
		return errors.New("cluster.nats.token, cluster.nats.nkey_seed_file: set one")
	}
	if c.Token != "" && len(c.Token) < 16 {
		return errors.New("cluster.nats.token: at least 16 characters")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("cluster.nats.tls.cert, cluster.nats.tls.key: set both or neither")
	}
	if c.Listen != "" && c.TLS.CA != "" && c.TLS.Cert == "" {
		return errors.New("cluster.nats.tls.cert: the embedded server needs a certificate to serve TLS")
	}
	if c.ClusterName == "" || !subjectRE.MatchString(c.ClusterName) || len(c.ClusterName) > 64 {
		return fmt.Errorf("cluster.nats.cluster_name: %q, want letters, digits, - and _", c.ClusterName)
	}
	if !subjectRE.MatchString(c.Subject) || len(c.Subject) > 64 {
		return fmt.Errorf("cluster.nats.subject: %q is not a NATS subject prefix (tokens of letters, digits, - and _)", c.Subject)
	}
	if c.Heartbeat < 10*time.Millisecond {
		return errors.New("cluster.nats.heartbeat: at least 10ms")
	}
	if c.NodeTimeout < 2*c.Heartbeat {
		return errors.New("cluster.nats.node_timeout: at least twice cluster.nats.heartbeat")
	}
	return nil
}

func splitURLs(s string) []string {
	var out []string
	for _, u := range regexp.MustCompile(`\s*,\s*`).Split(s, -1) {
		if u != "" {
			out = append(out, u)
		}
	}
	return out
}
