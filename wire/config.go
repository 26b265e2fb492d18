package wire

import (
	"fmt"
	"strings"
)

// ClientConfig is the part of the node's configuration a client must
// honour; the node sends it in [Welcome]. Every field is required unless
// marked optional (optional fields are omitted when zero).
type ClientConfig struct {
	// Keys are the node's content-key rules; the client applies them to
	// every segment URL so that both sides compute the same keys.
	Keys KeyRules `json:"keys"`
	// ICEServers, optional, are the STUN/TURN servers for RTCPeerConnection.
	ICEServers []ICEServer `json:"ice_servers,omitempty"`
	// MaxPeers bounds the peer connections a client keeps open, 1..64.
	MaxPeers int `json:"max_peers"`
	// MaxInflight bounds the outstanding requests a client sends on one
	// peer connection, 1..16. A responder answers busy to any request
	// beyond this many unanswered ones from the same peer.
	MaxInflight int `json:"max_inflight"`
	// ChunkSize is the payload size of the chunk frames a client sends,
	// 1..MaxChunkPayload bytes.
	ChunkSize int `json:"chunk_size"`
	// HelloTimeoutMs bounds the time from sending or receiving an offer
	// to receiving the peer's hello frame, 100..60000; the connection
	// attempt is abandoned after it.
	HelloTimeoutMs int `json:"hello_timeout_ms"`
	// RequestTimeoutMs bounds the wait from request to its data header (or
	// absent/busy), 100..60000; the request is then cancelled.
	RequestTimeoutMs int `json:"request_timeout_ms"`
	// IdleTimeoutMs bounds the gap between two frames of a transfer,
	// 100..60000; the request is then cancelled.
	IdleTimeoutMs int `json:"idle_timeout_ms"`
	// CriticalMs is the part of the playback buffer, from the playhead,
	// that is always fetched over HTTP, 0..600000.
	CriticalMs int `json:"critical_ms"`
	// PrefetchMs is how far beyond the critical window a client may fetch
	// over P2P, 0..600000; 0 disables P2P downloads.
	PrefetchMs int `json:"prefetch_ms"`
	// KeepSegments bounds the completed segments a client keeps in memory
	// to serve its peers, 0..MaxHaveBits; 0 disables uploads.
	KeepSegments int `json:"keep_segments"`
	// StatsIntervalMs is the period of the client's stats messages,
	// 1000..600000.
	StatsIntervalMs int `json:"stats_interval_ms"`
	// Holdback, optional: this viewer was chosen at its join for the
	// HTTP-only control group (see [Policy]); it plays over HTTP only and
	// reports itself in group "holdback".
	Holdback bool `json:"holdback,omitempty"`
	// SignalURLs, optional, are the signaling URLs (ws: or wss:) of the
	// nodes of the cluster the welcoming node belongs to, itself
	// included, at most MaxSignalURLs: where a client rejoins its swarm
	// when its node goes away.
	SignalURLs []string `json:"signal_urls,omitempty"`
}

// KeyRules turn a segment or playlist URL into its content key. The node
// owns their meaning (package origin); wire only carries them.
type KeyRules struct {
	// KeepHost, optional, keeps scheme and host in the key.
	KeepHost bool `json:"keep_host,omitempty"`
	// KeepQuery, optional, keeps the query string in the key.
	KeepQuery bool `json:"keep_query,omitempty"`
	// Rewrites, optional, are applied in order to the key after the two
	// rules above; at most MaxRewrites.
	Rewrites []Rewrite `json:"rewrites,omitempty"`
}

// Rewrite replaces every match of a regular expression in a content key.
type Rewrite struct {
	// Match is a regular expression in the syntax common to Go (RE2) and
	// ECMAScript, 1..MaxPatternLen bytes.
	Match string `json:"match"`
	// Replace, optional, replaces each match; ${1} names capture group 1.
	// At most MaxPatternLen bytes.
	Replace string `json:"replace,omitempty"`
}

// ICEServer is one entry of RTCConfiguration.iceServers.
type ICEServer struct {
	// URLs are stun:, stuns:, turn: or turns: URLs, 1..MaxICEURLs.
	URLs []string `json:"urls"`
	// Username, optional, for TURN.
	Username string `json:"username,omitempty"`
	// Credential, optional, for TURN.
	Credential string `json:"credential,omitempty"`
}

