package natsbus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/wire"
)

// The messages nodes exchange on the bus (docs/protocol.md, "Cluster
// bus"). Every one is JSON, decoded strictly: unknown fields, trailing
// data and values outside their bounds are errors.

// hello is a node's presence, published every Config.Heartbeat on
// <subject>.hb. Bye is sent once by a node that stops.
type hello struct {
	Node   string `json:"node"`
	Name   string `json:"name,omitempty"`
	Region string `json:"region,omitempty"`
	URL    string `json:"url,omitempty"`
	// Seq is the sequence number of the node's latest membership event.
	Seq    uint64 `json:"seq"`
	Swarms int    `json:"swarms"`
	Peers  int    `json:"peers"`
	Bye    bool   `json:"bye,omitempty"`
}

// peersMsg carries membership events on <subject>.peers, numbered from
// First.
type peersMsg struct {
	Node   string             `json:"node"`
	First  uint64             `json:"first"`
	Events []signal.PeerEvent `json:"events"`
}

// digestMsg shares a digest on <subject>.digest.
type digestMsg struct {
	Node   string             `json:"node"`
	Swarm  string             `json:"swarm"`
	Digest wire.SegmentDigest `json:"digest"`
}

// snapshot answers a sync request on <subject>.sync.<node>: every viewer
// the node has, as of event Seq.
type snapshot struct {
	Seq   uint64             `json:"seq"`
	Peers []signal.PeerEvent `json:"peers"`
}

// Bounds of bus messages.
const (
	maxBusMessage   = 1 << 20
	maxEvents       = 512    // per peers message
	maxSnapshotPeer = 200000 // per snapshot
	maxLabel        = 64
)

var (
	nodeIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
	peerIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)
)

func strict(data []byte, v any) error {
	if len(data) > maxBusMessage {
		return fmt.Errorf("%d bytes, more than %d", len(data), maxBusMessage)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the message")
	}
	return nil
}

func checkNode(id string) error {
	if !nodeIDRE.MatchString(id) {
		return fmt.Errorf("node: %.40q is not a node id", id)
	}
	return nil
}

func checkLabel(key, v string) error {
	if len(v) > maxLabel {
		return fmt.Errorf("%s: longer than %d bytes", key, maxLabel)
	}
	for _, c := range v {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%s: not printable ASCII", key)
		}
	}
	return nil
}

func checkSwarm(s string) error {
	if _, err := wire.Encode(&wire.Join{Swarm: s}); err != nil {
		return fmt.Errorf("swarm: %w", err)
	}
	return nil
}

func checkEvents(key string, es []signal.PeerEvent) error {
	for i, e := range es {
		if !peerIDRE.MatchString(e.ID) {
			return fmt.Errorf("%s[%d].id: %.40q is not a peer id", key, i, e.ID)
		}
		if err := checkSwarm(e.Swarm); err != nil {
			return fmt.Errorf("%s[%d].%w", key, i, err)
		}
	}
	return nil
}

func decodeHello(data []byte) (*hello, error) {
	var h hello
	if err := strict(data, &h); err != nil {
		return nil, fmt.Errorf("natsbus: hello: %w", err)
	}
	err := checkNode(h.Node)
	if err == nil {
		err = checkLabel("name", h.Name)
	}
	if err == nil {
		err = checkLabel("region", h.Region)
	}
	if err == nil && h.URL != "" {
		if len(h.URL) > wire.MaxSignalURLLen || (!strings.HasPrefix(h.URL, "ws://") && !strings.HasPrefix(h.URL, "wss://")) {
			err = fmt.Errorf("url: %.40q is not a ws: or wss: URL of at most %d bytes", h.URL, wire.MaxSignalURLLen)
		} else if strings.ContainsFunc(h.URL, func(c rune) bool { return c <= 0x20 || c > 0x7e }) {
			err = errors.New("url: not printable ASCII without spaces")
		}
	}
	if err == nil && (h.Swarms < 0 || h.Peers < 0) {
		err = errors.New("swarms, peers: negative")
	}
	if err != nil {
		return nil, fmt.Errorf("natsbus: hello: %w", err)
	}
	return &h, nil
}

func decodePeers(data []byte) (*peersMsg, error) {
	var p peersMsg
	if err := strict(data, &p); err != nil {
		return nil, fmt.Errorf("natsbus: peers: %w", err)
	}
	err := checkNode(p.Node)
	if err == nil && (len(p.Events) == 0 || len(p.Events) > maxEvents) {
		err = fmt.Errorf("events: %d, want 1..%d", len(p.Events), maxEvents)
	}
	if err == nil && p.First == 0 {
		err = errors.New("first: must be positive")
	}
	if err == nil {
		err = checkEvents("events", p.Events)
	}
	if err != nil {
		return nil, fmt.Errorf("natsbus: peers: %w", err)
	}
	return &p, nil
}

func decodeDigest(data []byte) (*digestMsg, error) {
	var d digestMsg
	if err := strict(data, &d); err != nil {
		return nil, fmt.Errorf("natsbus: digest: %w", err)
	}
	err := checkNode(d.Node)
	if err == nil {
		err = checkSwarm(d.Swarm)
	}
	if err == nil {
		if _, e := wire.Encode(&wire.Digest{Segments: []wire.SegmentDigest{d.Digest}}); e != nil {
			err = e
		}
	}
	if err != nil {
		return nil, fmt.Errorf("natsbus: digest: %w", err)
	}
	return &d, nil
}

func decodeSnapshot(data []byte) (*snapshot, error) {
	var s snapshot
	if err := strict(data, &s); err != nil {
		return nil, fmt.Errorf("natsbus: snapshot: %w", err)
	}
	if len(s.Peers) > maxSnapshotPeer {
		return nil, fmt.Errorf("natsbus: snapshot: %d peers, more than %d", len(s.Peers), maxSnapshotPeer)
	}
	if err := checkEvents("peers", s.Peers); err != nil {
		return nil, fmt.Errorf("natsbus: snapshot: %w", err)
	}
	return &s, nil
}

// decodeDelivery splits a message for one of this node's peers: the
// peer id, a newline, and the server message's JSON.
func decodeDelivery(data []byte) (string, wire.Message, error) {
	id, body, ok := bytes.Cut(data, []byte{'\n'})
	if !ok || !peerIDRE.Match(id) {
		return "", nil, errors.New("natsbus: delivery: no peer id line")
	}
	m, err := wire.DecodeFromServer(body)
	if err != nil {
		return "", nil, fmt.Errorf("natsbus: delivery to %s: %w", id, err)
	}
	return string(id), m, nil
}

func encodeDelivery(id string, msg []byte) []byte {
	out := make([]byte, 0, len(id)+1+len(msg))
	out = append(out, id...)
	out = append(out, '\n')
	return append(out, msg...)
}
