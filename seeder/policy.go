package seeder

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

// pickPushTargets chooses up to k viewers to push segment seq to, among
// those that take pushes, do not hold it yet and are past their start-up
// grace at now (peer.starting: a starting player gets its first
// segments over HTTP undisturbed). The least backlog comes
// first (an idle connection starts at once), then the viewer whose turn
// is oldest (the longest since its last push, a viewer never pushed
// counting from when it connected), then the best measured throughput,
// then the oldest connection (the most likely to stay). Taking turns
// spreads the first copies over the viewers' uplinks: every viewer asks
// the pushed one, and always pushing to the same viewer made its uplink
// the swarm's (the swarm bench behind 0.8 Mbit/s uplinks), while a viewer
// that just joined is busy starting and waits for its turn.
func pickPushTargets(peers []*peer, seq uint64, k int, now time.Time) []*peer {
	var cands []pushScore
	for _, p := range peers {
		if p.pushable() && !p.has(seq) && !p.starting(now) {
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
		if r := a.turn.Compare(b.turn); r != 0 {
			return r
		}
		if r := cmp.Compare(b.throughput, a.throughput); r != 0 {
			return r
		}
		return a.started.Compare(b.started)
	})
}

// pushPolicy decides, per swarm, how many copies of each new live segment
// the super-peer pushes, and when a viewer that arrives late gets the
// live edge pushed. It adapts to what the seeder observes of the swarm:
//
//   - the download-only share: viewers that do not upload (mobile ones)
//     take from the swarm and give nothing back, so each uploader must
//     pass a segment to more viewers, and it spreads more slowly. The
//     base number of copies grows with viewers/uploaders: one copy per
//     viewersPerPush viewers when all upload, four times as many when
//     half do not.
//   - how fast a pushed segment spreads: the time until half the
//     uploaders hold it (their have-maps say so), against the time
//     between live segments. Slower than half an interval (or not done
//     when the next segment comes) adds a copy for the next segments;
//     faster than an eighth takes an added one back. Added copies never
//     go past push_k.
//   - a viewer that becomes ready just after a fill: when its first
//     have-map arrives while the live edge is younger than half an
//     interval, fewer than half the uploaders hold it and it has not
//     reached the copies the policy wanted for it (fewer uploaders were
//     connected at the fill), the swarm has not got it to pass on yet,
//     and the viewer would fetch it over HTTP; the super-peer pushes it
//     the live edge (a catch-up push). In a flash crowd every joiner finds
//     the edge held by few, and pushing to each would make the super-peer
//     the swarm's source: catch-ups only make up the copies the fill
//     could not place.
//   - whether a pushed copy lands first: a push is worth something when
//     the pushed viewer holds the segment before the swarm does, so that
//     others can take it from it. When, before the first pushed copy is
//     announced, lateEarly or more other uploaders already announced the
//     segment, they fetched it over HTTP the moment their playlists
//     listed it: the viewers play so close to live (hls.js
//     liveSyncDurationCount 1) that nobody waits for a copy, the swarm
//     starts from its own HTTP copies, and the pushed ones are seed bytes
//     that lower no HTTP fetch but the pushed viewer's (some land after
//     the viewer fetched the segment itself). After two such segments in
//     a row the policy pushes nothing for pausePushes segments (no
//     catch-ups either), then probes with one pushed segment; one that
//     lands late again pauses at once.
//
// Every pushed copy is a seed byte that no viewer gave another, so the
// policy starts from one copy and adds only on evidence.
type pushPolicy struct {
	k     int
	clock func() time.Time

	mu       sync.Mutex
	extra    int           // copies learned from slow spread, 0..k
	interval time.Duration // between new live segments, smoothed; 0 until two
	last     time.Time     // the live edge's arrival
	edge     wire.SegmentDigest
	hasEdge  bool
	track    spreadTrack
	// want is the copies wanted of the live edge, given those pushed so
	// far (at the fill and by catch-ups).
	want, given int
	// lateRun counts the pushed segments in a row whose copies landed
	// late; pause the segments still to leave unpushed; probing is set
	// for the first pushed segment after a pause.
	lateRun, pause int
	probing        bool
	paused         func() // counts a segment left unpushed (a metric)
}

// spreadTrack follows one pushed segment until half the uploaders hold it,
// and whether its pushed copies landed before the swarm held it.
type spreadTrack struct {
	open bool
	seq  uint64
	at   time.Time
	want int // holders that make half the uploaders
	held int
	// targets are the viewers it was pushed to; early counts the other
	// uploaders that announced it before the first target did, and
	// landed is set once a target did (or the first is yet to come).
	targets   []*peer
	early     int
	lateEarly int // early holders that make its pushes late
	landed    bool
}

// pausePushes is how many new segments go unpushed once pushed copies
// landed late twice in a row.
const pausePushes = 8

// lateEarlyFor is how many other uploaders holding a segment before its
// first pushed copy make the push late: at least three (the viewer whose
// request made the node fetch it holds it as soon as the node, at any
// latency), one in eight of a large swarm.
func lateEarlyFor(uploaders int) int { return max(3, uploaders/8) }

// defaultInterval stands in for the segment interval until two live
// segments have arrived.
const defaultInterval = 2 * time.Second

func newPushPolicy(k int, clock func() time.Time) *pushPolicy {
	return &pushPolicy{k: k, clock: clock}
}

// baseCopies is the copies a swarm of viewers, of which uploaders serve
// others, gets before any spread was observed: pushCount when all
// upload, scaled by viewers/uploaders otherwise; none without uploaders.
func baseCopies(k, viewers, uploaders int) int {
	if k == 0 || uploaders == 0 {
		return 0
	}
	n := max(1, viewers*viewers/(viewersPerPush*uploaders))
	return min(k, n, uploaders)
}

