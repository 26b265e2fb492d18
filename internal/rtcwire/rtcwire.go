// Package rtcwire converts between pion's ICE candidates and the relay
// messages of the signaling protocol, so that every Go peer (the
// super-peer, the test viewer) maps them the same way.
package rtcwire

import (
	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/wire"
)

// CandidateRelay returns the relay that carries c to peer to in session.
// A nil c (end of candidates) gives a relay with an empty candidate.
func CandidateRelay(to, session string, c *webrtc.ICECandidate) *wire.Relay {
	r := &wire.Relay{To: to, Session: session, Kind: wire.KindCandidate}
	if c == nil {
		return r
	}
	init := c.ToJSON()
	r.Candidate, r.SDPMid = init.Candidate, init.SDPMid
	if init.SDPMLineIndex != nil {
		i := int(*init.SDPMLineIndex)
		r.SDPMLineIndex = &i
	}
	if init.UsernameFragment != nil {
		r.Ufrag = *init.UsernameFragment
	}
	return r
}

// CandidateInit returns the candidate a relay carries, for AddICECandidate.
func CandidateInit(m *wire.Relay) webrtc.ICECandidateInit {
	c := webrtc.ICECandidateInit{Candidate: m.Candidate, SDPMid: m.SDPMid}
	if m.SDPMLineIndex != nil {
		i := uint16(*m.SDPMLineIndex)
		c.SDPMLineIndex = &i
	}
	if m.Ufrag != "" {
		u := m.Ufrag
		c.UsernameFragment = &u
	}
	return c
}
