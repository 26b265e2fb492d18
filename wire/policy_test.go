package wire

import (
	"errors"
	"testing"
)

// policyVectors are the golden vectors of the policy message (see
// signalFiles).
var policyVectors = []signalVector{
	{name: "defaults", msg: &Policy{Revision: 1}},
	{name: "p2p_off", msg: &Policy{Revision: 7, P2POff: true}},
	{name: "mobile_download_only", msg: &Policy{Revision: 2, UploadOff: true, MaxPeers: 4, MaxUploadBps: 250000, CriticalMs: ptr(12000)}},
	{name: "holdback", msg: &Policy{Revision: 3, Holdback: true, UploadOff: true}},
	{name: "http_only_critical_zero", msg: &Policy{Revision: 9007199254740991, HTTPOnly: true, CriticalMs: ptr(0)}},
	{name: "non_canonical", msg: &Policy{Revision: 4, P2POff: true},
		text: `{"type":"policy","p2p_off":true,"upload_off":false,"future_knob":{"a":1},"revision":4,"v":1}`},
}

func TestPolicyOnlyFromServer(t *testing.T) {
	in := []byte(`{"v":1,"type":"policy","revision":5,"http_only":true}`)
	m, err := DecodeFromServer(in)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := m.(*Policy)
	if !ok || p.Revision != 5 || !p.HTTPOnly || !p.NoViewerP2P() {
		t.Fatalf("decoded %#v", m)
	}
	_, err = DecodeFromClient(in)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeBadRequest {
		t.Fatalf("a client's policy: %v, want bad_request", err)
	}
}

func TestPolicyEncodeRejectsOutOfRange(t *testing.T) {
	for _, p := range []*Policy{{}, {Revision: 1, MaxPeers: -1}, {Revision: 1, CriticalMs: ptr(-5)}, {Revision: MaxSequence + 1}} {
		if _, err := Encode(p); err == nil {
			t.Errorf("Encode(%+v) succeeded", p)
		}
	}
}

func holdbackConfig() ClientConfig {
	c := DefaultClientConfig()
	c.Holdback = true
	return c
}
