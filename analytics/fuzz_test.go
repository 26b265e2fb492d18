package analytics

import (
	"net/netip"
	"os"
	"testing"
	"time"
)

// FuzzBeacon feeds beacon bodies: none may panic, a dropped one always
// says why, and what is accepted keeps the figures consistent.
func FuzzBeacon(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"stats","http_bytes":6291456,"watch_ms":30000,"startup_ms":380,"swarm":"/live/a.m3u8","session":"k3Jd9sQz"}`,
		`{"v":1,"type":"stats","swarm":"/live/a.m3u8","session":"x","errors":{"http":3}}`,
		`{"v":1,"type":"stats"}`,
		`{"v":1,"type":"leave"}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../wire/testdata/signal/stats.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := newClock()
		a, err := New(DefaultConfig(), Options{Clock: c.now})
		if err != nil {
			t.Fatal(err)
		}
		a.AddPlaylist("/live/a.m3u8", false)
		addr := netip.MustParseAddr("192.0.2.7")
		for range 2 {
			if err := a.Beacon(addr, body); err != nil {
				be, ok := err.(*BeaconError)
				if !ok || be.Status < 400 || be.Reason == "" || be.Msg == "" {
					t.Fatalf("beacon error %#v", err)
				}
			}
			c.add(10 * time.Second)
		}
		o := a.Overview(0, time.Minute)
		if o.Node.Bytes.P2P != 0 || o.Node.Groups.P2P.Reports != 0 {
			t.Fatalf("a beacon added P2P figures: %+v", o.Node)
		}
	})
}
