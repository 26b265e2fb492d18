package signal

import (
	"slices"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Cluster is a Bus that spans nodes (package signal/natsbus implements it
// over NATS). Besides delivering messages to peers wherever they are
// connected, it carries what the other nodes need to know of this hub's
// swarms: which viewers joined and left, and the digests of the segments
// this node hashed. What the other nodes announce comes back through the
// hub's Remote* methods.
type Cluster interface {
	Bus
	// Announce tells the other nodes that a viewer of this hub joined or
	// left a swarm. It is called with the hub's lock held, in the order
	// of the membership changes, and must not block or call the hub.
	Announce(e PeerEvent)
	// ShareDigest publishes a digest this node computed to the other
	// nodes. It is called without the hub's lock, once per new digest.
	ShareDigest(swarm string, d wire.SegmentDigest)
}

// PeerEvent is a change of a swarm's membership.
type PeerEvent struct {
	Swarm string `json:"swarm"`
	ID    string `json:"id"`
	// Source: the peer uploads and is not mobile, so that other nodes
	// may offer it to their viewers.
	Source bool `json:"source,omitempty"`
	// Left: the peer left the swarm; otherwise it joined.
	Left bool `json:"left,omitempty"`
}

// remotePeer is a viewer connected to another node of the cluster, as
// this hub knows it. Guarded by Hub.mu.
type remotePeer struct {
	id      string
	node    string
	near    bool // in this node's region
	source  bool
	offered int
}

// RemoteJoined records that node announced a viewer in swarm; near says
// the node is in this node's region. Viewers of this hub that have few
// candidates are offered the new peer when it is a source.
func (h *Hub) RemoteJoined(node string, near bool, e PeerEvent) {
	h.mu.Lock()
	if h.closing || h.byID[e.ID] != nil {
		h.mu.Unlock()
		return
	}
	rs := h.remote[e.Swarm]
	if rs == nil {
		rs = make(map[string]*remotePeer)
		h.remote[e.Swarm] = rs
	}
	if rs[e.ID] != nil {
		h.mu.Unlock()
		return
	}
	r := &remotePeer{id: e.ID, node: node, near: near, source: e.Source}
	rs[e.ID] = r
	h.remotes++
	var pushTo []string
	if sw := h.swarms[e.Swarm]; sw != nil && r.source {
		k := h.cfg.MaxCandidates
		for _, m := range sw.pickStarvedSample(k) {
			pushTo = append(pushTo, m.id)
		}
		r.offered += len(pushTo)
	}
	h.mu.Unlock()
	if len(pushTo) == 0 {
		return
	}
	msg, err := share(&wire.Peers{Peers: []wire.PeerInfo{{ID: e.ID}}})
	if err != nil {
		return
	}
	for _, id := range pushTo {
		h.bus.Deliver(id, msg)
	}
}

// remoteScanFactor bounds the members examined for a source that joined
// another node: remoteScanFactor*sampleFactor*K, from a random place.
// Every join of a cluster reaches every node, so a full scan would cost
// each node O(swarm) per join anywhere (a quarter of a node's CPU in a
// join storm on three nodes holding 42000 viewers, most of it here). A
// starved viewer the sample misses is in the next one's.
const remoteScanFactor = 4

// pickStarvedSample is pickStarved for a source on another node (none to
// skip), examining a bounded sample of the swarm.
func (sw *swarm) pickStarvedSample(k int) []*member {
	pool := make([]*member, 0, min(len(sw.members), sampleFactor*k))
	examined := 0
	for _, m := range sw.members {
		if examined++; examined > remoteScanFactor*sampleFactor*k {
			break
		}
		if m.seeder || m.got >= k {
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
	return pool
}

// RemoteLeft records that a viewer of another node left swarm; this hub's
// viewers of the swarm are told.
func (h *Hub) RemoteLeft(swarm, id string) {
	h.mu.Lock()
	rs := h.remote[swarm]
	if rs == nil || rs[id] == nil {
		h.mu.Unlock()
		return
	}
	delete(rs, id)
	h.remotes--
	if len(rs) == 0 {
		delete(h.remote, swarm)
	}
	var to []string
	if sw := h.swarms[swarm]; sw != nil {
		to = memberIDs(sw, nil)
	}
	h.mu.Unlock()
	if len(to) == 0 {
		return
	}
	msg, err := share(&wire.PeerLeft{ID: id})
	if err != nil {
		return
	}
	for _, m := range to {
		h.bus.Deliver(m, msg)
	}
}

// RemoteDigest adds a digest another node computed to swarm, as if this
// node had published it, without sharing it again.
func (h *Hub) RemoteDigest(swarm string, d wire.SegmentDigest) {
	h.publishDigest(swarm, d, false)
}

// RemotePeers returns how many viewers of other nodes this hub knows.
func (h *Hub) RemotePeers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.remotes
}

// pickRemote returns up to k remote sources of swarm for a joining
// viewer, those in this node's region first, least offered first, and
// counts the offers. The caller holds h.mu.
func (h *Hub) pickRemoteLocked(swarm string, k int) []*remotePeer {
	rs := h.remote[swarm]
	if k <= 0 || len(rs) == 0 {
		return nil
	}
	pool := make([]*remotePeer, 0, min(len(rs), sampleFactor*k))
	for _, r := range rs {
		if !r.source {
			continue
		}
		pool = append(pool, r)
		if len(pool) == cap(pool) {
			break
		}
	}
	slices.SortFunc(pool, func(a, b *remotePeer) int {
		if a.near != b.near {
			if a.near {
				return -1
			}
			return 1
		}
		return a.offered - b.offered
	})
	pool = pool[:min(len(pool), k)]
	for _, r := range pool {
		r.offered++
	}
	return pool
}

// announceLocked tells the cluster, if any, of a viewer's join or
// departure. The caller holds h.mu.
func (h *Hub) announceLocked(m *member, left bool) {
	if h.cluster == nil || m.seeder {
		// A node's super-peer seeds its own viewers only.
		return
	}
	h.cluster.Announce(PeerEvent{Swarm: m.sw.name, ID: m.id, Source: m.source, Left: left})
}

// Encoded returns the JSON encoding of a message the hub handed to a
// bus, reusing the bytes of one it encoded once for many recipients.
func Encoded(m wire.Message) ([]byte, error) {
	if s, ok := m.(*shared); ok {
		return s.json, nil
	}
	return wire.Encode(m)
}
