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

// The super-peer's ICE UDP port is also a STUN server (RFC 8489) for the
// Binding requests that browsers send while gathering server-reflexive
// candidates: those carry no USERNAME. stunConn answers them itself, under
// the UDP mux, and hands every other packet (ICE connectivity checks,
// which carry USERNAME, DTLS, SCTP) to pion unchanged.
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
)

// errSTUNMalformed and its wraps explain why a STUN packet was dropped.
var errSTUNMalformed = errors.New("malformed STUN message")

// stunKind is what a packet on the ICE port is to the STUN server.
type stunKind int

const (
	stunPass    stunKind = iota // not STUN, or STUN for pion (with USERNAME, not a request)
	stunBinding                 // a Binding request to answer
	stunBad                     // STUN framing but broken: dropped
)

// classifySTUN tells what to do with a packet. RFC 7983: a first byte of
// 0..3 is STUN and nothing else, so anything there that is not a well
// formed STUN message is dropped rather than handed to pion.
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
		// ICE checks, indications, responses: pion's.
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

// defaultSTUNLimits: a browser sends a handful of Binding requests per
// peer connection it gathers for (retransmissions included); 20 per
// second with bursts of 40 admits a page opening its max_peers connections
// at once, while a spoofed flood gets a victim at most 20 answers (about
// 1 KB) a second from this node.
var defaultSTUNLimits = stunLimits{rate: 20, burst: 40, sources: 1 << 16}

// stunGeneration is how long a source's bucket is remembered after its
// last request (between one and two generations).
const stunGeneration = time.Minute

type bucket struct {
	tokens float64
	at     time.Time
}

// stunLimiter is a token bucket per source address, kept in two
// generations so that its memory stays bounded: a source not seen for a
// generation is forgotten, and while the current generation is full, new
// sources are refused.
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
		} else if len(l.cur) >= l.lim.sources {
			return false
		} else {
			b = &bucket{tokens: l.lim.burst, at: now}
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

// stunMetrics count the STUN server's requests by result.
type stunMetrics struct {
	answered, limited, malformed prometheus.Counter
}

// stunConn is the ICE UDP socket as the UDP mux sees it: STUN Binding
// requests without USERNAME are answered and never reach the caller of
// its reads. It offers pion's allocation-free AddrPort reads and writes
// (on a *net.UDPConn directly, else through ReadFrom and WriteTo).
type stunConn struct {
	net.PacketConn
	udp *net.UDPConn // PacketConn when it is one
	lim *stunLimiter
	m   stunMetrics
	// logBad logs a dropped packet; it must rate-limit itself.
	logBad func(from netip.AddrPort, err error)
	out    [maxSTUNAnswer]byte // only the single reader writes answers
}

func newSTUNConn(c net.PacketConn, lim *stunLimiter, m stunMetrics, logBad func(netip.AddrPort, error)) *stunConn {
	udp, _ := c.(*net.UDPConn)
	return &stunConn{PacketConn: c, udp: udp, lim: lim, m: m, logBad: logBad}
}

// ReadFrom returns the next packet that is not the STUN server's.
func (c *stunConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, ap, err := c.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(ap), nil
}

// ReadFromAddrPort returns the next packet that is not the STUN server's.
func (c *stunConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	for {
		n, ap, err := c.read(p)
		if err != nil || n == 0 {
			return n, ap, err
		}
		kind, perr := classifySTUN(p[:n])
		switch kind {
		case stunPass:
			return n, ap, nil
		case stunBad:
			c.m.malformed.Inc()
			c.logBad(ap, perr)
			continue
		}
		if !c.lim.allow(ap.Addr().Unmap()) {
			c.m.limited.Inc()
			continue
		}
		// Counted first: the answer may be read before WriteTo returns.
		c.m.answered.Inc()
		_, _ = c.WriteToAddrPort(appendSTUNAnswer(c.out[:0], p[:n], ap), ap)
	}
}

func (c *stunConn) read(p []byte) (int, netip.AddrPort, error) {
	if c.udp != nil {
		return c.udp.ReadFromUDPAddrPort(p)
	}
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
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

// WriteToAddrPort writes p to addr.
func (c *stunConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if c.udp != nil {
		return c.udp.WriteToUDPAddrPort(p, addr)
	}
	return c.PacketConn.WriteTo(p, net.UDPAddrFromAddrPort(addr))
}

// newSTUN wraps the ICE UDP socket in the STUN server.
func (s *Seeder) newSTUN(c net.PacketConn) *stunConn {
	every := rate.Sometimes{Interval: 10 * time.Second}
	logBad := func(from netip.AddrPort, err error) {
		every.Do(func() { s.log.Debug("seeder: dropped a STUN packet", "from", from, "err", err) })
	}
	return newSTUNConn(c, newSTUNLimiter(defaultSTUNLimits, s.clock), s.m.stun, logBad)
}

// STUNURLs are the stun: URLs of the built-in STUN server that viewers
// can reach, for a seeder with cfg whose ICE UDP socket is bound to udp:
// one per public address (cfg.PublicIPs, else the socket's host when it
// is not a wildcard), on the socket's port. Empty when cfg.STUN is off,
// there is no socket, or the public address is not known.
func STUNURLs(cfg Config, udp net.Addr) []string {
	u, ok := udp.(*net.UDPAddr)
	if !cfg.STUN || !ok || u == nil {
		return nil
	}
	hosts := cfg.PublicIPs
	if len(hosts) == 0 && u.IP != nil && !u.IP.IsUnspecified() {
		hosts = []string{u.IP.String()}
	}
	urls := make([]string, 0, len(hosts))
	for _, h := range hosts {
		urls = append(urls, "stun:"+net.JoinHostPort(h, strconv.Itoa(u.Port)))
	}
	return urls
}

// STUNURLs are the stun: URLs of the seeder's STUN server; see the
// function STUNURLs.
func (s *Seeder) STUNURLs() []string { return STUNURLs(s.cfg, s.udp) }
