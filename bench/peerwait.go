package main

import "time"

// How long a swarm-go viewer waits for its peers, as the browser client's
// scheduler does (client/src/core/config.ts RULES): an HTTP fetch is
// given twice the time the last ones took plus half a second, and never
// less than a number of target durations (peerWait: two, what the soak's
// viewer keeps; swarm-go: --http-keep, default one); the rest of the
// buffer is spare time for the swarm, at most maxPeerWait.
const (
	maxPeerWait  = 6 * time.Second
	minPeerWait  = 250 * time.Millisecond
	httpPad      = 500 * time.Millisecond
	httpMargin   = 2
	httpEstAlpha = 0.3
)

// peerWait is how long a viewer with ahead seconds of media buffered
// waits for the swarm to deliver the next segment before it fetches it
// over HTTP, when its HTTP fetches take httpTook (0: none measured yet)
// and the playlist's target duration is target; 0 means HTTP now.
//
// A DataChannel between two homes is slower than HTTP from the node: its
// path is the two access links in a row (both RTTs, both losses), and
// SCTP's Reno-style congestion control recovers slowly from random loss
// (measured: a 256 KiB segment took 2.3 to 6.2 s between a broadband and
// a mobile home, 155 ms RTT and 1.5 % loss in all, where HTTP took well
// under a second). A fixed half-segment wait gave such transfers no
// chance: mobile viewers got no P2P. The wait is what the buffer affords.
func peerWait(ahead, httpTook, target time.Duration) time.Duration {
	return peerWaitKeeping(ahead, httpTook, target, 2)
}

// peerWaitKeeping is peerWait keeping keep target durations for HTTP
// instead of two (swarm-go --http-keep).
func peerWaitKeeping(ahead, httpTook, target time.Duration, keep float64) time.Duration {
	critical := max(time.Duration(keep*float64(target)), httpMargin*httpTook+httpPad)
	w := min(ahead-critical, maxPeerWait)
	if w < minPeerWait {
		return 0
	}
	return w
}

// sawHTTP records how long an HTTP segment fetch took (a moving average).
func (p *vplayer) sawHTTP(d time.Duration) {
	if p.httpTook == 0 {
		p.httpTook = d
		return
	}
	p.httpTook += time.Duration(httpEstAlpha * float64(d-p.httpTook))
}
