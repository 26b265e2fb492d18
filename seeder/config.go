package seeder

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/edgeswarm/edgeswarm/units"
	"github.com/edgeswarm/edgeswarm/wire"
)

// Config configures the super-peer. The zero value is not valid; start
// from DefaultConfig.
type Config struct {
	// ICEUDP is the host:port of the single UDP port that carries ICE for
	// every peer connection (ICE UDP mux), e.g. ":3478". The node opens
	// the socket and hands it over in Options.UDP; "" means pion's
	// ephemeral ports, one per connection (tests, demos).
	ICEUDP string `yaml:"ice_udp"`
	// ICETCP is the host:port of the ICE-TCP fallback listener, for
	// viewers whose networks block UDP. "" disables ICE-TCP. The node
	// opens it and hands it over in Options.TCP.
	ICETCP string `yaml:"ice_tcp"`
	// PublicIPs are the addresses announced instead of the host's own in
	// host candidates (1:1 NAT address rewrite), e.g. a cloud VM's public
	// address. Empty: announce the interface addresses.
	PublicIPs []string `yaml:"public_ips"`
	// Interfaces, when not empty, is the allow-list of network interface
	// names whose addresses become candidates. Empty: all interfaces.
	Interfaces []string `yaml:"interfaces"`
	// Loopback includes loopback addresses in the candidates (tests,
	// single-host demos). Off in production.
	Loopback bool `yaml:"loopback"`
	// ICELite makes the super-peer an ICE-lite agent. Off by default:
	// some browsers (Firefox) connect unreliably to ICE-lite peers.
	ICELite bool `yaml:"ice_lite"`
	// PushK is the most viewers that receive each new live segment pushed
	// by the super-peer, 0..64; 0 disables pushing. Small swarms get fewer:
	// one push per 32 connected viewers, at least one.
	PushK int `yaml:"push_k"`
	// Prefetch makes the node fetch the newest segments of a live playlist
	// as soon as a refresh lists them, while viewers are in its swarm, so
	// that the super-peer can push them before any player asks. The fetch
	// forwards the headers of the playlist request; turn it off when the
	// origin authorizes segments differently from playlists. Default on.
	Prefetch bool `yaml:"prefetch"`
	// BusyHolders: a request for a segment that at least this many other
	// connected viewers hold is answered busy, steering the requester to
	// them. 0 disables the rule; a segment held by fewer is always served.
	BusyHolders int `yaml:"busy_holders"`
	// NodeUploadBps bounds the super-peer's total upload, in bytes per
	// second over every swarm, e.g. 100MiB; 0 is unlimited.
	NodeUploadBps units.ByteSize `yaml:"node_upload_bps"`
	// PeerUploadBps bounds the upload to one viewer, in bytes per second;
	// 0 is unlimited.
	PeerUploadBps units.ByteSize `yaml:"peer_upload_bps"`
	// MaxPeers bounds the peer connections held over all swarms; offers
	// beyond it are ignored (the viewer falls back to its other peers
	// and HTTP).
	MaxPeers int `yaml:"max_peers"`
	// STUN answers STUN Binding requests without USERNAME (the ones
	// browsers send while gathering) on the STUN socket (STUNListen), so
	// that viewers learn their server-reflexive address from the node
	// itself. When the node knows its public address (PublicIPs, or a
	// non-wildcard STUNListen or ICEUDP host), viewers are offered
	// stun:ADDRESS:PORT first. Default on.
	STUN bool `yaml:"stun"`
	// STUNRate and STUNBurst are the STUN answers one source address gets
	// per second and at once (token bucket). Raise them when many viewers
	// share a public address (carrier-grade NAT): each gathers a few
	// requests per peer connection.
	STUNRate  float64 `yaml:"stun_rate"`
	STUNBurst int     `yaml:"stun_burst"`
	// ChunkSize is the payload of the chunk frames the super-peer sends,
	// 1..65530 bytes (the peer protocol's largest frame); 0 (default)
	// uses the swarm's chunk_size, the one viewers send with. Larger is
	// not cheaper: pion copies every message into a buffer of its size,
	// and one of 32 KiB or more is a large allocation that the runtime
	// zeroes (bench seeder: 64 KiB chunks cost the node 50% more CPU per
	// MB than 16 KiB on one PeerConnection).
	ChunkSize int `yaml:"chunk_size"`
	// SendBuffer is the most bytes one DataChannel holds, sent and not
	// yet acknowledged or still queued, before the super-peer waits for
	// it to drain to a quarter. SCTP counts unacknowledged bytes in it, so
	// it caps what is in flight to one viewer: it must exceed the path's
	// bandwidth-delay product (100 Mbit/s at 60 ms is 750 kB), or one
	// viewer far away is served at SendBuffer/RTT. 64KiB..64MiB, default
	// 2MiB (bench seeder, one viewer at 60 ms: 1.6 times the throughput
	// of 1 MiB); only connections that are sending hold it.
	SendBuffer units.ByteSize `yaml:"send_buffer"`
	// UDPGSO sends the datagrams of the ICE UDP mux in batches, one
	// system call per run of datagrams to one viewer with UDP generic
	// segmentation offload where the kernel has it (Linux 4.18+; it
	// falls back to one datagram per call by itself). Default on.
	UDPGSO bool `yaml:"udp_gso"`
	// STUNListen is the host:port of the STUN socket, e.g. ":3479"; the
	// node opens it and hands it over in Options.STUN. It must not be the
	// ICE UDP port: Chromium takes every packet from a STUN server's
	// address for its STUN client, so the super-peer's ICE answers from
	// that address would never reach ICE. "" serves no STUN.
	STUNListen string `yaml:"stun_listen"`
	// PushStartGraceMs: a viewer gets no pushes, neither a fill's nor a
	// catch-up, for this long after its hello reached the super-peer. It
	// is starting its player then, and a push competes with its first
	// segments' HTTP fetches and its other handshakes (a browser verifies
	// and stores every pushed byte on its main thread); once the grace is
	// over its next have-map may bring a catch-up. 0..60000; 0 pushes at
	// once (the default).
	PushStartGraceMs int `yaml:"push_start_grace_ms"`
}

