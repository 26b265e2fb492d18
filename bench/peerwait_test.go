package main

import (
	"testing"
	"time"
)

// A viewer waits for its peers as long as its buffer affords beyond a
// safe HTTP fetch: long enough for a DataChannel across two access links
// (a 256 KiB segment took 2.3 to 6.2 s between a mobile and a broadband
// home), never so long that the HTTP fetch after it could be late.
func TestPeerWait(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name                    string
		ahead, httpTook, target time.Duration
		atLeast, atMost         time.Duration
	}{
		// Three 4 s segments behind live, HTTP 300 ms: the mobile viewer's
		// case. Half a segment (2 s) was too short for its peers.
		{"mobile viewer, three 4 s segments buffered", 12 * s, 300 * time.Millisecond, 4 * s, 4 * s, 4 * s},
		{"before any HTTP fetch", 12 * s, 0, 4 * s, 4 * s, 4 * s},
		{"a long buffer is capped", 60 * s, 300 * time.Millisecond, 4 * s, maxPeerWait, maxPeerWait},
		{"slow HTTP leaves it the time it needs", 12 * s, 4 * s, 4 * s, 3 * s, 3500 * time.Millisecond},
		{"two targets buffered go to HTTP", 8 * s, 300 * time.Millisecond, 4 * s, 0, 0},
		{"an empty buffer goes to HTTP", 0, 0, 4 * s, 0, 0},
		{"2 s segments, three buffered", 6 * s, 200 * time.Millisecond, 2 * s, 2 * s, 2 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := peerWaitKeeping(tc.ahead, tc.httpTook, tc.target, 2)
			if w < tc.atLeast || w > tc.atMost {
				t.Errorf("peerWaitKeeping(%v, %v, %v, 2) = %v, want %v to %v", tc.ahead, tc.httpTook, tc.target, w, tc.atLeast, tc.atMost)
			}
			// Whatever the wait, the HTTP fetch after it has its safe time.
			if w > 0 && (tc.ahead-w < 2*tc.httpTook || tc.ahead-w < 2*tc.target) {
				t.Errorf("after waiting %v, %v left for an HTTP fetch that takes %v", w, tc.ahead-w, tc.httpTook)
			}
		})
	}
}

// Keeping one target (swarm-go's default) leaves more of a short buffer
// to the peers, never less than the HTTP fetch's safe time.
func TestPeerWaitKeepingOneTarget(t *testing.T) {
	const s = time.Second
	if w := peerWaitKeeping(6*s, 200*time.Millisecond, 2*s, 1); w != 4*s {
		t.Errorf("three 2 s segments buffered: %v, want 4s", w)
	}
	if w := peerWaitKeeping(6*s, 2*s, 2*s, 1); w != 1500*time.Millisecond {
		t.Errorf("with 2 s HTTP fetches: %v, want 1.5s", w)
	}
	if w := peerWaitKeeping(2*s, 200*time.Millisecond, 2*s, 1); w != 0 {
		t.Errorf("one target buffered: %v, want HTTP now", w)
	}
}

func TestSawHTTP(t *testing.T) {
	var p vplayer
	p.sawHTTP(time.Second)
	if p.httpTook != time.Second {
		t.Fatalf("first sample: %v", p.httpTook)
	}
	for range 30 {
		p.sawHTTP(100 * time.Millisecond)
	}
	if p.httpTook > 110*time.Millisecond {
		t.Errorf("after 30 fetches of 100 ms the estimate is %v", p.httpTook)
	}
}
