package natsbus

import (
	"encoding/json"
	"hash/fnv"
	"sync"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Digests are shared once per segment for the whole cluster, even when
// several nodes hash the same segment at once (each filled it from the
// origin for its own viewers): the nodes rank themselves for each segment
// by a hash of the node id and the segment's key, the same order on every
// node. The first shares at once; the one after it waits digestStep and
// shares only if the digest has not reached it from the bus meanwhile, the
// third waits twice that, and so on up to maxDigestSteps. A node that
// hashes a segment no other node hashed shares it at most
// maxDigestSteps*digestStep late (nodes ranked beyond it may then both
// share it, if none before them hashed it). Options.DigestStep overrides
// digestStep.
const (
	digestStep     = 100 * time.Millisecond
	maxDigestSteps = 3
)

// heardKept bounds the digest keys remembered as shared or heard.
const heardKept = 1 << 13

type heldDigest struct {
	at    time.Time
	swarm string
	d     wire.SegmentDigest
}

// digests is the bus's record of the digests shared or heard recently and
// of those it holds back. Its own mutex: ShareDigest is called by the hub,
// the heard digests by the dispatcher.
type digests struct {
	mu    sync.Mutex
	heard map[string]struct{}
	ring  []string // heard's keys, oldest first
	held  []heldDigest
	wake  chan struct{}
}

func newDigests() *digests {
	return &digests{heard: make(map[string]struct{}), wake: make(chan struct{}, 1)}
}

func digestKey(swarm, key string) string { return swarm + "\x00" + key }

// markLocked records k as shared or heard; it reports whether it was new.
func (g *digests) markLocked(k string) bool {
	if _, ok := g.heard[k]; ok {
		return false
	}
	g.heard[k] = struct{}{}
	g.ring = append(g.ring, k)
	if len(g.ring) > heardKept {
		delete(g.heard, g.ring[0])
		g.ring[0] = ""
		g.ring = g.ring[1:]
	}
	return true
}

// heardDigest records a digest another node shared.
func (b *Bus) heardDigest(swarm, key string) {
	b.dig.mu.Lock()
	b.dig.markLocked(digestKey(swarm, key))
	b.dig.mu.Unlock()
}

// digestRank is this node's place among the nodes it sees in sharing
// the digest of key: 0 first.
func (b *Bus) digestRank(key string) int {
	score := func(node string) uint64 {
		h := fnv.New64a()
		_, _ = h.Write([]byte(node))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(key))
		return h.Sum64()
	}
	mine := score(b.id)
	b.loopMu.Lock()
	defer b.loopMu.Unlock()
	rank := 0
	for id := range b.nodes {
		if s := score(id); s > mine || s == mine && id > b.id {
			rank++
		}
	}
	return min(rank, maxDigestSteps)
}

// ShareDigest implements signal.Cluster.
func (b *Bus) ShareDigest(swarm string, d wire.SegmentDigest) {
	if b.nc == nil {
		return
	}
	rank := b.digestRank(d.Key)
	k := digestKey(swarm, d.Key)
	b.dig.mu.Lock()
	if _, ok := b.dig.heard[k]; ok {
		b.dig.mu.Unlock()
		b.met.digestsWithheld.Inc()
		return
	}
	if rank > 0 {
		b.dig.held = append(b.dig.held, heldDigest{at: time.Now().Add(time.Duration(rank) * b.opt.DigestStep), swarm: swarm, d: d})
		b.dig.mu.Unlock()
		select {
		case b.dig.wake <- struct{}{}:
		default:
		}
		return
	}
	b.dig.markLocked(k)
	b.dig.mu.Unlock()
	b.publishDigest(swarm, d)
}

func (b *Bus) publishDigest(swarm string, d wire.SegmentDigest) {
	data, err := json.Marshal(&digestMsg{Node: b.id, Swarm: swarm, Digest: d})
	if err != nil {
		return
	}
	b.send(b.subject("bc", "digest"), kindDigest, data)
}

// digestLoop shares the held digests that no other node shared in time.
func (b *Bus) digestLoop() {
	defer b.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		b.dig.mu.Lock()
		now := time.Now()
		var due []heldDigest
		next := time.Duration(-1)
		keep := b.dig.held[:0]
		for _, h := range b.dig.held {
			switch {
			case !h.at.After(now):
				if b.dig.markLocked(digestKey(h.swarm, h.d.Key)) {
					due = append(due, h)
				} else {
					b.met.digestsWithheld.Inc()
				}
			default:
				keep = append(keep, h)
				if w := h.at.Sub(now); next < 0 || w < next {
					next = w
				}
			}
		}
		clear(b.dig.held[len(keep):])
		b.dig.held = keep
		b.dig.mu.Unlock()
		for _, h := range due {
			b.publishDigest(h.swarm, h.d)
		}
		if next < 0 {
			next = time.Hour
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
		select {
		case <-t.C:
		case <-b.dig.wake:
		case <-b.quit:
			return
		}
	}
}
