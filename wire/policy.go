package wire

// Policy is the node's delivery policy for one viewer, resolved for its
// swarm and platform. The server sends one right after welcome and a new
// one whenever the operator changes the policies; a client applies the
// one with the highest revision it has seen in its join and ignores older
// ones. Absent fields are false or zero (no bound); the defaults are what
// a client does without any policy.
type Policy struct {
	// Revision orders the policies of a node, 1..MaxSequence. Required.
	Revision uint64 `json:"revision"`
	// P2POff: no segment exchange with other viewers (neither way); the
	// node's super-peer may still push segments to the viewer.
	P2POff bool `json:"p2p_off,omitempty"`
	// HTTPOnly: every byte over HTTP; no peer connection at all.
	HTTPOnly bool `json:"http_only,omitempty"`
	// Holdback: the viewer was chosen at its join for the HTTP-only
	// control group; it plays like HTTPOnly for the whole join.
	Holdback bool `json:"holdback,omitempty"`
	// UploadOff: the viewer sends no segment to anyone (it may still
	// download from peers).
	UploadOff bool `json:"upload_off,omitempty"`
	// MaxPeers, optional, bounds the viewer's peer connections, 0..64
	// (0: the welcome config's max_peers).
	MaxPeers int `json:"max_peers,omitempty"`
	// MaxUploadBps, optional, bounds the viewer's upload rate in bytes per
	// second, 0..MaxCounter (0: no bound).
	MaxUploadBps uint64 `json:"max_upload_bps,omitempty"`
	// CriticalMs, optional, replaces the welcome config's critical_ms:
	// the part of the buffer, from the playhead, always fetched over
	// HTTP, 0..600000.
	CriticalMs *int `json:"critical_ms,omitempty"`
}

// TypePolicy is the type of [Policy] (server → client).
const TypePolicy Type = "policy"

// Type implements Message.
func (*Policy) Type() Type { return TypePolicy }

// NoViewerP2P reports whether p keeps the viewer from exchanging segments
// with other viewers.
func (p *Policy) NoViewerP2P() bool { return p.P2POff || p.HTTPOnly || p.Holdback }

func (p *Policy) validate() error {
	if err := checkRange("revision", p.Revision, 1, MaxSequence); err != nil {
		return err
	}
	if err := checkRange("max_peers", p.MaxPeers, 0, 64); err != nil {
		return err
	}
	if err := checkRange("max_upload_bps", p.MaxUploadBps, 0, MaxCounter); err != nil {
		return err
	}
	if p.CriticalMs != nil {
		return checkRange("critical_ms", *p.CriticalMs, 0, 600000)
	}
	return nil
}
