package rtcwire

import (
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/wire"
)

func TestCandidateRoundTrip(t *testing.T) {
	c := &webrtc.ICECandidate{
		Foundation: "1", Priority: 2130706431, Address: "127.0.0.1", Protocol: webrtc.ICEProtocolUDP,
		Port: 40000, Typ: webrtc.ICECandidateTypeHost, SDPMid: "0", SDPMLineIndex: 0,
	}
	r := CandidateRelay("p1", "s1", c)
	if r.To != "p1" || r.Session != "s1" || r.Kind != wire.KindCandidate || r.Candidate == "" || r.SDPMid == nil || *r.SDPMid != "0" || r.SDPMLineIndex == nil || *r.SDPMLineIndex != 0 {
		t.Fatalf("relay = %+v", r)
	}
	r.Ufrag = "abcd"
	init := CandidateInit(r)
	want := c.ToJSON()
	if init.Candidate != want.Candidate || *init.SDPMid != *want.SDPMid || *init.SDPMLineIndex != 0 || *init.UsernameFragment != "abcd" {
		t.Fatalf("init = %+v, want %+v with ufrag", init, want)
	}
	if end := CandidateRelay("p1", "s1", nil); end.Candidate != "" || end.Kind != wire.KindCandidate {
		t.Fatalf("end of candidates = %+v", end)
	}
}