// DefaultClientConfig returns the client config a node sends unless its
// operator changed it.
func DefaultClientConfig() ClientConfig {
	return ClientConfig{
		MaxPeers:         8,
		MaxInflight:      2,
		ChunkSize:        16 << 10,
		HelloTimeoutMs:   5000,
		RequestTimeoutMs: 2000,
		IdleTimeoutMs:    2000,
		CriticalMs:       8000,
		PrefetchMs:       30000,
		KeepSegments:     60,
		StatsIntervalMs:  10000,
	}
}

// Validate reports the first field of c outside its documented range, as
// an *Error with code bad_request.
func (c *ClientConfig) Validate() error { return c.validate("config") }

func (c *ClientConfig) validate(p string) error {
	if err := c.Keys.validate(p + ".keys"); err != nil {
		return err
	}
	if err := checkCount(p+".ice_servers", len(c.ICEServers), 0, MaxICEServers); err != nil {
		return err
	}
	for i := range c.ICEServers {
		if err := c.ICEServers[i].validate(fmt.Sprintf("%s.ice_servers[%d]", p, i)); err != nil {
			return err
		}
	}
	ranges := []struct {
		name      string
		v, lo, hi int
	}{
		{"max_peers", c.MaxPeers, 1, 64},
		{"max_inflight", c.MaxInflight, 1, 16},
		{"chunk_size", c.ChunkSize, 1, MaxChunkPayload},
		{"hello_timeout_ms", c.HelloTimeoutMs, 100, 60000},
		{"request_timeout_ms", c.RequestTimeoutMs, 100, 60000},
		{"idle_timeout_ms", c.IdleTimeoutMs, 100, 60000},
		{"critical_ms", c.CriticalMs, 0, 600000},
		{"prefetch_ms", c.PrefetchMs, 0, 600000},
		{"keep_segments", c.KeepSegments, 0, MaxHaveBits},
		{"stats_interval_ms", c.StatsIntervalMs, 1000, 600000},
	}
	for _, r := range ranges {
		if err := checkRange(p+"."+r.name, r.v, r.lo, r.hi); err != nil {
			return err
		}
	}
	return validSignalURLs(p+".signal_urls", c.SignalURLs)
}

// validSignalURLs checks ClientConfig.SignalURLs.
func validSignalURLs(p string, urls []string) error {
	if err := checkCount(p, len(urls), 0, MaxSignalURLs); err != nil {
		return err
	}
	for i, u := range urls {
		f := fmt.Sprintf("%s[%d]", p, i)
		if err := checkASCII(f, u, 0x21, MaxSignalURLLen, true); err != nil {
			return err
		}
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			return badField(f, "not a ws: or wss: URL")
		}
	}
	return nil
}

func (k *KeyRules) validate(p string) error {
	if err := checkCount(p+".rewrites", len(k.Rewrites), 0, MaxRewrites); err != nil {
		return err
	}
	for i, r := range k.Rewrites {
		f := fmt.Sprintf("%s.rewrites[%d]", p, i)
		if err := checkText(f+".match", r.Match, MaxPatternLen, true); err != nil {
			return err
		}
		if err := checkText(f+".replace", r.Replace, MaxPatternLen, false); err != nil {
			return err
		}
	}
	return nil
}

func (s *ICEServer) validate(p string) error {
	if err := checkCount(p+".urls", len(s.URLs), 1, MaxICEURLs); err != nil {
		return err
	}
	for i, u := range s.URLs {
		f := fmt.Sprintf("%s.urls[%d]", p, i)
		if err := checkASCII(f, u, 0x21, MaxICEFieldLen, true); err != nil {
			return err
		}
		if !hasICEScheme(u) {
			return badField(f, "not a stun:, stuns:, turn: or turns: URL")
		}
	}
	if err := checkText(p+".username", s.Username, MaxICEFieldLen, false); err != nil {
		return err
	}
	return checkText(p+".credential", s.Credential, MaxICEFieldLen, false)
}

func hasICEScheme(u string) bool {
	for _, p := range []string{"stun:", "stuns:", "turn:", "turns:"} {
		if strings.HasPrefix(u, p) && len(u) > len(p) {
			return true
		}
	}
	return false
}
