package natsbus

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// Server is a nats-server embedded in the node, for clusters small
// enough to need nothing else: each node runs one, the servers route to
// each other, and each node's bus connects to its own.
//
// This is the one part of the package that listens: nats-server opens
// its client and route listeners itself (it takes no listener from the
// caller). The node starts it, like its own listeners, and stops it last.
type Server struct {
	s           *server.Server
	addr        net.Addr
	clusterAddr net.Addr
}

// StartServer starts the embedded server of cfg (cfg.Listen set) and
// waits until it accepts connections.
func StartServer(cfg Config) (*Server, error) {
	opts, err := serverOptions(cfg)
	if err != nil {
		return nil, err
	}
	// nats-server reports a busy port only in its log; try it first.
	for _, a := range []struct{ key, addr string }{{"listen", cfg.Listen}, {"cluster_listen", cfg.ClusterListen}} {
		if a.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			return nil, fmt.Errorf("cluster.nats.%s: %w", a.key, err)
		}
		_ = ln.Close()
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster.nats: embedded server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("cluster.nats.listen: the embedded server did not start listening on %s (is the port in use?)", cfg.Listen)
	}
	srv := &Server{s: s, addr: s.Addr()}
	if a := s.ClusterAddr(); a != nil {
		srv.clusterAddr = a
	}
	return srv, nil
}

// ClientURL is where clients connect (nats:// or tls://).
func (s *Server) ClientURL() string {
	u := s.s.ClientURL()
	if s.addr != nil {
		// ClientURL names the configured host; 0.0.0.0 is not dialable.
		if a, ok := s.addr.(*net.TCPAddr); ok && a.IP.IsUnspecified() {
			scheme, _, _ := strings.Cut(u, "://")
			return scheme + "://127.0.0.1:" + strconv.Itoa(a.Port)
		}
	}
	return u
}

// Addr is the client listener's address.
func (s *Server) Addr() net.Addr { return s.addr }

// ClusterAddr is the route listener's address, nil without one.
func (s *Server) ClusterAddr() net.Addr { return s.clusterAddr }

// Routes is the number of other servers this one is routed to.
func (s *Server) Routes() int { return s.s.NumRoutes() }

// Close stops the server and waits until it stopped.
func (s *Server) Close() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}

func serverOptions(cfg Config) (*server.Options, error) {
	host, port, err := hostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster.nats.listen: %w", err)
	}
	opts := &server.Options{
		ServerName: "",
		Host:       host,
		Port:       port,
		NoSigs:     true,
		NoLog:      true,
		// Every message of the bus is small (a relay is at most 16 KiB).
		MaxPayload: 1 << 20,
	}
	if cfg.ClusterListen != "" {
		h, p, err := hostPort(cfg.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("cluster.nats.cluster_listen: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: h, Port: p, ConnectRetries: -1}
		routeSecret := cfg.Token
		if routeSecret == "" && cfg.NKeySeedFile != "" {
			// NKeys admit clients only: the routes authenticate with a
			// password every node derives from the seed they share.
			if routeSecret, err = routePassword(cfg.NKeySeedFile); err != nil {
				return nil, err
			}
		}
		for i, r := range cfg.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("cluster.nats.routes[%d]: %w", i, err)
			}
			if routeSecret != "" && u.User == nil {
				u.User = url.UserPassword("edgeswarm", routeSecret)
			}
			opts.Routes = append(opts.Routes, u)
		}
		if routeSecret != "" {
			opts.Cluster.Username, opts.Cluster.Password = "edgeswarm", routeSecret
		}
	}
	switch {
	case cfg.Token != "":
		opts.Authorization = cfg.Token
	case cfg.NKeySeedFile != "":
		pub, err := seedPublicKey(cfg.NKeySeedFile)
		if err != nil {
			return nil, err
		}
		opts.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	}
	if cfg.TLS.Cert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLS.Cert, KeyFile: cfg.TLS.Key, CaFile: cfg.TLS.CA, Verify: cfg.TLS.CA != ""})
		if err != nil {
			return nil, fmt.Errorf("cluster.nats.tls: %w", err)
		}
		tc.MinVersion = tls.VersionTLS12
		opts.TLSConfig = tc
		opts.TLSVerify = cfg.TLS.CA != ""
		opts.TLSTimeout = 2
		if cfg.ClusterListen != "" {
			rc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLS.Cert, KeyFile: cfg.TLS.Key, CaFile: cfg.TLS.CA, Verify: cfg.TLS.CA != ""})
			if err != nil {
				return nil, fmt.Errorf("cluster.nats.tls: %w", err)
			}
			// A server is both ends of its routes: the one that dials
			// verifies the other against the CA too (as nats-server
			// does for a cluster configured from its own file).
			rc.RootCAs = rc.ClientCAs
			opts.Cluster.TLSConfig = rc
			opts.Cluster.TLSTimeout = 2
		}
	}
	return opts, nil
}

// hostPort splits an address; port 0 asks for a free one.
func hostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	if n == 0 {
		n = server.RANDOM_PORT
	}
	if h == "" {
		h = "0.0.0.0"
	}
	return h, n, nil
}

// seedPublicKey reads an NKey seed file and returns its public key.
func seedPublicKey(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("cluster.nats.nkey_seed_file: %w", err)
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		return "", fmt.Errorf("cluster.nats.nkey_seed_file: %s: %w", file, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("cluster.nats.nkey_seed_file: %w", err)
	}
	return pub, nil
}

// routePassword derives the routes' password from an NKey seed file: a
// hash of the seed, the same on every node that holds it and useless to
// anyone who does not.
func routePassword(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("cluster.nats.nkey_seed_file: %w", err)
	}
	seed := strings.TrimSpace(string(b))
	if _, err := nkeys.FromSeed([]byte(seed)); err != nil {
		return "", fmt.Errorf("cluster.nats.nkey_seed_file: %s: %w", file, err)
	}
	sum := sha256.Sum256([]byte("edgeswarm nats route\x00" + seed))
	return hex.EncodeToString(sum[:]), nil
}
