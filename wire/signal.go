package wire

import (
	"encoding/json"
	"fmt"
)

// Type names a signaling message: the value of "type".
type Type string

// Message types of signaling version 1.
const (
	TypeJoin        Type = "join"         // client → server
	TypeWelcome     Type = "welcome"      // server → client
	TypePeers       Type = "peers"        // server → client
	TypePeerLeft    Type = "peer_left"    // server → client
	TypeRelay       Type = "relay"        // both (to: from clients, from: from the server)
	TypeHave        Type = "have"         // client → server
	TypeDigest      Type = "digest"       // server → client
	TypeDigestQuery Type = "digest_query" // client → server
	TypeStats       Type = "stats"        // client → server
	TypeReport      Type = "report"       // client → server
	TypeError       Type = "error"        // server → client
	TypeLeave       Type = "leave"        // client → server
)

// Side is the sender of a message.
type Side uint8

const (
	// Client is a viewer or the node's super-peer speaking to the tracker.
	Client Side = 1 << iota
	// Server is the signaling server.
	Server
)

// Sender reports who may send messages of type t (0 if t is unknown).
func (t Type) Sender() Side {
	switch t {
	case TypeJoin, TypeHave, TypeDigestQuery, TypeStats, TypeReport, TypeLeave:
		return Client
	case TypeWelcome, TypePeers, TypePeerLeft, TypeDigest, TypeError:
		return Server
	case TypePolicy:
		return Server
	case TypeRelay:
		return Client | Server
	}
	return 0
}

// Message is one signaling message: a pointer to one of the message
// structs of this package (Join, Welcome, ..., Error, Leave).
type Message interface {
	// Type is the message's "type".
	Type() Type
	validate() error
}

// Join asks to enter a swarm. It is the first message of a connection and
// the first after a leave.
type Join struct {
	// Swarm is the content key of the rendition's media playlist (HLS) or
	// representation (DASH). Required.
	Swarm string `json:"swarm"`
	// Ticket is the value of the Edgeswarm-Ticket header of the playlist
	// response, unchanged, at most MaxTicketLen printable ASCII bytes.
	// Optional: only swarms the operator left open admit a join without one.
	Ticket string `json:"ticket,omitempty"`
	// Caps are what the client can do.
	Caps Caps `json:"caps,omitzero"`
	// Client identifies the client software, e.g. "edgeswarm-js/0.3.1",
	// at most MaxClientLen printable ASCII bytes. Optional.
	Client string `json:"client,omitempty"`
}

// Caps are a client's capabilities. Absent fields are false.
type Caps struct {
	// Upload: the client serves segments to other peers.
	Upload bool `json:"upload,omitempty"`
	// Mobile: the client is on a metered or battery-powered device; the
	// server does not offer it as a source to others.
	Mobile bool `json:"mobile,omitempty"`
}

// Welcome answers a successful join.
type Welcome struct {
	// PeerID is the client's id in the swarm, chosen by the server. Required.
	PeerID string `json:"peer_id"`
	// Swarm echoes the joined swarm. Required.
	Swarm string `json:"swarm"`
	// Config is the node's configuration for clients. Required.
	Config ClientConfig `json:"config"`
}

// Peers lists candidates the client should connect to. The server sends
// it after welcome and whenever it has new candidates; lists add up.
type Peers struct {
	// Peers are 1..MaxPeersPerMessage candidates.
	Peers []PeerInfo `json:"peers"`
}

// PeerInfo is one candidate in Peers.
type PeerInfo struct {
	// ID is the candidate's peer id. Required.
	ID string `json:"id"`
	// Seeder marks the node's super-peer: bytes from it count as "seed",
	// not "p2p". Optional.
	Seeder bool `json:"seeder,omitempty"`
}

// PeerLeft tells that a peer left the swarm; connections to it can close.
type PeerLeft struct {
	// ID is the peer id that left. Required.
	ID string `json:"id"`
}

// SignalKind is the kind of WebRTC signal a relay carries.
type SignalKind string

// Signal kinds.
const (
	KindOffer     SignalKind = "offer"
	KindAnswer    SignalKind = "answer"
	KindCandidate SignalKind = "candidate"
)

