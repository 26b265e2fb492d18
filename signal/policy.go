package signal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

// This file holds what the node's control side asks of the tracker: the
// delivery policy of each viewer (sent after its welcome, and again when
// the policies change), the client config of new joins, and a read-only
// view of swarms and peers.

// Policy decides a viewer's delivery policy; the node's control package
// implements it. Decide returns the policy for a viewer of swarm on a
// mobile device or not (its Revision set, Holdback left false), and the
// share of joins to hold back as an HTTP-only control group.
type Policy interface {
	Decide(swarm string, mobile bool) (p wire.Policy, holdback float64)
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(swarm string, mobile bool) (wire.Policy, float64)

// Decide implements Policy.
func (f PolicyFunc) Decide(swarm string, mobile bool) (wire.Policy, float64) { return f(swarm, mobile) }

// ViewerPolicy is a Policy that also weighs what the viewer's join asked
// for: whether its page wants it to upload (caps.upload), which spares a
// mobile viewer the download-only default. The hub uses it when its
// Policy implements it.
type ViewerPolicy interface {
	Policy
	DecideViewer(swarm string, mobile, upload bool) (p wire.Policy, holdback float64)
}

// viewerPolicy is the policy state of one member. Guarded by Hub.mu.
type viewerPolicy struct {
	mobile   bool // the join's caps.mobile
	upload   bool // the join's caps.upload
	holdback bool // chosen at the join for the control group
	sent     *wire.Policy
}

// SetPolicy installs p (nil: none, every viewer gets no policy message)
// and sends every joined viewer whose policy changed its new one; new
// joins get theirs after their welcome. Viewers held back stay held back
// for their join.
func (h *Hub) SetPolicy(p Policy) {
	type out struct {
		s   *session
		msg *wire.Policy
	}
	var send []out
	h.mu.Lock()
	h.policy = p
	for _, sw := range h.swarms {
		for _, m := range sw.members {
			if m.seeder || p == nil {
				continue
			}
			next := h.decideLocked(m)
			if m.pol.sent != nil && samePolicy(m.pol.sent, next) {
				continue
			}
			m.pol.sent = next
			m.source = sourceOf(&m.pol, next)
			send = append(send, out{m.s, next})
		}
	}
	h.mu.Unlock()
	for _, o := range send {
		o.s.Put(o.msg)
	}
}

// SetClientConfig replaces the configuration sent in the welcome of new
// joins (a reload of ice servers); joined viewers keep theirs.
func (h *Hub) SetClientConfig(c wire.ClientConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.ICEServers = slices.Clone(c.ICEServers)
	c.Keys.Rewrites = slices.Clone(c.Keys.Rewrites)
	h.mu.Lock()
	h.client = c
	h.mu.Unlock()
	return nil
}

// SetICEServers replaces the configured ICE servers (signal.ice_servers)
// of every later welcome, a reload; the node's own STUN and TURN stay
// first. Joined viewers keep the servers they got. servers are checked
// as at start, against the hub's turn_secret, and the error names the key.
func (h *Hub) SetICEServers(servers []ICEServer) error {
	h.mu.Lock()
	cfg := h.cfg
	h.mu.Unlock()
	cfg.ICEServers = servers
	for _, c := range cfg.iceChecks() {
		if c.bad {
			return fmt.Errorf("signal.%s: %s", c.key, c.msg)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.client
	list := slices.Clone(c.ICEServers[:h.ownICE])
	for _, s := range servers {
		list = append(list, wire.ICEServer{URLs: slices.Clone(s.URLs), Username: s.Username, Credential: s.Credential})
	}
	c.ICEServers = list
	if err := c.Validate(); err != nil {
		return fmt.Errorf("signal.ice_servers: %w", err)
	}
	h.client = c
	return nil
}

// SetTickets replaces the ticket secret and TTL (a reload). Tickets
// signed with the previous secret still admit joins for one previous TTL,
// so that viewers reconnecting with a ticket they just got are not
// refused. It fails for a hub whose swarms are open.
func (h *Hub) SetTickets(secret string, ttl time.Duration) error {
	if h.tickets == nil {
		return errors.New("signal.open: swarms are open; tickets cannot be configured without a restart")
	}
	c := h.cfg
	c.TicketSecret, c.TicketTTL = secret, ttl
	if err := c.Validate(); err != nil {
		return err
	}
	h.tickets.rekey([]byte(secret), ttl, h.now())
	return nil
}

// joinPolicyLocked decides a joining viewer's policy: whether it is held
// back (at random, with the policy's share) and the policy message that
// follows its welcome (nil without a Policy). It sets m's source flag.
func (h *Hub) joinPolicyLocked(m *member, caps wire.Caps) *wire.Policy {
	m.pol = viewerPolicy{mobile: caps.Mobile, upload: caps.Upload}
	if h.policy == nil || m.seeder {
		return nil
	}
	_, frac := h.policy.Decide(m.sw.name, caps.Mobile)
	m.pol.holdback = frac > 0 && rand.Float64() < frac
	p := h.decideLocked(m)
	m.pol.sent = p
	m.source = sourceOf(&m.pol, p)
	return p
}

func (h *Hub) decideLocked(m *member) *wire.Policy {
	var p wire.Policy
	if vp, ok := h.policy.(ViewerPolicy); ok {
		p, _ = vp.DecideViewer(m.sw.name, m.pol.mobile, m.pol.upload)
	} else {
		p, _ = h.policy.Decide(m.sw.name, m.pol.mobile)
	}
	p.Holdback = m.pol.holdback
	return &p
}

// sourceOf says whether a viewer may be offered to others as a source:
// it uploads (a mobile viewer whose policy lets it upload counts as one:
// its client follows the policy) and its policy has it exchange with
// viewers.
func sourceOf(v *viewerPolicy, p *wire.Policy) bool {
	if p.NoViewerP2P() || p.UploadOff {
		return false
	}
	return v.upload || v.mobile
}

func samePolicy(a, b *wire.Policy) bool {
	x, y := *a, *b
	x.Revision, y.Revision = 0, 0
	if (x.CriticalMs == nil) != (y.CriticalMs == nil) || (x.CriticalMs != nil && *x.CriticalMs != *y.CriticalMs) {
		return false
	}
	x.CriticalMs, y.CriticalMs = nil, nil
	return x == y
}

// SwarmInfo describes a swarm with members on this hub.
type SwarmInfo struct {
	Name       string
	Viewers    int
	SuperPeers int
}

// PeerInfo describes one member of a swarm.
type PeerInfo struct {
	ID       string
	Seeder   bool
	Mobile   bool
	Source   bool // offered to others as a source
	Holdback bool
	// HTTPOnly: its policy has it fetch everything over HTTP.
	HTTPOnly bool
	// Stats are its last accepted stats report.
	Stats wire.Stats
	// Addr is its source address (invalid in process).
	Addr netip.Addr
}

// Swarms lists the swarms that have members, by name.
func (h *Hub) Swarms() []SwarmInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]SwarmInfo, 0, h.active)
	for _, sw := range h.swarms {
		if len(sw.members) == 0 {
			continue
		}
		out = append(out, SwarmInfo{Name: sw.name, Viewers: sw.viewers, SuperPeers: len(sw.seeders)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Peers lists a swarm's members by id; ok is false when it has none.
func (h *Hub) Peers(swarm string) (peers []PeerInfo, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sw := h.swarms[swarm]
	if sw == nil || len(sw.members) == 0 {
		return nil, false
	}
	for _, m := range sw.members {
		pi := PeerInfo{ID: m.id, Seeder: m.seeder, Mobile: m.pol.mobile, Source: m.source, Holdback: m.pol.holdback, Stats: m.stats, Addr: m.s.addr}
		if m.pol.sent != nil {
			pi.HTTPOnly = m.pol.sent.HTTPOnly || m.pol.sent.Holdback
		}
		peers = append(peers, pi)
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].ID < peers[j].ID })
	return peers, true
}
