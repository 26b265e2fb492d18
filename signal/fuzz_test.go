package signal

import (
	"bytes"
	"context"
	"testing"

	"github.com/edgeswarm/edgeswarm/wire"
)

// FuzzSession feeds arbitrary client messages (separated by newlines)
// through the server's decoder and state machine: nothing may panic, and
// the hub must stay consistent.
func FuzzSession(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"join","swarm":"/a.m3u8","caps":{"upload":true}}` + "\n" + `{"v":1,"type":"have","ranges":[[1,2]]}` + "\n" + `{"v":1,"type":"leave"}`))
	f.Add([]byte(`{"v":1,"type":"relay","to":"x","session":"s","kind":"offer","sdp":"v=0"}`))
	f.Add([]byte(`{"v":1,"type":"join","swarm":"/a.m3u8"}` + "\n" + `{"v":1,"type":"join","swarm":"/b.m3u8"}` + "\n" + `{"v":1,"type":"digest_query","keys":["/s.ts"]}` + "\n" + `{"v":1,"type":"report","peer":"p","reason":"x"}` + "\n" + `{"v":1,"type":"stats","p2p_bytes":5}`))
	f.Add([]byte(`{"v":2}` + "\n" + `nonsense`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		cfg.Open = true
		h, err := New(cfg, wire.DefaultClientConfig(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(context.Background())
		other, _ := h.Connect(context.Background(), LocalOptions{})
		_ = other.Send(&wire.Join{Swarm: "/a.m3u8", Caps: wire.Caps{Upload: true}})
		h.PublishDigest("/a.m3u8", digestOf("/s.ts", 1, 10))
		l, _ := h.Connect(context.Background(), LocalOptions{})
		for _, msg := range bytes.Split(data, []byte("\n")) {
			l.s.input(wire.DecodeFromClient(msg))
		}
		_ = l.Close()
		_ = other.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.viewers != 0 || len(h.byID) != 0 || h.active != 0 {
			t.Fatalf("after everyone left: %d viewers, %d ids, %d active swarms", h.viewers, len(h.byID), h.active)
		}
	})
}