// Relay carries one WebRTC signal between two peers of a swarm. A client
// sets To; the server replaces it with From before forwarding.
type Relay struct {
	// To is the destination peer id (client → server only).
	To string `json:"to,omitempty"`
	// From is the source peer id (server → client only).
	From string `json:"from,omitempty"`
	// Session is the id the offerer chose for this connection attempt,
	// echoed in the answer and every candidate of it. Required.
	Session string `json:"session"`
	// Kind is offer, answer or candidate. Required.
	Kind SignalKind `json:"kind"`
	// SDP is the session description of an offer or answer, 1..MaxSDPLen
	// bytes. Absent for candidates.
	SDP string `json:"sdp,omitempty"`
	// Candidate is an ICE candidate line (RTCIceCandidate.candidate), at
	// most MaxCandidateLen bytes. Absent in a candidate relay, it signals
	// the end of candidates. Absent for offers and answers.
	Candidate string `json:"candidate,omitempty"`
	// SDPMid, optional, is RTCIceCandidate.sdpMid.
	SDPMid *string `json:"sdp_mid,omitempty"`
	// SDPMLineIndex, optional, is RTCIceCandidate.sdpMLineIndex, 0..65535.
	SDPMLineIndex *int `json:"sdp_mline_index,omitempty"`
	// Ufrag, optional, is RTCIceCandidate.usernameFragment.
	Ufrag string `json:"ufrag,omitempty"`
}

// Have summarizes the segments a client holds, by media sequence, so that
// the server can match peers. It replaces the previous summary.
type Have struct {
	// Ranges are 0..MaxHaveRanges inclusive ranges, ascending, neither
	// overlapping nor adjacent. Absent means none.
	Ranges []SeqRange `json:"ranges,omitempty"`
}

// SeqRange is an inclusive range of media sequence numbers, [First, Last]
// on the wire.
type SeqRange struct {
	First, Last uint64
}

// MarshalJSON encodes r as [first,last].
func (r SeqRange) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "[%d,%d]", r.First, r.Last), nil
}

// UnmarshalJSON decodes exactly two non-negative integers.
func (r *SeqRange) UnmarshalJSON(b []byte) error {
	var v []uint64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if len(v) != 2 {
		return fmt.Errorf("range has %d elements, want 2", len(v))
	}
	r.First, r.Last = v[0], v[1]
	return nil
}

// Digest lists the node's digests of segments of the swarm. The server
// sends the recent ones after welcome, each new one as it is cached, and
// answers digest_query with those it knows.
type Digest struct {
	// Segments are 1..MaxDigestsPerMessage digests.
	Segments []SegmentDigest `json:"segments"`
}

// SegmentDigest is the node's digest of one segment. A client accepts a
// segment's bytes from peers only if they have exactly this size and
// SHA-256.
type SegmentDigest struct {
	// Key is the segment's content key. Required.
	Key string `json:"key"`
	// Seq, optional, is the segment's media sequence number when it has
	// one (0..MaxSequence); have-maps and requests by sequence use it.
	Seq *uint64 `json:"seq,omitempty"`
	// Size is the segment's length in bytes, 1..MaxSegmentSize.
	Size uint64 `json:"size"`
	// SHA256 is the SHA-256 of the segment, 64 lower-case hex digits.
	SHA256 string `json:"sha256"`
}

// DigestQuery asks for the digests of segments the client has not seen.
type DigestQuery struct {
	// Keys are 1..MaxQueryKeys content keys.
	Keys []string `json:"keys"`
}

