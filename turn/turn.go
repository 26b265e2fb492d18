package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Options are the relay's collaborators.
type Options struct {
	// Log receives the relay's logs; nil discards them.
	Log *slog.Logger
	// Clock tells the time for credential expiry and rate budgets; nil is
	// time.Now.
	Clock func() time.Time
	// Registerer receives the relay's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// UDP is the socket of Config.Listen, opened by the node. The relay
	// owns it from New on and closes it in Close. Required.
	UDP net.PacketConn
	// RelayIP is the address announced for relay sockets (see
	// Config.RelayAddr). Required.
	RelayIP netip.Addr
	// RelayBind is the address relay sockets bind to; the zero value is
	// the unspecified address of RelayIP's family. Tests bind loopback.
	RelayBind netip.Addr
}

// Server is the TURN relay. Close it to end every allocation.
type Server struct {
	cfg    Config
	secret []byte
	log    *slog.Logger
	clock  func() time.Time
	m      *metrics
	srv    *pionturn.Server

	mu      sync.Mutex
	viewers map[string]*viewer
	allocs  int
}

// viewer is one viewer's quota state, kept while its credential is valid
// or it holds allocations.
type viewer struct {
	allocs  int
	bytes   int64
	expiry  time.Time
	limiter *rate.Limiter // nil: no rate budget
}

