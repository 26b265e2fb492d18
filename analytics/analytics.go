package analytics

import (
	"container/list"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Viewer groups, by index.
const (
	gP2P = iota
	gHoldback
	gHTTP
	nGroups
)

var groupNames = [nGroups]string{wire.GroupP2P, wire.GroupHoldback, wire.GroupHTTP}

// Byte sources, by index; upload is what viewers sent to peers.
const (
	srcHTTP = iota
	srcP2P
	srcSeed
	srcRelay
	srcUpload
	nSrc
)

var srcNames = [nSrc]string{"http", "p2p", "seed", "relay", "upload"}

// startupBounds are the upper bounds, in ms, of the start-up buckets kept
// in every point; the last bucket holds what is above the last bound.
// Percentiles are interpolated inside a bucket.
var startupBounds = [...]uint64{100, 200, 300, 400, 500, 700, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 20000}

const nStartup = len(startupBounds) + 1

// Resolutions of the history: 10 s points for 6 h, 1 min points for 7 days.
const (
	fineWidth    = 10
	fineN        = 6 * 3600 / fineWidth
	coarseWidth  = 60
	coarseN      = 7 * 24 * 3600 / coarseWidth
	recentN      = 7 // 10 s points a swarm and the breakdown keep
	nodeName     = "node"
	otherName    = "other"
	maxBreakdown = 256 // browser entries of one breakdown point
)

type groupPoint struct {
	reports, stalls, startups uint32
	stallMs, watchMs          uint64
	startup                   [nStartup]uint32
}

// point is what the reports received during one period add up to.
type point struct {
	bytes      [nSrc]uint64
	renditions uint32 // swarms reported in the period
	g          [nGroups]groupPoint
}

type totals struct {
	bytes   [nSrc]uint64
	reports [nGroups]uint64
	stalls  [nGroups]uint64
	stallMs [nGroups]uint64
	watchMs [nGroups]uint64
}

// series is the history of a stream, of "other" or of the node.
type series struct {
	name   string
	fine   ring[point]
	coarse ring[point]
	total  totals
}

func newSeries(name string) *series {
	return &series{name: name, fine: newRing[point](fineWidth, fineN), coarse: newRing[point](coarseWidth, coarseN)}
}

type swarmPoint struct {
	reports                uint32
	peers, bitrate, liveMs uint64
	bytes                  [nSrc]uint64
}

// swarmState is one rendition's recent figures.
type swarmState struct {
	name, stream     string
	recent           ring[swarmPoint]
	counted          [2]int64 // fine and coarse point starts it was counted in as a rendition, +1
	total            [nSrc]uint64
	lru              *list.Element
	seenSec, firstAt int64
}

type browserKey struct {
	family string
	major  uint64
}

type breakdown struct {
	browsers                map[browserKey]uint32
	mobile, desktop         uint32
	webrtc, noWebRTC        uint32
	uploading, downloadOnly uint32
}

// Via says how a report arrived.
type Via uint8

const (
	// ViaSignal is a stats message over the signaling connection.
	ViaSignal Via = iota
	// ViaBeacon is a beacon (POST BeaconPath).
	ViaBeacon
)

// Options are the optional parts of an Analytics.
type Options struct {
	Log *slog.Logger
	// Clock tells the time of points and beacons; nil is time.Now.
	Clock func() time.Time
	// Registerer receives the metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
}

// Analytics adds viewer reports up. It is safe for concurrent use.
type Analytics struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	met *metrics

	mu        sync.Mutex
	known     map[string]bool // playlists served: true for master playlists
	node      *series
	other     *series
	streams   map[string]*series // with their own figures, at most MaxStreams
	order     []string           // of streams, in the order they got their own figures
	swarms    map[string]*swarmState
	swarmLRU  *list.List // of *swarmState, least recently reported first
	breakdown ring[breakdown]

	beacons beaconState
}