// Stats reports a client's counters, cumulative since its join. Absent
// counters are zero; no counter may decrease within one join.
type Stats struct {
	// HTTPBytes: segment bytes received over HTTP.
	HTTPBytes uint64 `json:"http_bytes,omitempty"`
	// P2PBytes: verified segment bytes received from other viewers.
	P2PBytes uint64 `json:"p2p_bytes,omitempty"`
	// SeedBytes: verified segment bytes received from the super-peer.
	SeedBytes uint64 `json:"seed_bytes,omitempty"`
	// UploadBytes: segment bytes sent to other peers.
	UploadBytes uint64 `json:"upload_bytes,omitempty"`
	// DigestFailures: segments from peers dropped for a size or SHA-256
	// mismatch.
	DigestFailures uint64 `json:"digest_failures,omitempty"`
	// Aborts: P2P transfers abandoned for HTTP (timeout, busy, critical).
	Aborts uint64 `json:"aborts,omitempty"`
	// Peers: peer connections open now (not cumulative), 0..1024.
	Peers uint64 `json:"peers,omitempty"`

	// The fields below are the viewer telemetry of revision 1.1: optional,
	// so that older servers ignore them and older clients omit them.

	// RelayBytes: verified segment bytes received from peers over a TURN
	// relay (counted here, not in P2PBytes).
	RelayBytes uint64 `json:"relay_bytes,omitempty"`
	// Stalls: playback stalls after start-up (cumulative).
	Stalls uint64 `json:"stalls,omitempty"`
	// StallMs: total duration of those stalls in milliseconds (cumulative).
	StallMs uint64 `json:"stall_ms,omitempty"`
	// WatchMs: playing time in milliseconds, stalls excluded (cumulative).
	WatchMs uint64 `json:"watch_ms,omitempty"`
	// StartupMs: from the player's load to the first frame, 0 before it,
	// at most MaxStartupMs; it does not change once set.
	StartupMs uint64 `json:"startup_ms,omitempty"`
	// Bitrate: the current rendition's bandwidth in bit/s, at most MaxBitrate.
	Bitrate uint64 `json:"bitrate,omitempty"`
	// LiveMs: the playhead's distance to the live edge in milliseconds (0
	// for VOD), at most MaxLiveMs.
	LiveMs uint64 `json:"live_ms,omitempty"`
	// Browser is the browser family: chrome, firefox, safari, edge, opera,
	// samsung or other ([a-z][a-z0-9_]*, at most MaxCodeLen bytes).
	Browser string `json:"browser,omitempty"`
	// BrowserMajor is the browser's major version, 0..MaxBrowserMajor.
	BrowserMajor uint64 `json:"browser_major,omitempty"`
	// Mobile: the viewer's device is a phone or tablet.
	Mobile bool `json:"mobile,omitempty"`
	// WebRTC: the browser has RTCPeerConnection.
	WebRTC bool `json:"webrtc,omitempty"`
	// Upload: the viewer serves segments to peers.
	Upload bool `json:"upload,omitempty"`
	// Group says why the viewer plays the way it does: GroupP2P (hybrid
	// delivery), GroupHoldback (HTTP only because of a holdback or a
	// policy) or GroupHTTP (no WebRTC or no signaling).
	Group string `json:"group,omitempty"`
	// Stream is the content key of the master playlist the viewer plays.
	Stream string `json:"stream,omitempty"`
	// Swarm is the rendition the viewer plays (the content key of its
	// media playlist). Over signaling the joined swarm is what counts;
	// a beacon needs it.
	Swarm string `json:"swarm,omitempty"`
	// Errors counts errors by kind (cumulative).
	Errors ErrorCounts `json:"errors,omitzero"`
	// Session, beacons only, is a random id of 1..16 [A-Za-z0-9_-] the
	// viewer chose for its page: the node compares a beacon with the
	// previous one of the same session and address, and keeps nothing
	// of it longer than a few intervals.
	Session string `json:"session,omitempty"`
}

// ErrorCounts are a viewer's errors by kind, cumulative.
type ErrorCounts struct {
	// HTTP: segment or playlist fetches that failed.
	HTTP uint64 `json:"http,omitempty"`
	// Peer: peer connections that failed or broke the peer protocol.
	Peer uint64 `json:"peer,omitempty"`
	// Signal: signaling connections lost or refused.
	Signal uint64 `json:"signal,omitempty"`
	// Media: errors the player reported.
	Media uint64 `json:"media,omitempty"`
	// Other: anything else.
	Other uint64 `json:"other,omitempty"`
}

// Viewer groups of Stats.Group.
const (
	GroupP2P      = "p2p"
	GroupHoldback = "holdback"
	GroupHTTP     = "http"
)

// Limits of the telemetry fields of Stats.
const (
	MaxStartupMs    = 600_000
	MaxBitrate      = 1_000_000_000
	MaxLiveMs       = 86_400_000
	MaxBrowserMajor = 1000
)

// Report tells the server that a peer misbehaved.
type Report struct {
	// Peer is the offending peer id. Required.
	Peer string `json:"peer"`
	// Reason is a code: digest_mismatch, protocol_error or unresponsive;
	// servers accept other lower-case snake_case reasons. Required.
	Reason string `json:"reason"`
	// Key, optional, is the content key of the segment concerned.
	Key string `json:"key,omitempty"`
	// SHA256, optional (digest_mismatch), is the SHA-256 of the bytes the
	// reporter received for Key, 64 lower-case hex digits. With it the
	// server can check the report against the digest it published.
	SHA256 string `json:"sha256,omitempty"`
	// Size, optional (digest_mismatch), is the size the peer declared
	// (its data frame) or delivered for Key, 1..MaxSegmentSize.
	Size uint64 `json:"size,omitempty"`
}

// Report reasons.
const (
	ReasonDigestMismatch = "digest_mismatch"
	ReasonProtocolError  = "protocol_error"
	ReasonUnresponsive   = "unresponsive"
)

// Leave leaves the swarm; the connection stays open and may join again
// (for instance another rendition after an ABR switch).
type Leave struct{}

