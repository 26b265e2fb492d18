package node

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"

	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/turn"
	"github.com/edgeswarm/edgeswarm/wire"
)

// This file wires NAT traversal beyond the built-in STUN (seeder): the
// optional TURN relay and its entry in every welcome.

// setupTURN starts the TURN relay when turn.enabled and lists it in the
// client config's ICE servers, for the hub to mint credentials into. It
// generates scfg.TURNSecret when the operator set none: the node's own
// relay is then the only one that checks it.
func (n *Node) setupTURN(cfg Config, scfg *signal.Config, client *wire.ClientConfig) error {
	if !cfg.TURN.Enabled {
		return nil
	}
	relayIP, err := cfg.TURN.RelayAddr(cfg.Seeder.PublicIPs)
	if err != nil {
		return err
	}
	if scfg.TURNSecret == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		scfg.TURNSecret = hex.EncodeToString(b[:])
		n.log.Info("signal.turn_secret not set: generated one for this process's TURN relay (set it when other relays or nodes check the same credentials)")
	}
	udp, err := net.ListenPacket("udp", cfg.TURN.Listen)
	if err != nil {
		return fmt.Errorf("turn.listen: %w", err)
	}
	if n.turn, err = turn.New(cfg.TURN, scfg.TURNSecret, turn.Options{Log: n.log, Clock: n.now, Registerer: n.metrics.reg, UDP: udp, RelayIP: relayIP}); err != nil {
		_ = udp.Close()
		return err
	}
	port := udp.LocalAddr().(*net.UDPAddr).Port
	if turnServesSTUN(cfg) {
		if e, ok := stunEntry(cfg, udp.LocalAddr(), relayIP.String()); ok {
			client.ICEServers = append(client.ICEServers, e)
		}
	}
	client.ICEServers = append(client.ICEServers, wire.ICEServer{URLs: []string{"turn:" + net.JoinHostPort(relayIP.String(), strconv.Itoa(port)) + "?transport=udp"}})
	return nil
}

// validTURN checks the turn keys and that the relay's address is known.
func validTURN(c *Config) error {
	if !c.TURN.Enabled {
		return nil
	}
	if err := c.TURN.Validate(); err != nil {
		return err
	}
	if _, err := c.TURN.RelayAddr(c.Seeder.PublicIPs); err != nil {
		return err
	}
	if c.SuperPeer && sameUDPPort(c.Seeder.ICEUDP, c.TURN.Listen) {
		return fmt.Errorf("turn.listen: %q is seeder.ice_udp's port; give the relay its own", c.TURN.Listen)
	}
	return validSTUN(c)
}

// sameUDPPort reports whether two host:port UDP addresses would bind the
// same fixed port on a shared address.
func sameUDPPort(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { ip := net.ParseIP(h); return h == "" || (ip != nil && ip.IsUnspecified()) }
	return ha == hb || wild(ha) || wild(hb)
}
