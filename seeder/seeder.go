package seeder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/edgeswarm/edgeswarm/internal/rtcwire"
	"github.com/edgeswarm/edgeswarm/wire"
)

// Conn is an in-process signaling connection to the tracker: the same
// messages a browser exchanges over the WebSocket.
type Conn interface {
	Send(m wire.Message) error
	// Recv returns the next message from the tracker, or an error once
	// the connection or ctx is done.
	Recv(ctx context.Context) (wire.Message, error)
	Close() error
}

// Signaling opens signaling connections as the super-peer, which the
// tracker lists to viewers with the seeder mark.
type Signaling interface {
	Connect(ctx context.Context) (Conn, error)
}

// Source returns a segment's bytes by content key, filling the cache on
// a miss.
type Source interface {
	Segment(ctx context.Context, key string) ([]byte, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, key string) ([]byte, error)

// Segment calls f.
func (f SourceFunc) Segment(ctx context.Context, key string) ([]byte, error) { return f(ctx, key) }

// Options are the seeder's collaborators.
type Options struct {
	// Log receives the seeder's logs; nil discards them.
	Log *slog.Logger
	// Clock is the time source; nil means time.Now.
	Clock func() time.Time
	// Registerer receives the seeder's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// UDP is the socket of the ICE UDP mux (Config.ICEUDP), opened by the
	// node. The seeder owns it from New on and closes it in Close. nil
	// means one ephemeral UDP port per peer connection.
	UDP net.PacketConn
	// TCP is the ICE-TCP listener (Config.ICETCP), optional; the seeder
	// owns and closes it like UDP.
	TCP net.Listener
	// STUN is the STUN server's socket (Config.STUNListen), optional; the
	// seeder owns and closes it like UDP, and answers on it while
	// Config.STUN is on.
	STUN net.PacketConn
	// PushFraction, optional, is the operator's policy for a swarm: the
	// share of its connected viewers each new live segment is pushed to
	// (at least one while above 0), in place of the push_k rule; ok false
	// keeps the rule.
	PushFraction func(swarm string) (fraction float64, ok bool)
}

// socketBuffer is the socket buffer size asked for the ICE UDP mux.
const socketBuffer = 8 << 20

// Seeder is the node's super-peer. Its methods are safe for concurrent use.
type Seeder struct {
	cfg   Config
	sig   Signaling
	src   Source
	log   *slog.Logger
	clock func() time.Time
	m     *metrics
	api   *webrtc.API
	muxes []interface{ Close() error }
	udp   net.Addr       // the ICE UDP mux's address, nil without one
	stun  net.PacketConn // Options.STUN
	// stunAddr is the STUN socket's address, nil without one.
	stunAddr net.Addr
	node     *rate.Limiter // nil: unlimited
	// pushFraction is Options.PushFraction (nil: the push_k rule only).
	pushFraction func(string) (float64, bool)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	npeers atomic.Int64

	mu     sync.Mutex
	swarms map[string]*swarm
	closed bool
}

// New returns a seeder that joins no swarm until SetViewers says one has
// viewers. It validates cfg.
func New(cfg Config, sig Signaling, src Source, opt Options) (*Seeder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sig == nil || src == nil {
		return nil, errors.New("seeder: nil Signaling or Source")
	}
	s := &Seeder{cfg: cfg, sig: sig, src: src, log: opt.Log, clock: opt.Clock, swarms: map[string]*swarm{}, pushFraction: opt.PushFraction}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	var err error
	if s.m, err = newMetrics(opt.Registerer, cfg); err != nil {
		return nil, fmt.Errorf("seeder: metrics: %w", err)
	}
	if cfg.NodeUploadBps > 0 {
		s.node = newLimiter(int64(cfg.NodeUploadBps))
	}
	if opt.UDP != nil {
		s.udp = opt.UDP.LocalAddr()
	}
	if s.api, err = s.newAPI(opt); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.stun = opt.STUN; s.stun != nil && cfg.STUN {
		s.stunAddr = s.stun.LocalAddr()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveSTUN(s.stun)
		}()
	}
	return s, nil
}

// newLimiter returns a token bucket of bps bytes per second whose burst
// holds at least one largest frame.
func newLimiter(bps int64) *rate.Limiter {
	burst := int(min(max(bps/10, wire.MaxFrameSize), 1<<30))
	return rate.NewLimiter(rate.Limit(bps), burst)
}