// New returns an Analytics.
func New(cfg Config, opt Options) (*Analytics, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Analytics{
		cfg: cfg, log: opt.Log, now: opt.Clock,
		known:     make(map[string]bool),
		node:      newSeries(nodeName),
		other:     newSeries(otherName),
		streams:   make(map[string]*series),
		swarms:    make(map[string]*swarmState),
		swarmLRU:  list.New(),
		breakdown: newRing[breakdown](fineWidth, recentN),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	reg := opt.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	met, err := newMetrics(a, reg)
	if err != nil {
		return nil, fmt.Errorf("analytics: metrics: %w", err)
	}
	a.met = met
	a.beacons.init()
	return a, nil
}

// Interval is the viewers' report period.
func (a *Analytics) Interval() time.Duration { return a.cfg.Interval }

// AddPlaylist records that the node served a playlist, by content key: a
// master playlist becomes a stream viewers may report under, a media
// playlist a rendition of the per-swarm view.
func (a *Analytics) AddPlaylist(key string, master bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.known[key]; ok || len(a.known) >= a.cfg.MaxPlaylists {
		return
	}
	a.known[key] = master
}

// Knows reports whether AddPlaylist recorded key. A fill's response can
// reach its viewer before the fill is recorded, so a report sent right
// after the playlist came may precede it.
func (a *Analytics) Knows(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.known[key]
	return ok
}

// Observe adds one accepted stats report of a viewer of swarm over
// signaling; prev is the previous accepted report of the same join (zero
// after the join). It has the signature of signal.Options.OnStats.
func (a *Analytics) Observe(swarm string, prev, cur *wire.Stats) {
	a.observe(swarm, prev, cur, ViaSignal)
}

// sub is a-b, or 0 when b is larger (a bad claim adds nothing).
func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

func groupOf(s string) int {
	switch s {
	case wire.GroupHoldback:
		return gHoldback
	case wire.GroupHTTP:
		return gHTTP
	}
	return gP2P // absent: a client from before telemetry, on signaling
}

// maxStallsPerReport bounds the stalls one report adds to the stall
// duration histogram.
const maxStallsPerReport = 64

func (a *Analytics) observe(swarm string, prev, cur *wire.Stats, via Via) {
	g := groupOf(cur.Group)
	var d [nSrc]uint64
	d[srcHTTP] = sub(cur.HTTPBytes, prev.HTTPBytes)
	d[srcP2P] = sub(cur.P2PBytes, prev.P2PBytes)
	d[srcSeed] = sub(cur.SeedBytes, prev.SeedBytes)
	d[srcRelay] = sub(cur.RelayBytes, prev.RelayBytes)
	d[srcUpload] = sub(cur.UploadBytes, prev.UploadBytes)
	stalls, stallMs, watchMs := sub(cur.Stalls, prev.Stalls), sub(cur.StallMs, prev.StallMs), sub(cur.WatchMs, prev.WatchMs)
	startup := uint64(0)
	if prev.StartupMs == 0 && cur.StartupMs > 0 {
		startup = cur.StartupMs
	}
	now := a.now()
	sec := now.Unix()

	a.mu.Lock()
	st := a.seriesLocked(cur.Stream)
	sw := a.swarmLocked(swarm, st.name, sec)
	for _, s := range [...]*series{st, a.node} {
		for _, p := range [...]*point{s.fine.at(sec), s.coarse.at(sec)} {
			for i := range d {
				p.bytes[i] += d[i]
			}
			gp := &p.g[g]
			gp.reports++
			gp.stalls += uint32(min(stalls, 1<<31))
			gp.stallMs += stallMs
			gp.watchMs += watchMs
			if startup > 0 {
				gp.startups++
				gp.startup[startupBucket(startup)]++
			}
		}
		for i := range d {
			s.total.bytes[i] += d[i]
		}
		s.total.reports[g]++
		s.total.stalls[g] += stalls
		s.total.stallMs[g] += stallMs
		s.total.watchMs[g] += watchMs
	}
	if sw != nil {
		for r := range 2 {
			start := p0(r, sec)
			if sw.counted[r] != start+1 {
				sw.counted[r] = start + 1
				st.pointAt(r, sec).renditions++
				a.node.pointAt(r, sec).renditions++
			}
		}
		p := sw.recent.at(sec)
		p.reports++
		p.peers += cur.Peers
		p.bitrate += cur.Bitrate
		p.liveMs += cur.LiveMs
		for i := range d {
			p.bytes[i] += d[i]
			sw.total[i] += d[i]
		}
	}
	b := a.breakdown.at(sec)
	if b.browsers == nil {
		b.browsers = make(map[browserKey]uint32)
	}
	k := browserKey{family: browserFamily(cur.Browser), major: cur.BrowserMajor}
	if _, ok := b.browsers[k]; !ok && len(b.browsers) >= maxBreakdown {
		k = browserKey{family: "other"}
	}
	b.browsers[k]++
	if cur.Mobile {
		b.mobile++
	} else {
		b.desktop++
	}
	if cur.WebRTC {
		b.webrtc++
	} else {
		b.noWebRTC++
	}
	if cur.Upload {
		b.uploading++
	} else {
		b.downloadOnly++
	}
	a.met.reports[via].Inc()
	a.mu.Unlock()

	if startup > 0 {
		a.met.startup[g].Observe(float64(startup) / 1000)
	}
	if stalls > 0 {
		mean := float64(stallMs) / float64(stalls) / 1000
		for range min(stalls, maxStallsPerReport) {
			a.met.stall[g].Observe(mean)
		}
	}
}

// p0 is the start of the point of resolution r (0 fine, 1 coarse) that
// holds sec.
func p0(r int, sec int64) int64 {
	w := int64(fineWidth)
	if r == 1 {
		w = coarseWidth
	}
	return sec - mod(sec, w)
}

func (s *series) pointAt(r int, sec int64) *point {
	if r == 0 {
		return s.fine.at(sec)
	}
	return s.coarse.at(sec)
}

func startupBucket(ms uint64) int {
	for i, b := range startupBounds {
		if ms <= b {
			return i
		}
	}
	return nStartup - 1
}

func browserFamily(s string) string {
	switch s {
	case "chrome", "firefox", "safari", "edge", "opera", "samsung":
		return s
	}
	return "other"
}

// seriesLocked returns the series a report of stream counts in: the
// stream's own when the node served it as a master playlist and there is
// room (or it has one already), else "other".
func (a *Analytics) seriesLocked(stream string) *series {
	if s := a.streams[stream]; s != nil {
		return s
	}
	if stream == "" || !a.known[stream] || len(a.streams) >= a.cfg.MaxStreams {
		return a.other
	}
	s := newSeries(stream)
	a.streams[stream] = s
	a.order = append(a.order, stream)
	return s
}

// swarmLocked returns the state of a swarm the node served, creating it
// (and forgetting the least recently reported one when full), or nil.
func (a *Analytics) swarmLocked(name, stream string, sec int64) *swarmState {
	sw := a.swarms[name]
	if sw == nil {
		if master, ok := a.known[name]; !ok || master {
			return nil
		}
		if len(a.swarms) >= a.cfg.MaxSwarms {
			old := a.swarmLRU.Front().Value.(*swarmState)
			a.swarmLRU.Remove(old.lru)
			delete(a.swarms, old.name)
		}
		sw = &swarmState{name: name, recent: newRing[swarmPoint](fineWidth, recentN), firstAt: sec}
		sw.lru = a.swarmLRU.PushBack(sw)
		a.swarms[name] = sw
	} else if sw.seenSec != sec {
		// Least recently reported to the second: a swarm's viewers report
		// many times a second, and moving it once is enough.
		a.swarmLRU.MoveToBack(sw.lru)
	}
	sw.stream = stream
	sw.seenSec = sec
	return sw
}
