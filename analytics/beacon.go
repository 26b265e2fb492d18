package analytics

import (
	"errors"
	"net/netip"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

// beaconState remembers, per beacon session, the last accepted report,
// and per source address a token bucket. Both live for three intervals
// after their last use; Sweep forgets them. Guarded by Analytics.mu.
type beaconState struct {
	sessions map[sessionKey]*beaconSession
	sources  map[netip.Addr]*bucket
}

type sessionKey struct {
	addr netip.Addr
	id   string
}

type beaconSession struct {
	last wire.Stats
	at   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func (b *beaconState) init() {
	b.sessions = make(map[sessionKey]*beaconSession)
	b.sources = make(map[netip.Addr]*bucket)
}

// BeaconError is why a beacon was dropped; Status is the HTTP status to
// answer with.
type BeaconError struct {
	Status int
	Reason string // the label of edgeswarm_telemetry_dropped_total
	Msg    string
}

func (e *BeaconError) Error() string { return e.Msg }

func (a *Analytics) drop(status int, reason, msg string) error {
	a.met.dropped[reason].Inc()
	return &BeaconError{Status: status, Reason: reason, Msg: msg}
}

// Beacon takes one beacon body from a viewer at addr (its source address;
// IPv6 addresses count per /64). It returns nil when the report was
// added, else a *BeaconError. The report is treated as a claim: P2P
// counters count as 0 (no verified P2P without signaling), and it is
// compared with the session's previous one like the tracker does.
func (a *Analytics) Beacon(addr netip.Addr, body []byte) error {
	if len(body) > wire.MaxBeaconSize {
		return a.drop(413, dropTooLarge, "beacon above 4096 bytes")
	}
	m, err := wire.DecodeFromClient(body)
	if err != nil {
		return a.drop(400, dropMalformed, err.Error())
	}
	st, ok := m.(*wire.Stats)
	if !ok {
		return a.drop(400, dropMalformed, "beacon is a "+string(m.Type())+" message, want stats")
	}
	if err := wire.CheckBeacon(st); err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			return a.drop(400, dropMalformed, we.Error())
		}
		return a.drop(400, dropMalformed, err.Error())
	}
	st.P2PBytes, st.SeedBytes, st.RelayBytes, st.UploadBytes, st.Peers = 0, 0, 0, 0, 0
	if st.Group != wire.GroupHoldback {
		st.Group = wire.GroupHTTP
	}
	addr = sourceOf(addr)
	now := a.now()

	a.mu.Lock()
	if a.cfg.BeaconSessions == 0 {
		a.mu.Unlock()
		return a.drop(503, dropFull, "beacons are off (analytics.beacon_sessions is 0)")
	}
	b := &a.beacons
	src := b.sources[addr]
	rate := a.cfg.BeaconsPerInterval / a.cfg.Interval.Seconds()
	burst := 2 * a.cfg.BeaconsPerInterval
	if src == nil {
		if len(b.sources) >= a.cfg.BeaconSessions {
			a.mu.Unlock()
			return a.drop(503, dropFull, "too many beacon sources; try later")
		}
		src = &bucket{tokens: burst, at: now}
		b.sources[addr] = src
	}
	src.tokens = min(burst, src.tokens+max(now.Sub(src.at).Seconds(), 0)*rate)
	src.at = now
	if src.tokens < 1 {
		a.mu.Unlock()
		return a.drop(429, dropRateLimited, "too many beacons from this address")
	}
	src.tokens--
	key := sessionKey{addr: addr, id: st.Session}
	s := b.sessions[key]
	var prev wire.Stats
	if s == nil {
		if len(b.sessions) >= a.cfg.BeaconSessions {
			a.mu.Unlock()
			return a.drop(503, dropFull, "too many beacon sessions; try later")
		}
		s = &beaconSession{}
		b.sessions[key] = s
		// A new session may carry what it played before its first
		// beacon: at most one interval of time and bytes.
		s.at = now.Add(-a.cfg.Interval)
	} else {
		prev = s.last
	}
	if reason := a.checkBeacon(&prev, st, now.Sub(s.at)); reason != "" {
		a.mu.Unlock()
		if reason == dropRegression {
			return a.drop(400, reason, "a counter decreased within the session")
		}
		return a.drop(400, reason, "counters grew faster than plausible")
	}
	s.last, s.at = *st, now
	a.mu.Unlock()
	a.observe(st.Swarm, &prev, st, ViaBeacon)
	return nil
}

// checkBeacon returns why cur cannot follow prev after el, or "".
func (a *Analytics) checkBeacon(prev, cur *wire.Stats, el time.Duration) string {
	if cur.HTTPBytes < prev.HTTPBytes || cur.Stalls < prev.Stalls || cur.StallMs < prev.StallMs || cur.WatchMs < prev.WatchMs ||
		(prev.StartupMs != 0 && cur.StartupMs != prev.StartupMs) {
		return dropRegression
	}
	el = max(el, 0) + time.Second
	if float64(cur.HTTPBytes-prev.HTTPBytes) > float64(a.cfg.MaxRate)*el.Seconds() {
		return dropOverRate
	}
	if time.Duration(cur.WatchMs-prev.WatchMs+cur.StallMs-prev.StallMs)*time.Millisecond > el+a.cfg.Interval {
		return dropOverRate
	}
	return ""
}

// sourceOf is the address beacons are limited by: IPv4 as is, IPv6 by /64.
func sourceOf(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// Sweep forgets beacon sessions and sources unused for three intervals.
// The node calls it about once a second.
func (a *Analytics) Sweep() {
	cut := a.now().Add(-3 * a.cfg.Interval)
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, s := range a.beacons.sessions {
		if s.at.Before(cut) {
			delete(a.beacons.sessions, k)
		}
	}
	for k, b := range a.beacons.sources {
		if b.at.Before(cut) {
			delete(a.beacons.sources, k)
		}
	}
}
