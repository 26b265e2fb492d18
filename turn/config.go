package turn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/edgeswarm/edgeswarm/units"
)

// Config configures the relay; its yaml keys live under "turn".
type Config struct {
	// Enabled runs the relay. Off by default.
	Enabled bool `yaml:"enabled"`
	// Listen is the UDP host:port viewers send TURN requests to.
	Listen string `yaml:"listen"`
	// RelayIP is the address of relay sockets announced to viewers (the
	// XOR-RELAYED-ADDRESS), the node's public address. Empty: Listen's
	// host when it is concrete, else the first seeder.public_ips.
	RelayIP string `yaml:"relay_ip"`
	// RelayPortMin and RelayPortMax bound the relay sockets' ports; open
	// them in the firewall.
	RelayPortMin int `yaml:"relay_port_min"`
	RelayPortMax int `yaml:"relay_port_max"`
	// Realm is the TURN realm.
	Realm string `yaml:"realm"`
	// MaxAllocations bounds the allocations held over all viewers.
	MaxAllocations int `yaml:"max_allocations"`
	// ViewerAllocations bounds one viewer's allocations at once (one per
	// relayed peer connection).
	ViewerAllocations int `yaml:"viewer_allocations"`
	// ViewerBps bounds the bytes per second relayed for one viewer, both
	// directions together; 0 is unlimited.
	ViewerBps units.ByteSize `yaml:"viewer_bps"`
	// ViewerBytes bounds the bytes relayed for one viewer while its
	// credential is valid; 0 is unlimited.
	ViewerBytes units.ByteSize `yaml:"viewer_bytes"`
	// AllocationLifetime is the longest allocation lifetime granted; a
	// client refreshes before it ends.
	AllocationLifetime time.Duration `yaml:"allocation_lifetime"`
	// AllowPrivatePeers lets viewers relay to loopback, private (RFC 1918,
	// ULA), shared (100.64/10), link-local and unspecified addresses. Off
	// by default: a relay is then no way into the node's own host or
	// network. Tests and emulated networks on private ranges turn it on.
	AllowPrivatePeers bool `yaml:"allow_private_peers"`
}

// DefaultConfig returns the defaults: off; when enabled, UDP port 3479
// (3478 is the super-peer's), relay ports 49152-65535, 10 allocations and
// 1 MiB/s per viewer.
func DefaultConfig() Config {
	return Config{
		Listen:             ":3479",
		RelayPortMin:       49152,
		RelayPortMax:       65535,
		Realm:              "edgeswarm",
		MaxAllocations:     10000,
		ViewerAllocations:  10,
		ViewerBps:          1 << 20,
		ViewerBytes:        4 << 30,
		AllocationLifetime: 10 * time.Minute,
	}
}

// Validate reports the first invalid field, naming its yaml key. The
// relay IP is checked by RelayAddr.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("turn.listen: %q is not host:port: %w", c.Listen, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("turn.listen: bad port %q", port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("turn.listen: host %q is not an IP address", host)
		}
	}
	if c.RelayIP != "" {
		if a, err := netip.ParseAddr(c.RelayIP); err != nil || a.IsUnspecified() {
			return fmt.Errorf("turn.relay_ip: %q is not a concrete IP address", c.RelayIP)
		}
	}
	switch {
	case c.RelayPortMin < 1 || c.RelayPortMin > 65535:
		return fmt.Errorf("turn.relay_port_min: %d, allowed 1..65535", c.RelayPortMin)
	case c.RelayPortMax < c.RelayPortMin || c.RelayPortMax > 65535:
		return fmt.Errorf("turn.relay_port_max: %d, allowed relay_port_min..65535", c.RelayPortMax)
	case c.Realm == "":
		return errors.New("turn.realm: must not be empty")
	case c.MaxAllocations < 1:
		return errors.New("turn.max_allocations: must be at least 1")
	case c.ViewerAllocations < 1:
		return errors.New("turn.viewer_allocations: must be at least 1")
	case c.ViewerBps < 0:
		return errors.New("turn.viewer_bps: must not be negative (0: unlimited)")
	case c.ViewerBytes < 0:
		return errors.New("turn.viewer_bytes: must not be negative (0: unlimited)")
	case c.AllocationLifetime < time.Minute:
		return errors.New("turn.allocation_lifetime: must be at least 1m")
	}
	return nil
}

// RelayAddr returns the relay IP announced to viewers: RelayIP, else
// the host of Listen when it is concrete, else the first of publicIPs.
func (c Config) RelayAddr(publicIPs []string) (netip.Addr, error) {
	if c.RelayIP != "" {
		return netip.ParseAddr(c.RelayIP)
	}
	if host, _, err := net.SplitHostPort(c.Listen); err == nil && host != "" {
		if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
			return a, nil
		}
	}
	if len(publicIPs) > 0 {
		if a, err := netip.ParseAddr(publicIPs[0]); err == nil {
			return a, nil
		}
	}
	return netip.Addr{}, errors.New("turn.relay_ip: required when turn.listen is a wildcard and seeder.public_ips is empty (the address viewers reach relays at)")
}
