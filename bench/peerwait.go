package main

import "time"

// How long a swarm-go viewer under the buffer rule (--http-keep N) waits
// for its peers: an HTTP fetch is given twice the time the last ones took
// plus half a second, and never less than N target durations; the rest of
// the buffer is spare time for the swarm, at most maxPeerWait. (Without
// --http-keep the viewer follows the browser client's own rule,
// swarmgomodel.go.)
const (
	maxPeerWait  = 6 * time.Second
	minPeerWait  = 250 * time.Millisecond
	httpPad      = 500 * time.Millisecond
	httpMargin   = 2
	httpEstAlpha = 0.3
)

// peerWaitKeeping is how long a viewer with ahead seconds of media
// buffered waits for the swarm to deliver the next segment before it
// fetches it over HTTP, keeping keep target durations (swarm-go
// --http-keep), and at least twice its HTTP fetch time httpTook plus
// httpPad, for that fetch; target is the playlist's target duration, and
// 0 means HTTP now.
//
// A DataChannel between two homes is slower than HTTP from the node: its
// path is the two access links in a row (both RTTs, both losses), and
// SCTP's Reno-style congestion control recovers slowly from random loss
// (measured: a 256 KiB segment took 2.3 to 6.2 s between a broadband and
// a mobile home, 155 ms RTT and 1.5 % loss in all, where HTTP took well
// under a second). A fixed half-segment wait gave such transfers no
// chance: mobile viewers got no P2P. The wait is what the buffer affords.
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
