package analytics

import (
	"cmp"
	"slices"
	"time"
)

// The JSON shapes of the API (docs/analytics.md). Figures over a window
// add up the complete 10 s points (1 min points past 6 h) that end at or
// before the view's time, so that two reads at the same time agree.

// Bytes are segment bytes by source.
type Bytes struct {
	HTTP   uint64 `json:"http"`
	P2P    uint64 `json:"p2p"`
	Seed   uint64 `json:"seed"`
	Relay  uint64 `json:"relay"`
	Upload uint64 `json:"upload"`
}

func bytesOf(b *[nSrc]uint64) Bytes {
	return Bytes{HTTP: b[srcHTTP], P2P: b[srcP2P], Seed: b[srcSeed], Relay: b[srcRelay], Upload: b[srcUpload]}
}

// Group is the experience of one group of viewers.
type Group struct {
	// Viewers now: reports in the last complete 10 s times the interval.
	Viewers float64 `json:"viewers"`
	// Reports received in the window: the sample size of the figures.
	Reports uint64 `json:"reports"`
	// Startups measured in the window, and their percentiles (ms,
	// interpolated in buckets; 0 without samples).
	Startups     uint64  `json:"startups"`
	StartupP50Ms float64 `json:"startup_p50_ms"`
	StartupP95Ms float64 `json:"startup_p95_ms"`
	Stalls       uint64  `json:"stalls"`
	StallMs      uint64  `json:"stall_ms"`
	WatchMs      uint64  `json:"watch_ms"`
	// RebufferRatio is stall_ms / (watch_ms + stall_ms).
	RebufferRatio float64 `json:"rebuffer_ratio"`
}

// Groups are the figures of each group: p2p (hybrid delivery), holdback
// (HTTP only by holdback or policy) and http (no WebRTC or signaling).
type Groups struct {
	P2P      Group `json:"p2p"`
	Holdback Group `json:"holdback"`
	HTTP     Group `json:"http"`
}

func (g *Groups) at(i int) *Group {
	switch i {
	case gHoldback:
		return &g.Holdback
	case gHTTP:
		return &g.HTTP
	}
	return &g.P2P
}

// Summary is one stream's (or "other"'s, or the node's) figures.
type Summary struct {
	Stream string `json:"stream"`
	// Viewers now, all groups.
	Viewers float64 `json:"viewers"`
	// Renditions reported in the last complete 10 s.
	Renditions uint64 `json:"renditions"`
	// Bytes in the window, and since the node started.
	Bytes      Bytes `json:"bytes"`
	TotalBytes Bytes `json:"total_bytes"`
	// PeerEfficiency = (p2p + seed + relay) / all received; Offload =
	// p2p / all; OffloadLimit = 1 - renditions / viewers (each segment
	// leaves the node once per rendition). All over the window, 0..1.
	PeerEfficiency float64 `json:"peer_efficiency"`
	Offload        float64 `json:"offload"`
	OffloadLimit   float64 `json:"offload_limit"`
	// EgressSavedBytes: bytes viewers took from each other directly
	// instead of from the node, in the window.
	EgressSavedBytes uint64 `json:"egress_saved_bytes"`
	Groups           Groups `json:"groups"`
}

// Browser counts viewers of one browser family and major version.
type Browser struct {
	Browser string  `json:"browser"`
	Major   uint64  `json:"major"`
	Viewers float64 `json:"viewers"`
}

// Platforms counts viewers (as Summary.Viewers) by device and capability.
type Platforms struct {
	Desktop      float64 `json:"desktop"`
	Mobile       float64 `json:"mobile"`
	WebRTC       float64 `json:"webrtc"`
	NoWebRTC     float64 `json:"no_webrtc"`
	Uploading    float64 `json:"uploading"`
	DownloadOnly float64 `json:"download_only"`
}

// Overview is GET /api/v1/streams.
type Overview struct {
	// Time is the view's time (Unix seconds): ?at= of a later read
	// reproduces it.
	Time       int64     `json:"time"`
	IntervalMs int64     `json:"interval_ms"`
	WindowS    int64     `json:"window_s"`
	Node       Summary   `json:"node"`
	Streams    []Summary `json:"streams"`
	Browsers   []Browser `json:"browsers"`
	Platforms  Platforms `json:"platforms"`
}

