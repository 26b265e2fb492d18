package seeder

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// The seeder serves a STUN server (RFC 8489) for the Binding requests that
// browsers send while gathering server-reflexive candidates (those carry
// no USERNAME), on a UDP socket of its own (Options.STUN, Config.STUNListen)
// and never on the ICE UDP port. Chromium hands every packet that comes
// from a configured STUN server's address (IP and port) to its STUN
// client and never to ICE: a STUN server on the super-peer's ICE address
// eats the super-peer's connectivity-check answers, and no viewer behind a
// NAT connects to it. Every packet on the STUN socket that is not a
// Binding request without USERNAME is dropped.
//
// Reflection and amplification: an answer is at most maxSTUNAnswer bytes
// (header, XOR-MAPPED-ADDRESS, FINGERPRINT; no SOFTWARE, no echo of the
// request), and each source address gets a token bucket, so a spoofed
// request stream sends a victim little more than it sent the node, and
// never faster than the bucket allows.

const (
	stunHeaderLen   = 20
	stunMagicCookie = 0x2112A442
	stunBindingReq  = 0x0001
	stunBindingOK   = 0x0101
	// maxSTUNAnswer is the largest answer: header, XOR-MAPPED-ADDRESS of
	// an IPv6 address (4+20) and FINGERPRINT (4+4).
	maxSTUNAnswer = stunHeaderLen + 24 + 8
	// maxSTUNRequest bounds the Binding requests answered; a gathering
	// request is 20 to about 100 bytes.
	maxSTUNRequest = 548

	attrUsername        = 0x0006
	attrMessageIntegrty = 0x0008
	attrXORMappedAddr   = 0x0020
	attrFingerprint     = 0x8028
	fingerprintXOR      = 0x5354554e
)

// STUN request results, the label values of stun_requests_total.
const (
	stunAnswered    = "answered"
	stunRateLimited = "rate_limited"
	stunMalformed   = "malformed"
	stunIgnored     = "ignored"
)

// errSTUNMalformed and its wraps explain why a STUN packet was dropped.
var errSTUNMalformed = errors.New("malformed STUN message")

// stunKind is what a packet on the STUN socket is to the STUN server.
type stunKind int

const (
	stunPass    stunKind = iota // not STUN, or STUN that is not a gathering request (USERNAME, not a request)
	stunBinding                 // a Binding request to answer
	stunBad                     // STUN framing but broken
)

// classifySTUN tells what a packet is. RFC 7983: a first byte of 0..3 is
// STUN and nothing else, so anything there that is not a well formed STUN
// message is malformed.
func classifySTUN(p []byte) (stunKind, error) {
	if len(p) == 0 || p[0] > 3 {
		return stunPass, nil
	}
	if len(p) < stunHeaderLen {
		return stunBad, errSTUNMalformed
	}
	typ := binary.BigEndian.Uint16(p[0:2])
	n := int(binary.BigEndian.Uint16(p[2:4]))
	if binary.BigEndian.Uint32(p[4:8]) != stunMagicCookie || n%4 != 0 || stunHeaderLen+n != len(p) {
		return stunBad, errSTUNMalformed
	}
	user, integrity, fp := false, false, -1
	for off := stunHeaderLen; off < len(p); {
		if len(p)-off < 4 || fp >= 0 {
			// FINGERPRINT must be the last attribute.
			return stunBad, errSTUNMalformed
		}
		at := binary.BigEndian.Uint16(p[off:])
		al := int(binary.BigEndian.Uint16(p[off+2:]))
		padded := (al + 3) &^ 3
		if off+4+padded > len(p) {
			return stunBad, errSTUNMalformed
		}
		switch at {
		case attrUsername:
			user = true
		case attrMessageIntegrty:
			integrity = true
		case attrFingerprint:
			if al != 4 {
				return stunBad, errSTUNMalformed
			}
			fp = off
		}
		off += 4 + padded
	}
	if fp >= 0 {
		want := crc32.ChecksumIEEE(p[:fp]) ^ fingerprintXOR
		if binary.BigEndian.Uint32(p[fp+4:]) != want {
			return stunBad, errSTUNMalformed
		}
	}
	if typ != stunBindingReq || user || integrity {
		// ICE checks, indications, responses: not for this server.
		return stunPass, nil
	}
	if len(p) > maxSTUNRequest {
		return stunBad, errSTUNMalformed
	}
	return stunBinding, nil
}

