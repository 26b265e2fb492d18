package testpeer

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
