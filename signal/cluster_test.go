package signal

import (
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/edgeswarm/edgeswarm/wire"
)

// fakeCluster is a Cluster whose other nodes are the test: it records
// what the hub announces and shares, and what it sends to remote peers.
type fakeCluster struct {
	*localBus
	mu     sync.Mutex
	events []PeerEvent
	shared []wire.SegmentDigest
	remote map[string][]wire.Message // sent to peers of other nodes
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{localBus: newLocalBus(), remote: map[string][]wire.Message{}}
}

func (c *fakeCluster) Announce(e PeerEvent) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

func (c *fakeCluster) ShareDigest(_ string, d wire.SegmentDigest) {
	c.mu.Lock()
	c.shared = append(c.shared, d)
	c.mu.Unlock()
}

func (c *fakeCluster) Deliver(id string, m wire.Message) bool {
	if c.localBus.Deliver(id, m) {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.remote[id]; !ok {
		return false
	}
	c.remote[id] = append(c.remote[id], unwrap(m))
	return true
}

func (c *fakeCluster) addRemote(ids ...string) {
	c.mu.Lock()
	for _, id := range ids {
		c.remote[id] = nil
	}
	c.mu.Unlock()
}

var _ Cluster = (*fakeCluster)(nil)

func TestClusterCandidatesLocalFirstThenRegionThenOthers(t *testing.T) {
	cfg := testConfig()
	cfg.Open = true
	cfg.MaxCandidates = 3
	fc := newFakeCluster()
	h := newHub(t, cfg, Options{Bus: fc})
	const swarm = "/live/low/index.m3u8"
	fc.addRemote("far1", "near1", "leech1")
	h.RemoteJoined("nodeFar", false, PeerEvent{Swarm: swarm, ID: "far1", Source: true})
	h.RemoteJoined("nodeNear", true, PeerEvent{Swarm: swarm, ID: "near1", Source: true})
	h.RemoteJoined("nodeNear", true, PeerEvent{Swarm: swarm, ID: "leech1"}) // not a source: never offered
	src := local(t, h, false)
	srcID := joinLocal(t, src, swarm, "", wire.Caps{Upload: true})

	v := local(t, h, false)
	joinLocal(t, v, swarm, "", wire.Caps{})
	got := peerIDs(recvLocal(t, v))
	if !slices.Equal(got, []string{srcID, "near1", "far1"}) {
		t.Fatalf("candidates %v, want this node's source, then the same region's, then the other", got)
	}

	// The hub announced its two viewers (not as sources when they do not upload).
	fc.mu.Lock()
	ev := slices.Clone(fc.events)
	fc.mu.Unlock()
	if len(ev) != 2 || !ev[0].Source || ev[1].Source || ev[0].Left {
		t.Fatalf("announced %+v", ev)
	}

	// A relay to a remote peer goes to the bus with the sender's id.
	sendLocal(t, v, &wire.Relay{To: "near1", Session: "s1", Kind: wire.KindOffer, SDP: "v=0\r\n"})
	sendLocal(t, v, &wire.Leave{}) // handled after the relay: its departure is announced
	fc.mu.Lock()
	sent := fc.remote["near1"]
	fc.mu.Unlock()
	if len(sent) != 1 || sent[0].(*wire.Relay).From == "" || sent[0].(*wire.Relay).To != "" {
		t.Fatalf("sent to near1: %+v", sent)
	}

	// A remote departure reaches this node's viewers of the swarm.
	h.RemoteLeft(swarm, "far1")
	for {
		if pl, ok := recvLocal(t, src).(*wire.PeerLeft); ok && pl.ID == "far1" {
			break
		}
	}
	if n := h.RemotePeers(); n != 2 {
		t.Errorf("remote peers %d, want 2", n)
	}

	// A digest this node computes is shared once; one from another node
	// is not shared again.
	h.PublishDigest(swarm, digestOf("/live/low/1.ts", 1, 100))
	h.PublishDigest(swarm, digestOf("/live/low/1.ts", 1, 100))
	h.RemoteDigest(swarm, digestOf("/live/low/2.ts", 2, 100))
	fc.mu.Lock()
	shared := len(fc.shared)
	fc.mu.Unlock()
	if shared != 1 {
		t.Errorf("shared %d digests, want 1", shared)
	}
}

func TestClusterSuperPeerIsNotAnnounced(t *testing.T) {
	cfg := testConfig()
	cfg.Open = true
	fc := newFakeCluster()
	h := newHub(t, cfg, Options{Bus: fc})
	sp := local(t, h, true)
	joinLocal(t, sp, "/s.m3u8", "", wire.Caps{Upload: true})
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.events) != 0 {
		t.Fatalf("the super-peer was announced: %+v", fc.events)
	}
}

// TestRemoteSourceReachesStarvedViewers: a source that joined another node
// is pushed to this node's viewers that have fewer than K candidates, the
// least served first, never to those that have K, nor to the super-peer.
func TestRemoteSourceReachesStarvedViewers(t *testing.T) {
	sw := newSwarm("s")
	const k = 3
	add := func(id string, got int, seeder bool) *member {
		m := &member{id: id, sw: sw, got: got, seeder: seeder}
		sw.members[id] = m
		return m
	}
	full := add("full", k, false)
	sp := add("sp", 0, true)
	one := add("one", 1, false)
	zero := add("zero", 0, false)
	got := sw.pickStarvedSample(k)
	if len(got) != 2 || got[0] != zero || got[1] != one {
		t.Fatalf("pushed to %v, want zero then one", got)
	}
	if zero.got != 1 || one.got != 2 || full.got != k || sp.got != 0 {
		t.Fatalf("got counts: zero %d one %d full %d sp %d", zero.got, one.got, full.got, sp.got)
	}
}

// BenchmarkRemoteSourcePush: the work of one source joining another node
// on this one, in a swarm of 2100 viewers that all have their K
// candidates (three nodes holding 42000 viewers in 20 swarms): the full
// scan (pickStarved) beside the bounded sample (pickStarvedSample).
func BenchmarkRemoteSourcePush(b *testing.B) {
	sw := newSwarm("s")
	const k = 10
	for i := range 2100 {
		id := strconv.Itoa(i)
		sw.members[id] = &member{id: id, sw: sw, got: k, source: true}
	}
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			sw.pickStarved(nil, nil, k)
		}
	})
	b.Run("sample", func(b *testing.B) {
		for b.Loop() {
			sw.pickStarvedSample(k)
		}
	})
}