// DefaultConfig returns the production defaults: ICE on UDP port 3478,
// STUN on UDP port 3479, no ICE-TCP, live-edge prefetch, push to 2 viewers, busy when 2 viewers hold a segment, no
// upload budget, 2000 peer connections, the swarm's chunk size, batched
// UDP sends, 2 MiB send buffers.
func DefaultConfig() Config {
	return Config{
		ICEUDP:      ":3478",
		PushK:       2,
		Prefetch:    true,
		BusyHolders: 2,
		MaxPeers:    2000,
		STUN:        true,
		STUNRate:    20,
		STUNBurst:   40,
		UDPGSO:      true,
		SendBuffer:  2 << 20,
		STUNListen:  ":3479",
	}
}

// Validate reports the first invalid field, naming its yaml key.
func (c Config) Validate() error {
	for _, a := range []struct{ key, v string }{{"ice_udp", c.ICEUDP}, {"ice_tcp", c.ICETCP}, {"stun_listen", c.STUNListen}} {
		if a.v == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a.v)
		if err != nil {
			return fmt.Errorf("seeder.%s: %q is not host:port: %w", a.key, a.v, err)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
			return fmt.Errorf("seeder.%s: bad port %q", a.key, port)
		}
		if host != "" {
			if _, err := netip.ParseAddr(host); err != nil {
				return fmt.Errorf("seeder.%s: host %q is not an IP address", a.key, host)
			}
		}
	}
	for i, ip := range c.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("seeder.public_ips[%d]: %q is not an IP address", i, ip)
		}
	}
	for i, name := range c.Interfaces {
		if name == "" {
			return fmt.Errorf("seeder.interfaces[%d]: empty interface name", i)
		}
	}
	switch {
	case c.PushK < 0 || c.PushK > 64:
		return fmt.Errorf("seeder.push_k: %d, allowed 0..64", c.PushK)
	case c.BusyHolders < 0:
		return fmt.Errorf("seeder.busy_holders: %d, must not be negative", c.BusyHolders)
	case c.NodeUploadBps < 0:
		return fmt.Errorf("seeder.node_upload_bps: %d, must not be negative", c.NodeUploadBps)
	case c.PeerUploadBps < 0:
		return fmt.Errorf("seeder.peer_upload_bps: %d, must not be negative", c.PeerUploadBps)
	case c.SendBuffer < 64<<10 || c.SendBuffer > 64<<20:
		return fmt.Errorf("seeder.send_buffer: %s, allowed 64KiB..64MiB", c.SendBuffer)
	case c.ChunkSize < 0 || c.ChunkSize > wire.MaxChunkPayload:
		return fmt.Errorf("seeder.chunk_size: %d, allowed 0..%d", c.ChunkSize, wire.MaxChunkPayload)
	case c.PushStartGraceMs < 0 || c.PushStartGraceMs > 60000:
		return fmt.Errorf("seeder.push_start_grace_ms: %d, allowed 0..60000", c.PushStartGraceMs)
	case c.MaxPeers < 1:
		return errors.New("seeder.max_peers: must be at least 1")
	case c.STUN && !(c.STUNRate > 0):
		return errors.New("seeder.stun_rate: must be positive")
	case c.STUN && c.STUNBurst < 1:
		return errors.New("seeder.stun_burst: must be at least 1")
	case c.STUN && c.STUNListen != "" && sameUDPPort(c.STUNListen, c.ICEUDP):
		return fmt.Errorf("seeder.stun_listen: %q is seeder.ice_udp's port; STUN needs its own (Chromium hands every packet from a STUN server's address to its STUN client, never to ICE)", c.STUNListen)
	case c.ICELite && c.ICETCP != "":
		return errors.New("seeder.ice_lite: an ICE-lite agent cannot use ice_tcp")
	}
	return nil
}

// sameUDPPort reports whether two host:port UDP addresses would bind the
// same fixed port on a shared address.
func sameUDPPort(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	return ha == hb || wildcardHost(ha) || wildcardHost(hb)
}

// wildcardHost reports whether h binds every address ("", 0.0.0.0, ::).
func wildcardHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "" || (ip != nil && ip.IsUnspecified())
}