// Type implementations.
func (*Join) Type() Type        { return TypeJoin }
func (*Welcome) Type() Type     { return TypeWelcome }
func (*Peers) Type() Type       { return TypePeers }
func (*PeerLeft) Type() Type    { return TypePeerLeft }
func (*Relay) Type() Type       { return TypeRelay }
func (*Have) Type() Type        { return TypeHave }
func (*Digest) Type() Type      { return TypeDigest }
func (*DigestQuery) Type() Type { return TypeDigestQuery }
func (*Stats) Type() Type       { return TypeStats }
func (*Report) Type() Type      { return TypeReport }
func (*Leave) Type() Type       { return TypeLeave }

// newMessage returns a zero message of type t, or nil if t is unknown.
func newMessage(t Type) Message {
	switch t {
	case TypeJoin:
		return new(Join)
	case TypeWelcome:
		return new(Welcome)
	case TypePeers:
		return new(Peers)
	case TypePeerLeft:
		return new(PeerLeft)
	case TypeRelay:
		return new(Relay)
	case TypeHave:
		return new(Have)
	case TypeDigest:
		return new(Digest)
	case TypeDigestQuery:
		return new(DigestQuery)
	case TypeStats:
		return new(Stats)
	case TypeReport:
		return new(Report)
	case TypeError:
		return new(Error)
	case TypeLeave:
		return new(Leave)
	case TypePolicy:
		return new(Policy)
	}
	return nil
}

func (m *Join) validate() error {
	if err := checkKey("swarm", m.Swarm); err != nil {
		return err
	}
	if err := checkASCII("ticket", m.Ticket, 0x21, MaxTicketLen, false); err != nil {
		return err
	}
	return checkASCII("client", m.Client, 0x20, MaxClientLen, false)
}

func (m *Welcome) validate() error {
	if err := checkID("peer_id", m.PeerID, MaxPeerIDLen); err != nil {
		return err
	}
	if err := checkKey("swarm", m.Swarm); err != nil {
		return err
	}
	return m.Config.validate("config")
}

func (m *Peers) validate() error {
	if err := checkCount("peers", len(m.Peers), 1, MaxPeersPerMessage); err != nil {
		return err
	}
	for i, p := range m.Peers {
		if err := checkID(fmt.Sprintf("peers[%d].id", i), p.ID, MaxPeerIDLen); err != nil {
			return err
		}
	}
	return nil
}

func (m *PeerLeft) validate() error { return checkID("id", m.ID, MaxPeerIDLen) }

func (m *Relay) validate() error {
	switch {
	case m.To == "" && m.From == "":
		return badField("to", "missing (a relay names exactly one of to and from)")
	case m.To != "" && m.From != "":
		return badField("from", "present together with to")
	case m.To != "":
		if err := checkID("to", m.To, MaxPeerIDLen); err != nil {
			return err
		}
	default:
		if err := checkID("from", m.From, MaxPeerIDLen); err != nil {
			return err
		}
	}
	if err := checkID("session", m.Session, MaxSessionIDLen); err != nil {
		return err
	}
	switch m.Kind {
	case KindOffer, KindAnswer:
		if m.Candidate != "" || m.SDPMid != nil || m.SDPMLineIndex != nil || m.Ufrag != "" {
			return badField("candidate", "not allowed in %s", m.Kind)
		}
		return checkText("sdp", m.SDP, MaxSDPLen, true)
	case KindCandidate:
		if m.SDP != "" {
			return badField("sdp", "not allowed in candidate")
		}
		if err := checkText("candidate", m.Candidate, MaxCandidateLen, false); err != nil {
			return err
		}
		if m.SDPMid != nil {
			if err := checkText("sdp_mid", *m.SDPMid, MaxMidLen, false); err != nil {
				return err
			}
		}
		if m.SDPMLineIndex != nil {
			if err := checkRange("sdp_mline_index", *m.SDPMLineIndex, 0, 65535); err != nil {
				return err
			}
		}
		return checkText("ufrag", m.Ufrag, MaxMidLen, false)
	case "":
		return badField("kind", "missing")
	}
	return badField("kind", "%q is not offer, answer or candidate", truncate(string(m.Kind), 32))
}

func (m *Have) validate() error {
	if err := checkCount("ranges", len(m.Ranges), 0, MaxHaveRanges); err != nil {
		return err
	}
	for i, r := range m.Ranges {
		switch {
		case r.Last > MaxSequence:
			return badField(fmt.Sprintf("ranges[%d]", i), "%d above MaxSequence", r.Last)
		case r.First > r.Last:
			return badField(fmt.Sprintf("ranges[%d]", i), "first %d after last %d", r.First, r.Last)
		case i > 0 && r.First <= m.Ranges[i-1].Last+1:
			return badField(fmt.Sprintf("ranges[%d]", i), "overlaps or touches the previous range")
		}
	}
	return nil
}

