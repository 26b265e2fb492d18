package node

import (
	"encoding/hex"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/wire"
)

// onManifest publishes, for a DASH manifest that was filled, the digests
// of the segments already cached in each of its swarms (one per
// Representation), init segments included, and for a live manifest fetches
// the newest segments of the swarms with viewers, as onFill does for a
// media playlist.
func (n *Node) onManifest(fi cache.FillInfo, swarms []string) {
	for _, sw := range swarms {
		keys, seq := n.cache.MediaOf(sw)
		if fi.Kind == cache.KindLivePlaylist {
			n.prefetchLiveEdge(fi, sw, keys)
		}
		for i, k := range keys {
			if e, ok := n.cache.PeekContent(k); ok && e.Status() == 200 {
				if sum, ok := e.Digest(); ok {
					n.publish(sw, k, seq+uint64(i), int(e.Size()), sum, false)
				}
			}
		}
		for _, k := range n.cache.InitOf(sw) {
			if e, ok := n.cache.PeekContent(k); ok && e.Status() == 200 {
				if sum, ok := e.Digest(); ok {
					n.publishInit(sw, k, int(e.Size()), sum)
				}
			}
		}
	}
}

// publishInit publishes the digest of an init segment: it has no sequence
// number, so peers ask for it by key; the super-peer does not push it.
func (n *Node) publishInit(swarm, key string, size int, sum [32]byte) {
	if size <= 0 {
		return
	}
	n.hub.PublishDigest(swarm, wire.SegmentDigest{Key: key, Size: uint64(size), SHA256: hex.EncodeToString(sum[:])})
}