// appendSTUNAnswer appends the Binding success response to req (a packet
// classifySTUN called stunBinding) from addr: XOR-MAPPED-ADDRESS and
// FINGERPRINT, at most maxSTUNAnswer bytes.
func appendSTUNAnswer(b, req []byte, addr netip.AddrPort) []byte {
	ip := addr.Addr().Unmap()
	raw := ip.AsSlice()
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, stunBindingOK)
	b = binary.BigEndian.AppendUint16(b, 0) // length, set below
	b = append(b, req[4:20]...)             // magic cookie and transaction id
	b = binary.BigEndian.AppendUint16(b, attrXORMappedAddr)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(raw)))
	family := byte(1)
	if len(raw) == 16 {
		family = 2
	}
	b = append(b, 0, family)
	b = binary.BigEndian.AppendUint16(b, addr.Port()^uint16(stunMagicCookie>>16))
	for i, x := range raw {
		// The address is XORed with the cookie and then the transaction id.
		b = append(b, x^req[4+i])
	}
	// The length covers FINGERPRINT, which is computed over it.
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start-stunHeaderLen+8))
	crc := crc32.ChecksumIEEE(b[start:]) ^ fingerprintXOR
	b = binary.BigEndian.AppendUint16(b, attrFingerprint)
	b = binary.BigEndian.AppendUint16(b, 4)
	return binary.BigEndian.AppendUint32(b, crc)
}

// stunLimits are the STUN server's per-source token bucket.
type stunLimits struct {
	rate    float64 // answers per second per source address
	burst   float64
	sources int // source addresses tracked at once (per generation)
}

// stunSources bounds the source addresses tracked per generation.
const stunSources = 1 << 16

// stunLimitsOf are the limits of cfg: a browser sends a handful of
// Binding requests per peer connection it gathers for (retransmissions
// included); the default 20 per second with bursts of 40 admits a page
// opening its max_peers connections at once, while a spoofed flood gets a
// victim at most 20 answers (about 1 KB) a second from this node.
func stunLimitsOf(cfg Config) stunLimits {
	return stunLimits{rate: cfg.STUNRate, burst: float64(cfg.STUNBurst), sources: stunSources}
}

// stunGeneration is how long a source's bucket is remembered after its
// last request (between one and two generations).
const stunGeneration = time.Minute

type bucket struct {
	tokens float64
	at     time.Time
}

// stunLimiter is a token bucket per source address, kept in two
// generations so that its memory stays bounded: a source not seen for a
// generation is forgotten. A full current generation starts the next one
// early, so that a flood from many (spoofed) sources pushes its own
// entries out instead of locking new viewers out for a generation.
type stunLimiter struct {
	lim   stunLimits
	clock func() time.Time

	mu        sync.Mutex
	cur, prev map[netip.Addr]*bucket
	rotated   time.Time
}

func newSTUNLimiter(lim stunLimits, clock func() time.Time) *stunLimiter {
	return &stunLimiter{lim: lim, clock: clock, cur: map[netip.Addr]*bucket{}, prev: map[netip.Addr]*bucket{}, rotated: clock()}
}

