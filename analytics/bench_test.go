package analytics

import (
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

func telemetryReport(i int) wire.Stats {
	return wire.Stats{HTTPBytes: uint64(i) * 300_000, P2PBytes: uint64(i) * 600_000, SeedBytes: uint64(i) * 100_000, UploadBytes: uint64(i) * 500_000,
		Peers: 4, WatchMs: uint64(i) * 9800, StartupMs: 420, Bitrate: 2_500_000, LiveMs: 7000, Browser: "chrome", BrowserMajor: 131,
		WebRTC: true, Upload: true, Group: wire.GroupP2P, Stream: "/live/c1/master.m3u8", Errors: wire.ErrorCounts{HTTP: 1}}
}

// BenchmarkDecodeAndObserve is the server's work for one report past the
// WebSocket: decoding it as the tracker does, then adding it up.
func BenchmarkDecodeAndObserve(b *testing.B) {
	a, c, _ := newTest(b, DefaultConfig())
	a.AddPlaylist("/live/c1/master.m3u8", true)
	a.AddPlaylist("/live/c1/720p.m3u8", false)
	prev, cur := telemetryReport(1), telemetryReport(2)
	msg, err := wire.Encode(&cur)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wire.DecodeFromClient(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("observe", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			a.Observe("/live/c1/720p.m3u8", &prev, &cur)
			if i++; i%1000 == 0 {
				c.add(10 * time.Millisecond)
			}
		}
	})
}

// BenchmarkBeacons adds beacons of 10000 page sessions (one per source
// address) at a 10 s interval and reports the time per beacon and the
// heap each remembered session costs.
func BenchmarkBeacons(b *testing.B) {
	const sessions = 10000
	a, c, _ := newTest(b, DefaultConfig())
	a.AddPlaylist("/live/c1/master.m3u8", true)
	a.AddPlaylist("/live/c1/480p.m3u8", false)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	body := func(i, round int) []byte {
		st := telemetryReport(round + 1)
		st.Swarm, st.Group, st.Session = "/live/c1/480p.m3u8", wire.GroupHTTP, "s"+strconv.Itoa(i)
		st.P2PBytes, st.SeedBytes, st.UploadBytes, st.Peers = 0, 0, 0, 0
		m, _ := wire.Encode(&st)
		return m
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range sessions {
		if err := a.Beacon(addr(i), body(i, 0)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/sessions, "B/session")
	msgs := make([][]byte, sessions)
	for i := range msgs {
		msgs[i] = body(i, 1)
	}
	c.add(10 * time.Second)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		i := n % sessions
		if i == 0 && n > 0 {
			// The next round: each session's counters grow again.
			c.add(10 * time.Second)
			for j := range msgs {
				msgs[j] = body(j, n/sessions+1)
			}
		}
		if err := a.Beacon(addr(i), msgs[i]); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
