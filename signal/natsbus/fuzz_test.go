package natsbus

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds every decoder of bus messages the same input: none
// may panic, and what one accepts must encode and decode to itself.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"node":"abc","name":"a","region":"eu","url":"ws://a/swarm","seq":3,"swarms":1,"peers":2}`,
		`{"node":"abc","first":1,"events":[{"swarm":"/live/low/index.m3u8","id":"AbC","source":true}]}`,
		`{"node":"abc","swarm":"/s.m3u8","digest":{"key":"/1.ts","seq":1,"size":10,"sha256":"` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"}}`,
		`{"seq":2,"peers":[{"swarm":"/s.m3u8","id":"x","left":true}]}`,
		"AbC\n{\"v\":1,\"type\":\"peer_left\",\"id\":\"Q\"}",
		`{"node":"abc","first":1,"events":[]}`,
		`{"node":"a b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, err := decodeHello(data); err == nil {
			b, _ := json.Marshal(h)
			if _, err := decodeHello(b); err != nil {
				t.Fatalf("hello %s re-encoded is refused: %v", data, err)
			}
		}
		if p, err := decodePeers(data); err == nil {
			b, _ := json.Marshal(p)
			if _, err := decodePeers(b); err != nil {
				t.Fatalf("peers %s re-encoded is refused: %v", data, err)
			}
		}
		if d, err := decodeDigest(data); err == nil {
			b, _ := json.Marshal(d)
			if _, err := decodeDigest(b); err != nil {
				t.Fatalf("digest %s re-encoded is refused: %v", data, err)
			}
		}
		if s, err := decodeSnapshot(data); err == nil {
			b, _ := json.Marshal(s)
			if _, err := decodeSnapshot(b); err != nil {
				t.Fatalf("snapshot %s re-encoded is refused: %v", data, err)
			}
		}
		_, _, _ = decodeDelivery(data)
	})
}

func TestDecodeRejectsWithClearErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		dec            func([]byte) error
	}{
		{"unknown field", `{"node":"abc","seq":1,"swarms":0,"peers":0,"x":1}`, `natsbus: hello: json: unknown field "x"`, func(b []byte) error { _, err := decodeHello(b); return err }},
		{"bad node", `{"node":"a-b","seq":1,"swarms":0,"peers":0}`, `natsbus: hello: node: "a-b" is not a node id`, func(b []byte) error { _, err := decodeHello(b); return err }},
		{"http url", `{"node":"ab","url":"http://x","seq":1,"swarms":0,"peers":0}`, `natsbus: hello: url: "http://x" is not a ws: or wss: URL of at most 256 bytes`, func(b []byte) error { _, err := decodeHello(b); return err }},
		{"no events", `{"node":"ab","first":1,"events":[]}`, `natsbus: peers: events: 0, want 1..512`, func(b []byte) error { _, err := decodePeers(b); return err }},
		{"bad peer id", `{"node":"ab","first":1,"events":[{"swarm":"/s","id":"a b"}]}`, `natsbus: peers: events[0].id: "a b" is not a peer id`, func(b []byte) error { _, err := decodePeers(b); return err }},
		{"trailing", `{"seq":1,"peers":[]} {}`, `natsbus: snapshot: data after the message`, func(b []byte) error { _, err := decodeSnapshot(b); return err }},
		{"no id line", `{"v":1}`, `natsbus: delivery: no peer id line`, func(b []byte) error { _, _, err := decodeDelivery(b); return err }},
	} {
		err := tc.dec([]byte(tc.in))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
