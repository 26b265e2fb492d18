package node

import (
	"fmt"
	"net"

	"github.com/edgeswarm/edgeswarm/seeder"
	"github.com/edgeswarm/edgeswarm/wire"
)

// This file wires the super-peer's STUN server. It gets a UDP socket of
// its own (seeder.stun_listen), never the ICE UDP port: Chromium hands
// every packet that comes from a configured STUN server's address to its
// STUN client and never to ICE, so a STUN server on the super-peer's ICE
// address would eat the super-peer's connectivity-check answers. When the
// TURN relay listens on the same address, the relay (which answers STUN
// Binding requests itself) is the STUN server and no second socket opens.

// stunActive reports whether the super-peer serves STUN.
func stunActive(c Config) bool {
	return c.SuperPeer && c.Seeder.STUN && c.Seeder.STUNListen != ""
}

// turnServesSTUN reports whether the TURN relay is the STUN server:
// turn.listen is seeder.stun_listen, on a fixed port.
func turnServesSTUN(c Config) bool {
	return c.TURN.Enabled && stunActive(c) && sameUDPAddr(c.TURN.Listen, c.Seeder.STUNListen)
}

// openSTUN opens the STUN socket into opt, unless there is none to open.
func openSTUN(c Config, opt *seeder.Options) (err error) {
	if !stunActive(c) || turnServesSTUN(c) {
		return nil
	}
	if opt.STUN, err = net.ListenPacket("udp", c.Seeder.STUNListen); err != nil {
		return fmt.Errorf("seeder.stun_listen: %w", err)
	}
	return nil
}

// stunEntry is the welcome's entry for a STUN server on addr, ok false
// when its public address is not known. fallback is the host used then
// (the TURN relay's address), or "" for none.
func stunEntry(c Config, addr net.Addr, fallback string) (wire.ICEServer, bool) {
	urls := seeder.STUNURLs(c.Seeder, addr)
	if len(urls) == 0 && fallback != "" {
		if u, ok := addr.(*net.UDPAddr); ok && c.Seeder.STUN {
			urls = []string{"stun:" + net.JoinHostPort(fallback, fmt.Sprint(u.Port))}
		}
	}
	return wire.ICEServer{URLs: urls}, len(urls) > 0
}

// validSTUN checks seeder.stun_listen against turn.listen: the same
// address shares one socket, the same port on another spelling of it
// would not bind.
func validSTUN(c *Config) error {
	if !c.TURN.Enabled || !stunActive(*c) || turnServesSTUN(*c) || !sameUDPPort(c.Seeder.STUNListen, c.TURN.Listen) {
		return nil
	}
	return fmt.Errorf("seeder.stun_listen: %q takes turn.listen's port (%q); set both to one address and the relay answers STUN", c.Seeder.STUNListen, c.TURN.Listen)
}

// sameUDPAddr reports whether two host:port UDP addresses are one fixed
// address (the wildcard in any spelling counts as one).
func sameUDPAddr(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { ip := net.ParseIP(h); return h == "" || (ip != nil && ip.IsUnspecified()) }
	if wild(ha) || wild(hb) {
		return wild(ha) && wild(hb)
	}
	ia, ib := net.ParseIP(ha), net.ParseIP(hb)
	return ia != nil && ia.Equal(ib)
}
