package seeder

import (
	"cmp"
	"slices"
)

// pickPushTargets chooses up to k viewers to push segment seq to, among
// those that take pushes and do not hold it yet. Well-connected uploaders
// come first: the least backlog (an idle connection starts at once), then
// the best measured throughput, then the oldest connection (the most
// likely to stay).
func pickPushTargets(peers []*peer, seq uint64, k int) []*peer {
	var cands []pushScore
	for _, p := range peers {
		if p.pushable() && !p.has(seq) {
			cands = append(cands, p.score())
		}
	}
	rankPushTargets(cands)
	out := make([]*peer, 0, min(k, len(cands)))
	for _, c := range cands[:min(k, len(cands))] {
		out = append(out, c.p)
	}
	return out
}

// rankPushTargets sorts candidates best first.
func rankPushTargets(c []pushScore) {
	slices.SortStableFunc(c, func(a, b pushScore) int {
		if r := cmp.Compare(a.queued, b.queued); r != 0 {
			return r
		}
		if r := cmp.Compare(b.throughput, a.throughput); r != 0 {
			return r
		}
		return a.started.Compare(b.started)
	})
}
