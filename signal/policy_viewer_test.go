package signal

import (
	"testing"

	"github.com/edgeswarm/edgeswarm/wire"
)

// viewerTestPolicy is testPolicy that lets a mobile viewer whose join asked to
// upload do so, as the node's policies do by default.
type viewerTestPolicy struct{ testPolicy }

func (p *viewerTestPolicy) DecideViewer(swarm string, mobile, upload bool) (wire.Policy, float64) {
	w, h := p.Decide(swarm, mobile)
	w.UploadOff = mobile && !upload
	return w, h
}

var _ ViewerPolicy = (*viewerTestPolicy)(nil)

// A hub whose Policy is a ViewerPolicy asks it with the join's caps.upload:
// a mobile viewer whose page asked to upload gets no upload_off and is
// offered to others as a source; one that did not ask stays download-only.
func TestViewerPolicySeesTheJoinsUpload(t *testing.T) {
	pol := &viewerTestPolicy{testPolicy{rev: 1, off: map[string]bool{}}}
	cfg := testConfig()
	cfg.Open = true
	h := newHub(t, cfg, Options{Policy: pol})
	url := serve(t, h)

	asked := dial(t, url)
	asked.join("/live/720p.m3u8", "", wire.Caps{Mobile: true, Upload: true})
	if p, ok := asked.recv().(*wire.Policy); !ok || p.UploadOff {
		t.Fatalf("a mobile viewer that asked to upload: %#v, want no upload_off", p)
	}
	quiet := dial(t, url)
	quiet.join("/live/720p.m3u8", "", wire.Caps{Mobile: true})
	if p, ok := quiet.recv().(*wire.Policy); !ok || !p.UploadOff {
		t.Fatalf("a mobile viewer that did not ask: %#v, want upload_off", p)
	}
	// A new viewer is offered the uploading mobile viewer, not the other.
	d := dial(t, url)
	d.join("/live/720p.m3u8", "", wire.Caps{Upload: true})
	d.recv() // policy
	ids := peerIDs(d.recv())
	ps, _ := h.Peers("/live/720p.m3u8")
	var askedID string
	for _, p := range ps {
		if p.Mobile && p.Source {
			askedID = p.ID
		}
	}
	if len(ids) != 1 || ids[0] != askedID || askedID == "" {
		t.Fatalf("candidates %v, want only the mobile viewer that uploads (%q); peers %+v", ids, askedID, ps)
	}
}
