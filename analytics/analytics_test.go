package analytics

import (
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/wire"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time       { return c.t }
func (c *clock) add(d time.Duration)  { c.t = c.t.Add(d) }
func (c *clock) sec() int64           { return c.t.Unix() }
func newClock() *clock                { return &clock{t: time.Unix(1_800_000_000, 0)} } // a multiple of 60
func near(a, b float64) bool          { return math.Abs(a-b) < 1e-9 }
func streamKey(i int) string          { return "/live/s" + string(rune('a'+i)) + "/master.m3u8" }
func swarmKey(i int, r string) string { return "/live/s" + string(rune('a'+i)) + "/" + r + ".m3u8" }
func newTest(t testing.TB, cfg Config) (*Analytics, *clock, *prometheus.Registry) {
	t.Helper()
	c := newClock()
	reg := prometheus.NewRegistry()
	a, err := New(cfg, Options{Clock: c.now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return a, c, reg
}

// viewer is a simulated viewer: cumulative counters as a client keeps them.
type viewer struct {
	swarm string
	last  wire.Stats
	cur   wire.Stats
}

func (v *viewer) report(a *Analytics) {
	prev := v.last
	cur := v.cur
	a.Observe(v.swarm, &prev, &cur)
	v.last = v.cur
}

func TestOverviewAddsUpStreamsGroupsAndRenditions(t *testing.T) {
	a, c, _ := newTest(t, DefaultConfig())
	a.AddPlaylist(streamKey(0), true)
	a.AddPlaylist(swarmKey(0, "720p"), false)
	a.AddPlaylist(swarmKey(0, "480p"), false)
	base := wire.Stats{Stream: streamKey(0), Browser: "chrome", BrowserMajor: 131, WebRTC: true, Upload: true}
	// Three P2P viewers on two renditions, one holdback viewer, one viewer
	// claiming a stream the node never served.
	vs := []*viewer{
		{swarm: swarmKey(0, "720p"), cur: base},
		{swarm: swarmKey(0, "720p"), cur: base},
		{swarm: swarmKey(0, "480p"), cur: base},
	}
	hold := &viewer{swarm: swarmKey(0, "720p"), cur: base}
	hold.cur.Group, hold.cur.Upload = wire.GroupHoldback, false
	stranger := &viewer{swarm: "/elsewhere/a.m3u8", cur: wire.Stats{Stream: "/elsewhere/master.m3u8", Browser: "netscape", Mobile: true}}
	startups := []uint64{250, 450, 950}
	for round := range 6 {
		for i, v := range vs {
			v.cur.HTTPBytes += 100
			v.cur.P2PBytes += 300
			v.cur.SeedBytes += 100
			v.cur.WatchMs += 10_000
			v.cur.Peers = 3
			v.cur.Bitrate = 2_000_000
			if round == 0 {
				v.cur.StartupMs = startups[i]
			}
			v.report(a)
		}
		hold.cur.HTTPBytes += 500
		hold.cur.WatchMs += 9_000
		hold.cur.StallMs += 1_000
		hold.cur.Stalls++
		if round == 0 {
			hold.cur.StartupMs = 300
		}
		hold.report(a)
		stranger.cur.HTTPBytes += 50
		stranger.report(a)
		c.add(10 * time.Second)
	}
	o := a.Overview(0, 5*time.Minute)
	if len(o.Streams) != 2 || o.Streams[0].Stream != streamKey(0) || o.Streams[1].Stream != otherName {
		t.Fatalf("streams %+v, want the known stream then other", o.Streams)
	}
	s := o.Streams[0]
	if s.Viewers != 4 || s.Groups.P2P.Viewers != 3 || s.Groups.Holdback.Viewers != 1 || s.Renditions != 2 {
		t.Errorf("viewers %v (p2p %v, holdback %v), renditions %d; want 4 (3, 1), 2", s.Viewers, s.Groups.P2P.Viewers, s.Groups.Holdback.Viewers, s.Renditions)
	}
	want := Bytes{HTTP: 6 * (300 + 500), P2P: 6 * 900, Seed: 6 * 300}
	if s.Bytes != want {
		t.Errorf("bytes %+v, want %+v", s.Bytes, want)
	}
	all := float64(want.HTTP + want.P2P + want.Seed)
	if !near(s.PeerEfficiency, float64(want.P2P+want.Seed)/all) || !near(s.Offload, float64(want.P2P)/all) || s.EgressSavedBytes != want.P2P {
		t.Errorf("efficiency %v offload %v saved %v", s.PeerEfficiency, s.Offload, s.EgressSavedBytes)
	}
	if !near(s.OffloadLimit, 1-2.0/4) {
		t.Errorf("offload limit %v, want 0.5 (2 renditions, 4 viewers)", s.OffloadLimit)
	}
	p2p, hb := s.Groups.P2P, s.Groups.Holdback
	if p2p.Reports != 18 || p2p.Startups != 3 || p2p.RebufferRatio != 0 || hb.Reports != 6 || hb.Stalls != 6 || !near(hb.RebufferRatio, 0.1) {
		t.Errorf("groups %+v", s.Groups)
	}
	// Buckets 200..300, 400..500, 700..1000: the median is 450 exactly.
	if !near(p2p.StartupP50Ms, 450) || p2p.StartupP95Ms <= 900 || p2p.StartupP95Ms > 1000 {
		t.Errorf("start-up p50 %v p95 %v, want 450 and within 900..1000", p2p.StartupP50Ms, p2p.StartupP95Ms)
	}
	if o.Node.Viewers != 5 || o.Node.Bytes.HTTP != want.HTTP+6*50 {
		t.Errorf("node: viewers %v http %v", o.Node.Viewers, o.Node.Bytes.HTTP)
	}
	// The last complete minute: 5 viewers, the stranger's browser is "other".
	byName := map[string]float64{}
	for _, b := range o.Browsers {
		byName[b.Browser] += b.Viewers
	}
	if !near(byName["chrome"], 4) || !near(byName["other"], 1) || !near(o.Platforms.Mobile, 1) || !near(o.Platforms.Desktop, 4) ||
		!near(o.Platforms.DownloadOnly, 2) {
		t.Errorf("breakdown %+v %+v", o.Browsers, o.Platforms)
	}
	d, ok := a.Stream(streamKey(0), 0, 5*time.Minute)
	if !ok || len(d.Swarms) != 2 || d.Swarms[0].Swarm != swarmKey(0, "480p") || d.Swarms[1].Viewers != 3 || d.Swarms[1].Peers != 2 ||
		d.Swarms[0].Bitrate != 2_000_000 {
		t.Errorf("swarms %+v", d.Swarms)
	}
	// Reading the same time again gives the same figures, whatever came after.
	vs[0].cur.HTTPBytes += 1 << 20
	vs[0].report(a)
	if again := a.Overview(o.Time, 5*time.Minute); again.Streams[0].Bytes != s.Bytes || again.Streams[0].Viewers != s.Viewers {
		t.Errorf("overview at %d changed: %+v", o.Time, again.Streams[0])
	}
}

func TestStreamsBeyondTheCapAddUpInOther(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxStreams = 2
	a, c, reg := newTest(t, cfg)
	for i := range 4 {
		a.AddPlaylist(streamKey(i), true)
		v := &viewer{swarm: swarmKey(i, "a"), cur: wire.Stats{Stream: streamKey(i), HTTPBytes: 1000}}
		v.report(a)
	}
	c.add(10 * time.Second)
	o := a.Overview(0, time.Minute)
	if len(o.Streams) != 3 || o.Streams[2].Stream != otherName || o.Streams[2].Bytes.HTTP != 2000 || o.Streams[2].Viewers != 2 {
		t.Fatalf("streams %+v", o.Streams)
	}
	n, err := testutil.GatherAndCount(reg, "edgeswarm_stream_bytes_total")
	if err != nil || n != 3*nSrc {
		t.Fatalf("edgeswarm_stream_bytes_total series %d (%v), want %d: two streams and other", n, err, 3*nSrc)
	}
	want := `
# HELP edgeswarm_stream_viewers Viewers of a stream, by group: reports in the last complete 10 s times the report interval.
# TYPE edgeswarm_stream_viewers gauge
edgeswarm_stream_viewers{group="holdback",stream="/live/sa/master.m3u8"} 0
edgeswarm_stream_viewers{group="holdback",stream="/live/sb/master.m3u8"} 0
edgeswarm_stream_viewers{group="holdback",stream="other"} 0
edgeswarm_stream_viewers{group="http",stream="/live/sa/master.m3u8"} 0
edgeswarm_stream_viewers{group="http",stream="/live/sb/master.m3u8"} 0
edgeswarm_stream_viewers{group="http",stream="other"} 0
edgeswarm_stream_viewers{group="p2p",stream="/live/sa/master.m3u8"} 1
edgeswarm_stream_viewers{group="p2p",stream="/live/sb/master.m3u8"} 1
edgeswarm_stream_viewers{group="p2p",stream="other"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "edgeswarm_stream_viewers"); err != nil {
		t.Fatal(err)
	}
}

// History stays within its rings: 10 s points for 6 h, 1 min points for
// 7 days, whatever the time fed.
func TestHistoryIsBounded(t *testing.T) {
	a, c, _ := newTest(t, DefaultConfig())
	a.AddPlaylist(streamKey(0), true)
	v := &viewer{swarm: swarmKey(0, "a"), cur: wire.Stats{Stream: streamKey(0)}}
	start := c.sec()
	for c.sec() < start+8*24*3600 {
		v.cur.HTTPBytes += 10
		v.report(a)
		c.add(10 * time.Second)
	}
	s := a.streams[streamKey(0)]
	if len(s.fine.pts) != fineN || len(s.coarse.pts) != coarseN {
		t.Fatalf("rings hold %d and %d points, want %d and %d", len(s.fine.pts), len(s.coarse.pts), fineN, coarseN)
	}
	fine, _ := a.History(streamKey(0), 10*time.Second, 0, 0)
	coarse, _ := a.History(streamKey(0), time.Minute, 0, 0)
	now := c.sec()
	if first := fine.Points[0].T; first < now-6*3600 || len(fine.Points) < fineN-1 {
		t.Errorf("10 s series starts %d s ago with %d points", now-first, len(fine.Points))
	}
	if first := coarse.Points[0].T; first < now-7*24*3600 || len(coarse.Points) < coarseN-1 {
		t.Errorf("1 min series starts %d s ago with %d points", now-first, len(coarse.Points))
	}
	for _, p := range coarse.Points[:3] {
		if p.Bytes.HTTP != 60 || !near(p.Viewers, 1) {
			t.Fatalf("1 min point %+v, want 60 bytes and 1 viewer", p)
		}
	}
}

func TestBeacons(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BeaconsPerInterval = 1 // a burst of 2
	a, c, reg := newTest(t, cfg)
	a.AddPlaylist(streamKey(0), true)
	a.AddPlaylist(swarmKey(0, "480p"), false)
	addr := netip.MustParseAddr("2001:db8::1")
	enc := func(st wire.Stats) []byte {
		t.Helper()
		b, err := wire.Encode(&st)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := wire.Stats{HTTPBytes: 1000, P2PBytes: 5000, WatchMs: 9000, StartupMs: 300, Group: wire.GroupP2P, Stream: streamKey(0),
		Swarm: swarmKey(0, "480p"), Session: "s1", Browser: "safari", BrowserMajor: 17, Mobile: true}
	dropped := func(r string) float64 { return testutil.ToFloat64(a.met.dropped[r]) }
	status := func(err error) int {
		if err == nil {
			return 204
		}
		return err.(*BeaconError).Status
	}
	if err := a.Beacon(addr, enc(good)); err != nil {
		t.Fatalf("good beacon: %v", err)
	}
	tests := []struct {
		name   string
		addr   string
		body   []byte
		status int
		reason string
	}{
		{"too large", "192.0.2.1", []byte(`{"v":1,"type":"stats","stream":"` + strings.Repeat("a", wire.MaxBeaconSize) + `"}`), 413, dropTooLarge},
		{"not json", "192.0.2.1", []byte(`{"v":1,`), 400, dropMalformed},
		{"not stats", "192.0.2.1", []byte(`{"v":1,"type":"leave"}`), 400, dropMalformed},
		{"no session", "192.0.2.1", enc(wire.Stats{Swarm: "/a.m3u8"}), 400, dropMalformed},
		{"decreasing", "2001:db8::2", enc(wire.Stats{HTTPBytes: 10, Swarm: good.Swarm, Session: "s1"}), 400, dropRegression},
		{"rate limited (same /64)", "2001:db8::3", enc(good), 429, dropRateLimited},
	}
	for _, tc := range tests {
		before := dropped(tc.reason)
		err := a.Beacon(netip.MustParseAddr(tc.addr), tc.body)
		if status(err) != tc.status || dropped(tc.reason) != before+1 {
			t.Errorf("%s: %v (status %d, want %d), dropped{%s} %v", tc.name, err, status(err), tc.status, tc.reason, dropped(tc.reason)-before)
		}
	}
	c.add(2 * cfg.Interval)
	fast := good
	fast.WatchMs += 60_000
	if err := a.Beacon(addr, enc(fast)); status(err) != 400 || dropped(dropOverRate) != 1 {
		t.Errorf("watch time faster than the clock: %v", err)
	}
	next := good
	next.HTTPBytes, next.WatchMs = 3000, 19_000
	if err := a.Beacon(addr, enc(next)); err != nil {
		t.Fatalf("next beacon: %v", err)
	}
	c.add(cfg.Interval)
	o := a.Overview(0, time.Minute)
	s := o.Streams[0]
	// P2P claims of a beacon count for nothing; its group is http.
	if s.Bytes.HTTP != 3000 || s.Bytes.P2P != 0 || s.Groups.HTTP.Reports != 2 || s.Groups.HTTP.Startups != 1 || s.Groups.P2P.Reports != 0 {
		t.Errorf("after beacons: %+v", s)
	}
	if got := testutil.ToFloat64(a.met.reports[ViaBeacon]); got != 2 {
		t.Errorf("beacon reports %v, want 2", got)
	}
	// Sessions are forgotten three intervals after their last beacon.
	c.add(3 * cfg.Interval)
	a.Sweep()
	if len(a.beacons.sessions) != 0 || len(a.beacons.sources) != 0 {
		t.Errorf("after sweep: %d sessions, %d sources", len(a.beacons.sessions), len(a.beacons.sources))
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		f   func(*Config)
	}{
		{"analytics.interval", func(c *Config) { c.Interval = 500 * time.Millisecond }},
		{"analytics.max_streams", func(c *Config) { c.MaxStreams = 0 }},
		{"analytics.max_swarms", func(c *Config) { c.MaxSwarms = 0 }},
		{"analytics.beacons_per_interval", func(c *Config) { c.BeaconsPerInterval = 0 }},
		{"analytics.push_interval", func(c *Config) { c.PushInterval = 0 }},
	} {
		c := DefaultConfig()
		tc.f(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