// New starts a relay on opt.UDP that admits the TURN REST credentials of
// secret (signal.turn_secret).
func New(cfg Config, secret string, opt Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(secret) < 16 {
		return nil, errors.New("turn: the TURN REST secret must be at least 16 bytes (signal.turn_secret)")
	}
	if opt.UDP == nil || !opt.RelayIP.IsValid() {
		return nil, errors.New("turn: Options.UDP and Options.RelayIP are required")
	}
	s := &Server{cfg: cfg, secret: []byte(secret), log: opt.Log, clock: opt.Clock, viewers: map[string]*viewer{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	var err error
	if s.m, err = newMetrics(opt.Registerer); err != nil {
		return nil, fmt.Errorf("turn: metrics: %w", err)
	}
	bind := opt.RelayBind
	if !bind.IsValid() {
		bind = netip.IPv4Unspecified()
		if opt.RelayIP.Is6() && !opt.RelayIP.Is4In6() {
			bind = netip.IPv6Unspecified()
		}
	}
	gen := &relayGenerator{s: s, inner: &pionturn.RelayAddressGeneratorPortRange{
		RelayAddress: net.IP(opt.RelayIP.Unmap().AsSlice()),
		Address:      bind.String(),
		MinPort:      uint16(cfg.RelayPortMin),
		MaxPort:      uint16(cfg.RelayPortMax),
		MaxRetries:   64,
	}}
	s.srv, err = pionturn.NewServer(pionturn.ServerConfig{
		Realm:              cfg.Realm,
		AuthHandler:        s.auth,
		QuotaHandler:       s.quota,
		LoggerFactory:      pionLogs{s.log},
		AllocationLifetime: cfg.AllocationLifetime,
		EventHandler: pionturn.EventHandler{
			OnAuth: func(_, _ net.Addr, _, _, _, _ string, ok bool) {
				if !ok {
					s.m.authRefused.Inc()
				}
			},
		},
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn:            opt.UDP,
			RelayAddressGenerator: gen,
			PermissionHandler:     s.permit,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	return s, nil
}

// Close ends every allocation and closes the listener.
func (s *Server) Close() error { return s.srv.Close() }

// Allocations returns the allocations held.
func (s *Server) Allocations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocs
}

// auth checks a TURN REST username and returns its long-term key: the
// username must be unexpired (the password is checked by pion against
// the key). The user id, which quotas follow, is the whole username: one
// per join of a viewer.
func (s *Server) auth(ra *pionturn.RequestAttributes) (string, []byte, bool) {
	_, err := wire.CheckTURNUsername(ra.Username, s.clock())
	if err != nil {
		if errors.Is(err, wire.ErrTURNExpired) {
			s.m.expired.Inc()
		}
		return "", nil, false
	}
	return ra.Username, pionturn.GenerateAuthKey(ra.Username, ra.Realm, wire.TURNPassword(s.secret, ra.Username)), true
}

// permit admits a permission (or channel) from a viewer's allocation to
// peerIP: never multicast or broadcast, and loopback, private, shared,
// link-local and unspecified addresses only with AllowPrivatePeers.
func (s *Server) permit(_ net.Addr, peerIP net.IP) bool {
	a, ok := netip.AddrFromSlice(peerIP)
	if ok && !forbiddenPeer(a.Unmap(), s.cfg.AllowPrivatePeers) {
		return true
	}
	s.m.peerRefused.Inc()
	return false
}

// sharedSpace is RFC 6598's carrier-grade NAT range.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

func forbiddenPeer(a netip.Addr, allowPrivate bool) bool {
	switch {
	case !a.IsValid(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return true
	case allowPrivate:
		return false
	}
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || sharedSpace.Contains(a)
}

// quota admits a new allocation for viewer id (the user id of auth).
func (s *Server) quota(id, _ string, _ net.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.viewers[id]; s.allocs >= s.cfg.MaxAllocations || (v != nil && v.allocs >= s.cfg.ViewerAllocations) {
		s.m.quotaRefused.Inc()
		return false
	}
	return true
}

// open registers an allocation of the viewer whose username is id.
func (s *Server) open(id string) *viewer {
	now := s.clock()
	// The username passed auth; its expiry bounds how long the entry is
	// kept once its allocations are gone.
	expiry := now
	if exp, _, ok := strings.Cut(id, ":"); ok {
		if sec, err := strconv.ParseInt(exp, 10, 64); err == nil {
			expiry = time.Unix(sec, 0)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.viewers[id]
	if v == nil {
		// Forget viewers whose credentials expired and that hold nothing:
		// the table grows with valid credentials only.
		for k, o := range s.viewers {
			if o.allocs == 0 && !now.Before(o.expiry) {
				delete(s.viewers, k)
			}
		}
		v = &viewer{expiry: expiry}
		if s.cfg.ViewerBps > 0 {
			burst := int(min(max(int64(s.cfg.ViewerBps), 64<<10), 1<<30))
			v.limiter = rate.NewLimiter(rate.Limit(s.cfg.ViewerBps), burst)
		}
		s.viewers[id] = v
	}
	v.allocs++
	s.allocs++
	s.m.allocations.Set(float64(s.allocs))
	return v
}

func (s *Server) release(v *viewer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.allocs--
	s.allocs--
	s.m.allocations.Set(float64(s.allocs))
}

// admit takes n bytes from v's budgets; false means the packet is dropped.
func (s *Server) admit(v *viewer, n int) bool {
	now := s.clock()
	s.mu.Lock()
	over := s.cfg.ViewerBytes > 0 && v.bytes+int64(n) > int64(s.cfg.ViewerBytes)
	if !over {
		v.bytes += int64(n)
	}
	s.mu.Unlock()
	if over {
		s.m.dropQuota.Add(float64(n))
		return false
	}
	if v.limiter != nil && !v.limiter.AllowN(now, n) {
		s.m.dropRate.Add(float64(n))
		return false
	}
	return true
}

// relayGenerator opens relay sockets in the port range and wraps each in
// its viewer's budgets.
type relayGenerator struct {
	s     *Server
	inner *pionturn.RelayAddressGeneratorPortRange
}

var _ pionturn.RelayAddressGenerator = (*relayGenerator)(nil)

func (g *relayGenerator) Validate() error { return g.inner.Validate() }

func (g *relayGenerator) AllocatePacketConn(c pionturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	conn, addr, err := g.inner.AllocatePacketConn(c)
	if err != nil {
		return nil, nil, err
	}
	return &relayConn{PacketConn: conn, s: g.s, v: g.s.open(c.UserID)}, addr, nil
}

func (g *relayGenerator) AllocateListener(pionturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errors.New("turn: TCP relays are not offered")
}

func (g *relayGenerator) AllocateConn(pionturn.AllocateConnConfig) (net.Conn, error) {
	return nil, errors.New("turn: TCP relays are not offered")
}

// relayConn is one allocation's relay socket: what it sends goes to the
// viewer's peer, what it reads goes (through the listener) to the viewer.
// Both count against the viewer's budgets and as relayed egress.
type relayConn struct {
	net.PacketConn
	s    *Server
	v    *viewer
	once sync.Once
}

func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || c.s.admit(c.v, n) {
			if err == nil {
				c.s.m.toViewer.Add(float64(n))
			}
			return n, addr, err
		}
	}
}

func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.s.admit(c.v, len(p)) {
		// Dropped as a congested link would: the sender sees success.
		return len(p), nil
	}
	n, err := c.PacketConn.WriteTo(p, addr)
	c.s.m.toPeer.Add(float64(n))
	return n, err
}

func (c *relayConn) Close() error {
	c.once.Do(func() { c.s.release(c.v) })
	return c.PacketConn.Close()
}

// pionLogs routes pion's logs to slog: errors at warn, warnings at debug.
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) Trace(string)              {}
func (l pionLogger) Tracef(string, ...any)     {}
func (l pionLogger) Debug(string)              {}
func (l pionLogger) Debugf(string, ...any)     {}
func (l pionLogger) Info(string)               {}
func (l pionLogger) Infof(string, ...any)      {}
func (l pionLogger) Warn(msg string)           { l.log.Debug(msg) }
func (l pionLogger) Warnf(f string, a ...any)  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l pionLogger) Error(msg string)          { l.log.Warn(msg) }
func (l pionLogger) Errorf(f string, a ...any) { l.log.Warn(fmt.Sprintf(f, a...)) }