// newSegment records a new live segment d (with a sequence) in a swarm of
// viewers with uploaders among them, and returns how many copies to push.
func (pp *pushPolicy) newSegment(d wire.SegmentDigest, viewers, uploaders int) int {
	now := pp.clock()
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.hasEdge && *d.Seq == *pp.edge.Seq {
		return 0 // the live edge again: never pushed twice
	}
	if pp.track.open { // the last one did not reach half the uploaders in a whole interval
		pp.extra = min(pp.extra+1, pp.k)
		pp.track.open = false
	}
	pp.track = spreadTrack{}
	if pp.hasEdge {
		gap := now.Sub(pp.last)
		if pp.interval == 0 {
			pp.interval = gap
		} else {
			pp.interval = (3*pp.interval + gap) / 4
		}
	}
	pp.edge, pp.hasEdge, pp.last = d, true, now
	pp.want, pp.given = min(pp.k, 1), 0 // a late uploader may still get one
	if pp.pause > 0 {
		pp.pause--
		pp.probing = pp.pause == 0
		pp.want = 0
		if pp.paused != nil {
			pp.paused()
		}
		return 0
	}
	base := baseCopies(pp.k, viewers, uploaders)
	if base == 0 {
		return 0
	}
	n := min(pp.k, uploaders, base+pp.extra)
	pp.want = n
	pp.track = spreadTrack{open: true, seq: *d.Seq, at: now, want: (uploaders + 1) / 2, lateEarly: lateEarlyFor(uploaders)}
	return n
}

// pushed records the viewers segment seq was pushed to at the fill:
// their have-maps are the pushed copies landing.
func (pp *pushPolicy) pushed(seq uint64, ps []*peer) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.hasEdge && *pp.edge.Seq == seq {
		pp.given += len(ps)
	}
	pp.targetsLocked(seq, ps...)
}

// caughtUp records that p got segment seq by a catch-up push (counted
// by catchUp).
func (pp *pushPolicy) caughtUp(seq uint64, p *peer) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.targetsLocked(seq, p)
}

func (pp *pushPolicy) targetsLocked(seq uint64, ps ...*peer) {
	if t := &pp.track; !t.at.IsZero() && t.seq == seq && !t.landed {
		t.targets = append(t.targets, ps...)
	}
}

// announced records that uploader p, connected for age, now holds seq:
// a pushed copy landing (p was a target) or another holder before it.
// A viewer connected for less than two segment intervals does not count
// as an early holder: a starting player fetches its first segments, the
// live edge among them, over HTTP at once, whatever its latency (a flash
// crowd is full of them).
func (pp *pushPolicy) announced(seq uint64, p *peer, age time.Duration) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	t := &pp.track
	if t.at.IsZero() || t.seq != seq || t.landed {
		return
	}
	if !slices.Contains(t.targets, p) {
		if age >= 2*pp.intervalLocked() {
			t.early++
		}
		return
	}
	t.landed = true
	pp.sampleLocked(t.early >= t.lateEarly)
}

// sampleLocked learns from one pushed segment whether its copies landed
// late: two in a row, or one right after a pause, pause pushing.
func (pp *pushPolicy) sampleLocked(late bool) {
	switch {
	case !late:
		pp.lateRun, pp.probing = 0, false
	case pp.probing || pp.lateRun >= 1:
		pp.lateRun, pp.probing, pp.pause = 0, false, pausePushes
	default:
		pp.lateRun++
	}
}

// tracked is the segment whose spread, or whose pushed copies' landing,
// is being followed.
func (pp *pushPolicy) tracked() (uint64, bool) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	t := pp.track
	return t.seq, t.open || (!t.at.IsZero() && !t.landed)
}

// held records that one more uploader holds seq.
func (pp *pushPolicy) held(seq uint64) {
	now := pp.clock()
	pp.mu.Lock()
	defer pp.mu.Unlock()
	t := &pp.track
	if !t.open || t.seq != seq {
		return
	}
	t.held++
	if t.held < t.want {
		return
	}
	t.open = false
	took, iv := now.Sub(t.at), pp.intervalLocked()
	switch {
	case took > iv/2:
		pp.extra = min(pp.extra+1, pp.k)
	case took < iv/8 && pp.extra > 0:
		pp.extra--
	}
}

func (pp *pushPolicy) intervalLocked() time.Duration {
	if pp.interval > 0 {
		return pp.interval
	}
	return defaultInterval
}

// catchUp returns the live edge if a viewer that just became ready should
// get it pushed: it is younger than half an interval, fewer than half of
// the swarm's uploaders hold it (holders of them), and it has not reached
// the copies wanted for it. It counts the push the caller then makes.
func (pp *pushPolicy) catchUp(holders, uploaders int) (wire.SegmentDigest, bool) {
	now := pp.clock()
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.k == 0 || !pp.hasEdge || now.Sub(pp.last) > pp.intervalLocked()/2 || 2*holders >= uploaders || max(holders, pp.given) >= pp.want {
		return wire.SegmentDigest{}, false
	}
	pp.given++
	return pp.edge, true
}

// edgeSeq is the live edge's sequence.
func (pp *pushPolicy) edgeSeq() (uint64, bool) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if !pp.hasEdge {
		return 0, false
	}
	return *pp.edge.Seq, true
}

// extraCopies is what spread has added so far (for tests).
func (pp *pushPolicy) extraCopies() int {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return pp.extra
}
