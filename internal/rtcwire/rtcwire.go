// Package rtcwire converts between pion's ICE candidates and the relay
// messages of the signaling protocol, so that every Go peer (the
// super-peer, the test viewer) maps them the same way, and builds the
// pion API those DataChannel-only peers share (DataOnlyAPI).
package rtcwire

import (
	"github.com/pion/interceptor"
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

// DataOnlyAPI is a pion API for peers that carry DataChannels only: no
// interceptors. pion's default ones (NACK, RTCP reports, TWCC, stats) are
// for media, and each ticks on every connection, which a super-peer or a
// bench home of viewers holds by the hundred or thousand.
func DataOnlyAPI(se webrtc.SettingEngine) *webrtc.API {
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
}