// Swarm is one rendition's figures over the last complete minute.
type Swarm struct {
	Swarm          string  `json:"swarm"`
	Stream         string  `json:"stream"`
	Viewers        float64 `json:"viewers"`
	Peers          float64 `json:"peers"`   // mean peer connections of its viewers
	Bitrate        float64 `json:"bitrate"` // mean bandwidth, bit/s
	LiveMs         float64 `json:"live_ms"` // mean distance to live
	Bytes          Bytes   `json:"bytes"`
	PeerEfficiency float64 `json:"peer_efficiency"`
	Offload        float64 `json:"offload"`
	OffloadLimit   float64 `json:"offload_limit"`
}

// StreamDetail is GET /api/v1/streams/{id}.
type StreamDetail struct {
	Time       int64   `json:"time"`
	IntervalMs int64   `json:"interval_ms"`
	WindowS    int64   `json:"window_s"`
	Summary    Summary `json:"summary"`
	Swarms     []Swarm `json:"swarms"`
}

// Point is one point of a series.
type Point struct {
	T              int64   `json:"t"` // start, Unix seconds
	Viewers        float64 `json:"viewers"`
	Renditions     uint64  `json:"renditions"`
	Bytes          Bytes   `json:"bytes"`
	PeerEfficiency float64 `json:"peer_efficiency"`
	Offload        float64 `json:"offload"`
	OffloadLimit   float64 `json:"offload_limit"`
	Groups         Groups  `json:"groups"`
}

// Series is GET /api/v1/series.
type Series struct {
	Stream      string  `json:"stream"`
	ResolutionS int64   `json:"resolution_s"`
	Points      []Point `json:"points"`
}

// acc adds points up.
type acc struct {
	bytes      [nSrc]uint64
	renditions uint64
	g          [nGroups]struct {
		reports, stalls, startups, stallMs, watchMs uint64
		startup                                     [nStartup]uint64
	}
}

func (c *acc) add(p *point) {
	for i := range p.bytes {
		c.bytes[i] += p.bytes[i]
	}
	c.renditions += uint64(p.renditions)
	for g := range p.g {
		s, d := &p.g[g], &c.g[g]
		d.reports += uint64(s.reports)
		d.stalls += uint64(s.stalls)
		d.startups += uint64(s.startups)
		d.stallMs += s.stallMs
		d.watchMs += s.watchMs
		for i, n := range s.startup {
			d.startup[i] += uint64(n)
		}
	}
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func shares(b *[nSrc]uint64) (eff, off float64) {
	all := b[srcHTTP] + b[srcP2P] + b[srcSeed] + b[srcRelay]
	return ratio(b[srcP2P]+b[srcSeed]+b[srcRelay], all), ratio(b[srcP2P], all)
}

func limit(renditions uint64, viewers float64) float64 {
	if viewers <= 0 {
		return 0
	}
	return max(0, 1-float64(max(renditions, 1))/viewers)
}

// groups fills the per-group figures of c; viewers per group come apart.
func (c *acc) groups(viewers [nGroups]float64) Groups {
	var out Groups
	for g := range c.g {
		s, o := &c.g[g], out.at(g)
		*o = Group{Viewers: viewers[g], Reports: s.reports, Startups: s.startups, Stalls: s.stalls, StallMs: s.stallMs, WatchMs: s.watchMs,
			RebufferRatio: ratio(s.stallMs, s.watchMs+s.stallMs)}
		o.StartupP50Ms = quantile(&s.startup, s.startups, .5)
		o.StartupP95Ms = quantile(&s.startup, s.startups, .95)
	}
	return out
}

// quantile interpolates the q-quantile of a start-up histogram of n samples.
func quantile(h *[nStartup]uint64, n uint64, q float64) float64 {
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var cum uint64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if float64(cum+c) >= rank {
			lo := 0.0
			if i > 0 {
				lo = float64(startupBounds[i-1])
			}
			if i == nStartup-1 {
				return lo
			}
			hi := float64(startupBounds[i])
			return lo + (rank-float64(cum))/float64(c)*(hi-lo)
		}
		cum += c
	}
	return float64(startupBounds[len(startupBounds)-1])
}