// allow takes one token from src's bucket.
func (l *stunLimiter) allow(src netip.Addr) bool {
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.rotated) >= stunGeneration {
		l.prev, l.cur, l.rotated = l.cur, make(map[netip.Addr]*bucket, len(l.cur)), now
	}
	b := l.cur[src]
	if b == nil {
		if b = l.prev[src]; b != nil {
			delete(l.prev, src)
		} else {
			b = &bucket{tokens: l.lim.burst, at: now}
		}
		if len(l.cur) >= l.lim.sources {
			l.prev, l.cur, l.rotated = l.cur, make(map[netip.Addr]*bucket, l.lim.sources), now
		}
		l.cur[src] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.lim.burst, b.tokens+d.Seconds()*l.lim.rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// stunMetrics count the STUN server's packets by result.
type stunMetrics struct {
	answered, limited, malformed, ignored prometheus.Counter
}

// stunServer answers the Binding requests read from its socket. Only the
// single reading goroutine calls handle.
type stunServer struct {
	lim *stunLimiter
	m   stunMetrics
	// logBad logs a dropped packet; it must rate-limit itself.
	logBad func(from netip.AddrPort, err error)
	out    [maxSTUNAnswer]byte
}

// handle returns the answer to packet p from addr, or nil when p gets
// none (not a gathering Binding request, malformed, over the budget). The
// answer is valid until the next call.
func (s *stunServer) handle(p []byte, from netip.AddrPort) []byte {
	kind, err := classifySTUN(p)
	switch kind {
	case stunPass:
		s.m.ignored.Inc()
		return nil
	case stunBad:
		s.m.malformed.Inc()
		s.logBad(from, err)
		return nil
	}
	if !s.lim.allow(from.Addr().Unmap()) {
		s.m.limited.Inc()
		return nil
	}
	// Counted first: the answer may be read before its write returns.
	s.m.answered.Inc()
	return appendSTUNAnswer(s.out[:0], p, from)
}

// stunReadBuffer holds any datagram a path MTU lets through whole; a
// larger one is cut and then malformed.
const stunReadBuffer = 1500

// serveSTUN answers Binding requests on c until c is closed.
func (s *Seeder) serveSTUN(c net.PacketConn) {
	every := rate.Sometimes{Interval: 10 * time.Second}
	srv := &stunServer{lim: newSTUNLimiter(stunLimitsOf(s.cfg), s.clock), m: s.m.stun, logBad: func(from netip.AddrPort, err error) {
		every.Do(func() { s.log.Debug("seeder: dropped a STUN packet", "from", from, "err", err) })
	}}
	udp, _ := c.(*net.UDPConn)
	buf := make([]byte, stunReadBuffer)
	for {
		n, from, err := readAddrPort(c, udp, buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			every.Do(func() { s.log.Debug("seeder: STUN read", "err", err) })
			continue
		}
		ans := srv.handle(buf[:n], from)
		if ans == nil {
			continue
		}
		if udp != nil {
			_, _ = udp.WriteToUDPAddrPort(ans, from)
		} else {
			_, _ = c.WriteTo(ans, net.UDPAddrFromAddrPort(from))
		}
	}
}

// readAddrPort reads one packet from c (udp when c is a *net.UDPConn,
// which reads without allocating); packets from addresses that are not
// UDP are skipped.
func readAddrPort(c net.PacketConn, udp *net.UDPConn, p []byte) (int, netip.AddrPort, error) {
	if udp != nil {
		return udp.ReadFromUDPAddrPort(p)
	}
	for {
		n, addr, err := c.ReadFrom(p)
		if err != nil {
			return n, netip.AddrPort{}, err
		}
		if u, ok := addr.(*net.UDPAddr); ok && u.IP != nil {
			return n, u.AddrPort(), nil
		}
		if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
			return n, ap, nil
		}
	}
}

// STUNURLs are the stun: URLs of the built-in STUN server that viewers
// can reach, for a seeder with cfg whose STUN socket is bound to addr:
// one per public address (cfg.PublicIPs, else the socket's host when it
// is not a wildcard, else seeder.ice_udp's host when that is not one), on
// the socket's port. Empty when cfg.STUN is off, there is no socket, or
// the public address is not known. The node also calls it with the TURN
// relay's socket when the relay answers STUN in place of the seeder.
func STUNURLs(cfg Config, addr net.Addr) []string {
	u, ok := addr.(*net.UDPAddr)
	if !cfg.STUN || !ok || u == nil {
		return nil
	}
	hosts := cfg.PublicIPs
	if len(hosts) == 0 && u.IP != nil && !u.IP.IsUnspecified() {
		hosts = []string{u.IP.String()}
	}
	if len(hosts) == 0 {
		if h, _, err := net.SplitHostPort(cfg.ICEUDP); err == nil && !wildcardHost(h) {
			hosts = []string{h}
		}
	}
	urls := make([]string, 0, len(hosts))
	for _, h := range hosts {
		urls = append(urls, "stun:"+net.JoinHostPort(h, strconv.Itoa(u.Port)))
	}
	return urls
}

// STUNURLs are the stun: URLs of the seeder's STUN server; see the
// function STUNURLs.
func (s *Seeder) STUNURLs() []string { return STUNURLs(s.cfg, s.stunAddr) }

// ICEUDPAddr is the ICE UDP mux's address, nil without one.
func (s *Seeder) ICEUDPAddr() net.Addr { return s.udp }
