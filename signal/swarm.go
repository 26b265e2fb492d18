package signal

import (
	"container/list"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

// swarm is one rendition's set of peers and its recent digests. Every
// field is guarded by Hub.mu.
type swarm struct {
	name    string
	members map[string]*member
	seeders []*member // super-peers, offered to every viewer
	viewers int       // members that are not seeders

	// Digests, oldest first, at most Config.DigestsKept.
	order   []string
	digests map[string]wire.SegmentDigest
	// published and publishedN count the bytes and segments of every
	// digest ever added; windowBytes the bytes of those still kept. They
	// bound what clients may claim to have received (Hub.stats).
	published, publishedN uint64
	windowBytes           uint64

	// idle is the swarm's element in Hub.idle while it has no members
	// but keeps digests.
	idle *list.Element

	// byAddr holds the viewers of each WebSocket source address
	// (pickSources offers a joining viewer sources of its own address).
	byAddr map[netip.Addr][]*member
}

func newSwarm(name string) *swarm {
	return &swarm{name: name, members: make(map[string]*member), digests: make(map[string]wire.SegmentDigest),
		byAddr: make(map[netip.Addr][]*member)}
}

// addAddr and dropAddr keep byAddr: viewer m joined or left.
func (sw *swarm) addAddr(m *member) {
	if a := m.s.addr; a.IsValid() && !m.seeder {
		sw.byAddr[a] = append(sw.byAddr[a], m)
	}
}

func (sw *swarm) dropAddr(m *member) {
	a := m.s.addr
	l := sw.byAddr[a]
	i := slices.Index(l, m)
	if i < 0 {
		return
	}
	l[i] = l[len(l)-1]
	l[len(l)-1] = nil
	if l = l[:len(l)-1]; len(l) == 0 {
		delete(sw.byAddr, a)
	} else {
		sw.byAddr[a] = l
	}
}

// member is a joined peer. Guarded by Hub.mu.
type member struct {
	id     string
	s      *session
	sw     *swarm
	seeder bool
	// source: the peer uploads and is not mobile, so it may be offered
	// to others.
	source bool
	// offered counts the times the peer was given to others as a
	// candidate; got the candidates it received. Candidate selection
	// prefers the least offered sources and feeds the least served
	// viewers, so that load spreads and nobody is everyone's only source.
	offered, got int
	// ahead is the highest media sequence the peer reported holding:
	// among equally loaded sources, the most advanced is preferred.
	ahead uint64
	// reporters holds, per reporting source, the weight of its believed
	// report against this peer; score is their sum. At
	// Config.ReportThreshold the peer is no longer offered.
	reporters map[reporterKey]float64
	score     float64
	banned    bool
	// linked are the peers this one exchanged an offer and an answer
	// with through the tracker (at most maxLinks): only they can have
	// sent it bytes, so only their reports count.
	linked map[string]struct{}
	detach func()
	stats  wire.Stats
	// pol is the viewer's delivery policy state (policy.go).
	pol viewerPolicy
	// statsAt is when the last stats report was accepted (or the join);
	// availFrom is swarm.published minus the window's bytes at the join,
	// availFromN the same in segments: what the swarm published since,
	// plus the window the client got at its join, bounds its claims.
	statsAt    time.Time
	availFrom  uint64
	availFromN uint64
}

// reporterKey identifies where a report comes from: a WebSocket client's
// source address, or an in-process connection. A client cannot mint new
// ones by leaving and joining again or by opening more connections.
type reporterKey struct {
	addr netip.Addr
	s    *session // in-process connections, which have no address
}

// maxLinks bounds member.linked; it is twice the most connections a
// client keeps (max_peers and the offers it answers beyond it).
const maxLinks = 2 * wire.MaxPeersPerMessage

// link records that a and b connected through the tracker.
func link(a, b *member) {
	for _, p := range [2][2]*member{{a, b}, {b, a}} {
		m, o := p[0], p[1]
		if m.linked == nil {
			m.linked = make(map[string]struct{})
		}
		if len(m.linked) >= maxLinks {
			for id := range m.linked {
				delete(m.linked, id)
				break
			}
		}
		m.linked[o.id] = struct{}{}
	}
}

func (m *member) candidate() bool { return m.source && !m.banned }

// sampleFactor bounds candidate selection work: at most sampleFactor*K
// members are examined per join, whatever the swarm's size. Map iteration
// starts at a random place, which makes the sample vary between joins.
const sampleFactor = 4

// pickSources returns up to k sources for p, least offered first, and
// counts the offers. Up to half of them (sameAddrShare) are sources that
// joined from p's own source address, when there are such: viewers behind
// one NAT reach each other over their LAN (host candidates) whatever the
// NAT, where a symmetric NAT keeps them from every viewer elsewhere. In a
// large swarm a random sample would hold almost none of them.
func (sw *swarm) pickSources(p *member, k int) []*member {
	var local []*member
	if l := sw.byAddr[p.s.addr]; p.s.addr.IsValid() && len(l) > 1 {
		// A bounded sample from a random place, as the map's below: at
		// most sampleFactor*k entries are examined, however many of the
		// address's viewers are no sources.
		at := rand.IntN(len(l))
		for i := range min(len(l), sampleFactor*k) {
			if m := l[(at+i)%len(l)]; m != p && m.candidate() {
				local = append(local, m)
			}
		}
	}
	sortSources(local)
	local = local[:min(len(local), sameAddrShare(k))]
	pool := make([]*member, 0, min(len(sw.members), sampleFactor*k))
	for _, m := range sw.members {
		if m == p || m.seeder || !m.candidate() || slices.Contains(local, m) {
			continue
		}
		pool = append(pool, m)
		if len(pool) == cap(pool) {
			break
		}
	}
	sortSources(pool)
	pool = append(local, pool[:min(len(pool), k-len(local))]...)
	for _, m := range pool {
		m.offered++
	}
	p.got += len(pool)
	return pool
}

// sameAddrShare is how many of k candidates pickSources may take from the
// joining viewer's own address: half, so that a shared address that is not
// one LAN (a carrier NAT, a proxy in front of the node) still leaves the
// other half to the swarm at large.
func sameAddrShare(k int) int { return min(k, max(1, k/2)) }

// sortSources orders sources least offered first, then most advanced.
func sortSources(pool []*member) {
	slices.SortFunc(pool, func(a, b *member) int {
		if a.offered != b.offered {
			return a.offered - b.offered
		}
		switch {
		case a.ahead > b.ahead:
			return -1
		case a.ahead < b.ahead:
			return 1
		}
		return 0
	})
}

// pickStarved returns up to k viewers, other than p and those in skip,
// that received fewer than k candidates, least served first: the peers a
// new source p is pushed to. p is nil for a source on another node.
func (sw *swarm) pickStarved(p *member, skip []*member, k int) []*member {
	pool := make([]*member, 0, min(len(sw.members), sampleFactor*k))
	for _, m := range sw.members {
		if m == p || m.seeder || m.got >= k || slices.Contains(skip, m) {
			continue
		}
		pool = append(pool, m)
		if len(pool) == cap(pool) {
			break
		}
	}
	slices.SortFunc(pool, func(a, b *member) int { return a.got - b.got })
	pool = pool[:min(len(pool), k)]
	for _, m := range pool {
		m.got++
	}
	if p != nil {
		p.offered += len(pool)
	}
	return pool
}

// addDigest stores d unless its key is known (a digest never changes),
// dropping the oldest beyond keep. It reports whether d is new.
func (sw *swarm) addDigest(d wire.SegmentDigest, keep int) bool {
	if _, ok := sw.digests[d.Key]; ok {
		return false
	}
	sw.digests[d.Key] = d
	sw.order = append(sw.order, d.Key)
	sw.published += d.Size
	sw.publishedN++
	sw.windowBytes += d.Size
	for len(sw.order) > keep {
		sw.windowBytes -= sw.digests[sw.order[0]].Size
		delete(sw.digests, sw.order[0])
		sw.order[0] = ""
		sw.order = sw.order[1:]
	}
	return true
}

// window returns the stored digests, oldest first.
func (sw *swarm) window() []wire.SegmentDigest {
	out := make([]wire.SegmentDigest, 0, len(sw.order))
	for _, k := range sw.order {
		out = append(out, sw.digests[k])
	}
	return out
}

// digestOverhead bounds the encoding of one segment digest besides its
// key: {"key":"","seq":9007199254740991,"size":4294967295,"sha256":"<64>"},
const digestOverhead = 128

// digestBatches splits ds into digest messages that respect both
// MaxDigestsPerMessage and MaxMessageSize. A key's encoding is at most
// twice its length (only '"', '\\', U+2028 and U+2029 are escaped).
func digestBatches(ds []wire.SegmentDigest) []*wire.Digest {
	var out []*wire.Digest
	var cur *wire.Digest
	size := 0
	const budget = wire.MaxMessageSize - 64
	for _, d := range ds {
		n := 2*len(d.Key) + digestOverhead
		if cur == nil || len(cur.Segments) == wire.MaxDigestsPerMessage || size+n > budget {
			cur = &wire.Digest{}
			out = append(out, cur)
			size = 0
		}
		cur.Segments = append(cur.Segments, d)
		size += n
	}
	return out
}