func (m *Digest) validate() error {
	if err := checkCount("segments", len(m.Segments), 1, MaxDigestsPerMessage); err != nil {
		return err
	}
	for i, d := range m.Segments {
		p := fmt.Sprintf("segments[%d]", i)
		if err := checkKey(p+".key", d.Key); err != nil {
			return err
		}
		if d.Seq != nil {
			if err := checkRange(p+".seq", *d.Seq, 0, MaxSequence); err != nil {
				return err
			}
		}
		if err := checkRange(p+".size", d.Size, 1, MaxSegmentSize); err != nil {
			return err
		}
		if !isSHA256Hex(d.SHA256) {
			return badField(p+".sha256", "not 64 lower-case hex digits")
		}
	}
	return nil
}

func (m *DigestQuery) validate() error {
	if err := checkCount("keys", len(m.Keys), 1, MaxQueryKeys); err != nil {
		return err
	}
	for i, k := range m.Keys {
		if err := checkKey(fmt.Sprintf("keys[%d]", i), k); err != nil {
			return err
		}
	}
	return nil
}

func (m *Stats) validate() error {
	counters := []struct {
		name string
		v    uint64
	}{
		{"http_bytes", m.HTTPBytes}, {"p2p_bytes", m.P2PBytes}, {"seed_bytes", m.SeedBytes},
		{"upload_bytes", m.UploadBytes}, {"digest_failures", m.DigestFailures}, {"aborts", m.Aborts},
		{"relay_bytes", m.RelayBytes}, {"stalls", m.Stalls}, {"stall_ms", m.StallMs}, {"watch_ms", m.WatchMs},
		{"errors.http", m.Errors.HTTP}, {"errors.peer", m.Errors.Peer}, {"errors.signal", m.Errors.Signal},
		{"errors.media", m.Errors.Media}, {"errors.other", m.Errors.Other},
	}
	for _, c := range counters {
		if err := checkRange(c.name, c.v, 0, MaxCounter); err != nil {
			return err
		}
	}
	bounds := []struct {
		name  string
		v, hi uint64
	}{
		{"peers", m.Peers, 1024}, {"startup_ms", m.StartupMs, MaxStartupMs}, {"bitrate", m.Bitrate, MaxBitrate},
		{"live_ms", m.LiveMs, MaxLiveMs}, {"browser_major", m.BrowserMajor, MaxBrowserMajor},
	}
	for _, b := range bounds {
		if err := checkRange(b.name, b.v, 0, b.hi); err != nil {
			return err
		}
	}
	if m.Browser != "" {
		if err := checkToken("browser", m.Browser); err != nil {
			return err
		}
	}
	switch m.Group {
	case "", GroupP2P, GroupHoldback, GroupHTTP:
	default:
		return badField("group", "%q is not p2p, holdback or http", truncate(m.Group, 32))
	}
	if m.Stream != "" {
		if err := checkKey("stream", m.Stream); err != nil {
			return err
		}
	}
	if m.Swarm != "" {
		if err := checkKey("swarm", m.Swarm); err != nil {
			return err
		}
	}
	if m.Session != "" {
		return checkID("session", m.Session, MaxSessionIDLen)
	}
	return nil
}

// CheckBeacon checks what a stats message sent as a beacon (BeaconPath)
// needs beyond a valid stats message: the swarm and a session id.
func CheckBeacon(m *Stats) error {
	if m.Swarm == "" {
		return prefix(TypeStats, badField("swarm", "missing (a beacon names its rendition)"))
	}
	if m.Session == "" {
		return prefix(TypeStats, badField("session", "missing (a beacon names its page session)"))
	}
	return nil
}

func (m *Report) validate() error {
	if err := checkID("peer", m.Peer, MaxPeerIDLen); err != nil {
		return err
	}
	if err := checkToken("reason", m.Reason); err != nil {
		return err
	}
	if m.Key != "" {
		if err := checkKey("key", m.Key); err != nil {
			return err
		}
	}
	if m.SHA256 != "" && !isSHA256Hex(m.SHA256) {
		return badField("sha256", "not 64 lower-case hex digits")
	}
	if m.Size != 0 {
		if err := checkRange("size", m.Size, 1, MaxSegmentSize); err != nil {
			return err
		}
	}
	if (m.SHA256 != "" || m.Size != 0) && m.Key == "" {
		return badField("key", "required with sha256 or size")
	}
	return nil
}

func (*Leave) validate() error { return nil }