// end is the end of the last complete 10 s point at sec.
func end(sec int64) int64 { return sec - mod(sec, fineWidth) }

func (a *Analytics) scale(width int64) float64 { return a.cfg.Interval.Seconds() / float64(width) }

// viewersLocked estimates the viewers of s by group at sec.
func (a *Analytics) viewersLocked(s *series, sec int64) [nGroups]float64 {
	var v [nGroups]float64
	e := end(sec)
	k := a.scale(fineWidth)
	s.fine.each(e-fineWidth, e, func(_ int64, p *point) {
		for g := range p.g {
			v[g] = float64(p.g[g].reports) * k
		}
	})
	return v
}

func sum(v [nGroups]float64) float64 { return v[0] + v[1] + v[2] }

func (a *Analytics) summaryLocked(s *series, sec int64, window time.Duration) Summary {
	e := end(sec)
	w := int64(window / time.Second)
	var c acc
	if w <= fineWidth*fineN {
		s.fine.each(e-w, e, func(_ int64, p *point) { c.add(p) })
	} else {
		ce := sec - mod(sec, coarseWidth)
		s.coarse.each(ce-w, ce, func(_ int64, p *point) { c.add(p) })
	}
	var last acc
	s.fine.each(e-fineWidth, e, func(_ int64, p *point) { last.add(p) })
	v := a.viewersLocked(s, sec)
	eff, off := shares(&c.bytes)
	// The limit over the window weighs each point by its viewers.
	lim := a.windowLimitLocked(s, e-w, e, w)
	return Summary{
		Stream: s.name, Viewers: sum(v), Renditions: last.renditions,
		Bytes: bytesOf(&c.bytes), TotalBytes: bytesOf(&s.total.bytes),
		PeerEfficiency: eff, Offload: off, OffloadLimit: lim, EgressSavedBytes: c.bytes[srcP2P],
		Groups: c.groups(v),
	}
}

// windowLimitLocked is the offload limit over a window: 1 - (rendition
// points) / (viewer points), from the fine points.
func (a *Analytics) windowLimitLocked(s *series, from, to, w int64) float64 {
	if w > fineWidth*fineN {
		from = to - fineWidth*fineN
	}
	k := a.scale(fineWidth)
	var rend uint64
	var viewers float64
	s.fine.each(from, to, func(_ int64, p *point) {
		var r uint64
		for g := range p.g {
			r += uint64(p.g[g].reports)
		}
		if r > 0 {
			rend += uint64(max(p.renditions, 1))
			viewers += float64(r) * k
		}
	})
	if viewers <= 0 {
		return 0
	}
	return max(0, 1-float64(rend)/viewers)
}