// newAPI builds the pion API: ICE mux sockets, candidate filters, address
// rewriting, no mDNS (the super-peer's candidates are plain addresses).
func (s *Seeder) newAPI(opt Options) (*webrtc.API, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLogs{s.log}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(s.cfg.Loopback)
	se.SetLite(s.cfg.ICELite)
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if opt.TCP != nil {
		types = append(types, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(types)
	if len(s.cfg.Interfaces) > 0 {
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(s.cfg.Interfaces, name) })
	}
	if len(s.cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: s.cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("seeder.public_ips: %w", err)
		}
	}
	logger := se.LoggerFactory.NewLogger("ice")
	if opt.UDP != nil {
		// One socket carries every peer: a default-sized receive buffer
		// overflows under load and SCTP then crawls on retransmissions.
		// Best effort: the kernel caps it at net.core.rmem_max/wmem_max.
		if b, ok := opt.UDP.(interface {
			SetReadBuffer(int) error
			SetWriteBuffer(int) error
		}); ok {
			_ = b.SetReadBuffer(socketBuffer)
			_ = b.SetWriteBuffer(socketBuffer)
		}
		conn := opt.UDP
		if u, ok := conn.(*net.UDPConn); ok && s.cfg.UDPGSO {
			b := newBatchConn(u)
			if err := registerBatchMetrics(opt.Registerer, b); err != nil {
				b.Close()
				return nil, fmt.Errorf("seeder: metrics: %w", err)
			}
			conn = b
		}
		mux := webrtc.NewICEUDPMux(logger, conn)
		s.muxes = append(s.muxes, mux)
		se.SetICEUDPMux(filteredMux{UDPMux: mux, cfg: s.cfg})
	}
	if opt.TCP != nil {
		mux := webrtc.NewICETCPMux(logger, opt.TCP, 32)
		s.muxes = append(s.muxes, mux)
		se.SetICETCPMux(mux)
	}
	return rtcwire.DataOnlyAPI(se), nil
}

// filteredMux applies Config.Loopback and Config.Interfaces to the
// addresses of a UDP mux bound to the unspecified address, which pion's
// mux lists without filtering.
type filteredMux struct {
	ice.UDPMux
	cfg Config
}

func (f filteredMux) GetListenAddresses() []net.Addr {
	addrs := f.UDPMux.GetListenAddresses()
	var allowed map[string]bool
	if len(f.cfg.Interfaces) > 0 {
		allowed = map[string]bool{}
		for _, name := range f.cfg.Interfaces {
			ifc, err := net.InterfaceByName(name)
			if err != nil {
				continue
			}
			as, _ := ifc.Addrs()
			for _, a := range as {
				if n, ok := a.(*net.IPNet); ok {
					allowed[n.IP.String()] = true
				}
			}
		}
	}
	out := addrs[:0:0]
	for _, a := range addrs {
		u, ok := a.(*net.UDPAddr)
		if !ok {
			continue
		}
		if u.IP.IsLoopback() && !f.cfg.Loopback {
			continue
		}
		if allowed != nil && !u.IP.IsUnspecified() && !allowed[u.IP.String()] {
			continue
		}
		out = append(out, a)
	}
	return out
}

// SetViewers tells the seeder how many viewers a swarm has: it joins the
// swarm when viewers > 0 and leaves it, closing its connections, at 0. The
// count, which includes viewers that never connect to the super-peer
// (download-only ones), sizes the pushes.
func (s *Seeder) SetViewers(swarmName string, viewers int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	sw := s.swarms[swarmName]
	switch {
	case viewers > 0 && sw == nil:
		sw = newSwarm(s, swarmName)
		sw.viewers.Store(int64(viewers))
		s.swarms[swarmName] = sw
		s.m.swarms.Inc()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sw.run()
		}()
	case viewers <= 0 && sw != nil:
		delete(s.swarms, swarmName)
		s.m.swarms.Dec()
		sw.stop()
	case sw != nil:
		sw.viewers.Store(int64(viewers))
	}
}

// NewSegment tells the seeder that a new live segment of a swarm entered
// the cache. If the seeder is in the swarm, it pushes the segment to up to
// PushK viewers that accept pushes.
func (s *Seeder) NewSegment(swarmName string, d wire.SegmentDigest) {
	s.mu.Lock()
	sw := s.swarms[swarmName]
	s.mu.Unlock()
	if sw != nil {
		sw.newSegment(d)
	}
}

// Close leaves every swarm, closes every peer connection and the ICE
// sockets, and waits for the seeder's goroutines to end.
func (s *Seeder) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for name, sw := range s.swarms {
		delete(s.swarms, name)
		s.m.swarms.Dec()
		sw.stop()
	}
	s.mu.Unlock()
	s.cancel()
	var errs []error
	if s.stun != nil {
		if err := s.stun.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	for _, m := range s.muxes {
		if err := m.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pionLogs routes pion's logs to slog: errors and warnings only, at debug
// level for warnings (pion warns about every stray packet).
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) Trace(string)          {}
func (l pionLogger) Tracef(string, ...any) {}
func (l pionLogger) Debug(string)          {}
func (l pionLogger) Debugf(string, ...any) {}
func (l pionLogger) Info(string)           {}
func (l pionLogger) Infof(string, ...any)  {}
func (l pionLogger) Warn(msg string)       { l.log.Debug(msg) }
func (l pionLogger) Warnf(f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...))
}
func (l pionLogger) Error(msg string) { l.log.Warn(msg) }
func (l pionLogger) Errorf(f string, a ...any) {
	l.log.Warn(fmt.Sprintf(f, a...))
}
