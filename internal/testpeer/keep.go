package testpeer

import (
	"crypto/sha256"
	"encoding/hex"
)

// Keep holds segment seq, which the viewer got elsewhere (over HTTP), for
// the other peers, as the browser client keeps what its player loaded. It
// must match the digest of seq, which must be known; its bytes count in no
// source. The peers it is connected to get the new have-map. It reports
// whether the segment is now held.
func (p *Peer) Keep(seq uint64, b []byte) bool {
	p.mu.Lock()
	d, ok := p.bySeq[seq]
	held := ok && p.held[d.Key] != nil
	p.mu.Unlock()
	if !ok || held {
		return held
	}
	sum := sha256.Sum256(b)
	if uint64(len(b)) != d.Size || hex.EncodeToString(sum[:]) != d.SHA256 {
		return false
	}
	p.mu.Lock()
	if p.held[d.Key] == nil {
		p.held[d.Key] = &segment{d: d, data: b}
	}
	links := make([]*link, 0, len(p.conns))
	for _, l := range p.conns {
		links = append(links, l)
	}
	p.notify()
	p.mu.Unlock()
	for _, l := range links {
		if l.isReady() {
			l.sendHave()
		}
	}
	return true
}

// ViewerHolders is Holders without the super-peers: the viewers to ask,
// as the browser client never asks the node's super-peer (it pushes).
func (p *Peer) ViewerHolders(seq uint64) []string {
	ids := p.Holders(seq)
	p.mu.Lock()
	defer p.mu.Unlock()
	out := ids[:0]
	for _, id := range ids {
		if !p.seeders[id] {
			out = append(out, id)
		}
	}
	return out
}