// Overview returns the figures at sec (0: now) over window.
func (a *Analytics) Overview(sec int64, window time.Duration) Overview {
	if sec == 0 {
		sec = a.now().Unix()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	o := Overview{Time: sec, IntervalMs: a.cfg.Interval.Milliseconds(), WindowS: int64(window / time.Second),
		Node: a.summaryLocked(a.node, sec, window), Streams: []Summary{}, Browsers: []Browser{}}
	for _, name := range a.order {
		o.Streams = append(o.Streams, a.summaryLocked(a.streams[name], sec, window))
	}
	if _, ok := a.other.fine.newest(); ok {
		o.Streams = append(o.Streams, a.summaryLocked(a.other, sec, window))
	}
	// The breakdown counts viewers like Viewers: the reports of the last
	// complete 10 s.
	e := end(sec)
	k := a.scale(fineWidth)
	br := map[browserKey]uint32{}
	var pl breakdown
	a.breakdown.each(e-fineWidth, e, func(_ int64, b *breakdown) {
		for key, n := range b.browsers {
			br[key] += n
		}
		pl.mobile += b.mobile
		pl.desktop += b.desktop
		pl.webrtc += b.webrtc
		pl.noWebRTC += b.noWebRTC
		pl.uploading += b.uploading
		pl.downloadOnly += b.downloadOnly
	})
	for key, n := range br {
		o.Browsers = append(o.Browsers, Browser{Browser: key.family, Major: key.major, Viewers: float64(n) * k})
	}
	slices.SortFunc(o.Browsers, func(x, y Browser) int {
		return cmp.Or(cmp.Compare(y.Viewers, x.Viewers), cmp.Compare(x.Browser, y.Browser), cmp.Compare(x.Major, y.Major))
	})
	f := func(n uint32) float64 { return float64(n) * k }
	o.Platforms = Platforms{Desktop: f(pl.desktop), Mobile: f(pl.mobile), WebRTC: f(pl.webrtc), NoWebRTC: f(pl.noWebRTC),
		Uploading: f(pl.uploading), DownloadOnly: f(pl.downloadOnly)}
	return o
}

// Stream returns one stream's figures and its renditions, or false when
// the stream has no figures of its own ("other" and "node" are names too).
func (a *Analytics) Stream(name string, sec int64, window time.Duration) (StreamDetail, bool) {
	if sec == 0 {
		sec = a.now().Unix()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.seriesNamedLocked(name)
	if s == nil {
		return StreamDetail{}, false
	}
	d := StreamDetail{Time: sec, IntervalMs: a.cfg.Interval.Milliseconds(), WindowS: int64(window / time.Second),
		Summary: a.summaryLocked(s, sec, window), Swarms: []Swarm{}}
	e := end(sec)
	k := a.scale(60)
	for _, sw := range a.swarms {
		if s != a.node && sw.stream != s.name {
			continue
		}
		var p swarmPoint
		sw.recent.each(e-60, e, func(_ int64, q *swarmPoint) {
			p.reports += q.reports
			p.peers += q.peers
			p.bitrate += q.bitrate
			p.liveMs += q.liveMs
			for i := range q.bytes {
				p.bytes[i] += q.bytes[i]
			}
		})
		if p.reports == 0 {
			continue
		}
		n := float64(p.reports)
		eff, off := shares(&p.bytes)
		v := n * k
		d.Swarms = append(d.Swarms, Swarm{Swarm: sw.name, Stream: sw.stream, Viewers: v, Peers: float64(p.peers) / n,
			Bitrate: float64(p.bitrate) / n, LiveMs: float64(p.liveMs) / n, Bytes: bytesOf(&p.bytes),
			PeerEfficiency: eff, Offload: off, OffloadLimit: limit(1, v)})
	}
	slices.SortFunc(d.Swarms, func(x, y Swarm) int { return cmp.Compare(x.Swarm, y.Swarm) })
	return d, true
}

func (a *Analytics) seriesNamedLocked(name string) *series {
	switch name {
	case nodeName:
		return a.node
	case otherName:
		return a.other
	}
	return a.streams[name]
}

// History returns the points of a stream ("node", "other" or a stream's
// key) from since to sec (0: now) at resolution res (10 s or 1 min; the
// 10 s points reach back 6 h, the 1 min points 7 days), or false when the
// stream has no figures of its own.
func (a *Analytics) History(name string, res time.Duration, since, sec int64) (Series, bool) {
	if sec == 0 {
		sec = a.now().Unix()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.seriesNamedLocked(name)
	if s == nil {
		return Series{}, false
	}
	r, w := &s.fine, int64(fineWidth)
	if res >= time.Minute {
		r, w = &s.coarse, coarseWidth
	}
	out := Series{Stream: s.name, ResolutionS: w, Points: []Point{}}
	e := sec - mod(sec, w)
	k := a.scale(w)
	r.each(since, e, func(t int64, p *point) {
		var c acc
		c.add(p)
		var v [nGroups]float64
		for g := range p.g {
			v[g] = float64(p.g[g].reports) * k
		}
		eff, off := shares(&c.bytes)
		out.Points = append(out.Points, Point{T: t, Viewers: sum(v), Renditions: c.renditions, Bytes: bytesOf(&c.bytes),
			PeerEfficiency: eff, Offload: off, OffloadLimit: limit(c.renditions, sum(v)), Groups: c.groups(v)})
	})
	return out, true
}
