package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Scenarios of the swarm benchmark, in the order tables and plots show them.
const (
	scenarioHTTP  = "http"  // no script: the HTTP-only baseline
	scenarioP2P   = "p2p"   // script, node super-peer off
	scenarioSuper = "super" // script and super-peer
	scenarioP2PML = "p2pml" // p2p-media-loader 2.x, for comparison
)

var swarmScenarios = []string{scenarioHTTP, scenarioP2P, scenarioSuper, scenarioP2PML}

// Player modes of the swarm runner.
var swarmModes = []string{"virtual", "video"}

// Sanity bounds of the raw file. A figure beyond them is a runner bug, not a
// measurement; rejecting it also keeps every sum and ratio finite.
const (
	swarmMaxViewers = 10_000
	swarmMaxLatency = 100     // liveSyncDurationCount
	swarmMaxBytes   = 1 << 48 // per viewer or node counter
	swarmMaxSeconds = 1e7     // any duration, in seconds
	swarmMaxCount   = 1e9     // stalls, failures, requests, peers
	swarmMaxRawSize = 256 << 20
)

// swarmRaw is the raw results file the swarm runner writes.
type swarmRaw struct {
	Started  time.Time      `json:"started"`
	Settings map[string]any `json:"settings"` // echo of the runner's settings, free-form
	Host     swarmHost      `json:"host"`
	Cases    []swarmCase    `json:"cases"`
}

type swarmHost struct {
	CPUs     int    `json:"cpus"`
	Chromium string `json:"chromium"`
	Node     string `json:"node"`
}

// swarmCase is one scenario run with N viewers at one latency.
type swarmCase struct {
	Scenario string        `json:"scenario"`
	Latency  int           `json:"latency"` // hls.js liveSyncDurationCount
	Mode     string        `json:"mode"`    // "virtual" or "video"
	N        int           `json:"n"`
	WatchS   float64       `json:"watch_s"`
	WallS    float64       `json:"wall_s"`
	Node     swarmNode     `json:"node"`
	Load     *swarmLoad    `json:"host,omitempty"` // absent where the runner cannot tell
	Busy     *swarmBusy    `json:"busy,omitempty"` // the competing process, when --busy ran one
	Viewers  []swarmViewer `json:"viewers"`
	Errors   []string      `json:"errors"`
	Net      *swarmCaseNet `json:"net,omitempty"` // --net: the profile and the node's uplink cap
}

// swarmNode holds the node's own counters over one case.
type swarmNode struct {
	CPUS           float64 `json:"cpu_s"`
	HTTPBytes      int64   `json:"http_bytes"`     // segment body bytes over HTTP
	HTTPAllBytes   int64   `json:"http_all_bytes"` // every HTTP body byte
	SeedBytes      int64   `json:"seed_bytes"`     // super-peer bytes over WebRTC
	OriginRequests int64   `json:"origin_requests"`
	RelayBytes     int64   `json:"relay_bytes"` // bytes the node's TURN relay forwarded
}

// swarmLoad is how busy the machine was (% of all its CPUs): while the
// viewers joined, and over the whole case. A host near 100 % while viewers
// join measures its own run queue in their start-up times.
type swarmLoad struct {
	JoinBusyPct float64 `json:"join_busy_pct"`
	// Load1 is the 1-minute load average at the end of the case: how many
	// tasks wanted the CPUs of a host at 100 % busy (0: not reported).
	Load1   float64 `json:"load1,omitempty"`
	BusyPct float64 `json:"busy_pct"`
}

// swarmBusy is the competing process of one case: the cores it was asked
// to burn and the CPU time it got.
type swarmBusy struct {
	Cores float64 `json:"cores"`
	CPUS  float64 `json:"cpu_s"`
}

// egress is what the node sent viewers: every HTTP body byte as its own
// counter saw them (playlists and scripts too), else the viewers' HTTP
// segment bytes, plus the super-peer's bytes.
func (n swarmNode) egress() int64 {
	if n.HTTPAllBytes > 0 {
		return n.HTTPAllBytes + n.SeedBytes + n.RelayBytes
	}
	return n.HTTPBytes + n.SeedBytes + n.RelayBytes
}

// swarmViewer is one browser's report.
type swarmViewer struct {
	Name        string     `json:"name"`
	JoinMs      float64    `json:"join_ms"`
	StartupMs   *float64   `json:"startup_ms"`    // nil: it never played
	SinceStartS float64    `json:"since_start_s"` // wall time since playback started
	PlayedS     float64    `json:"played_s"`
	Stalls      int        `json:"stalls"`
	StallMs     float64    `json:"stall_ms"`
	LatencyS    float64    `json:"latency_s"`
	Bytes       swarmBytes `json:"bytes"`
	UploadBytes int64      `json:"upload_bytes"`
	P2PFailures int        `json:"p2p_failures"`
	Rejected    int        `json:"rejected"`
	Peers       int        `json:"peers"`
	// What the viewer played: segments, their bytes and EXTINF seconds.
	Segments     int          `json:"segments"`
	SegmentBytes int64        `json:"segment_bytes"`
	MediaS       float64      `json:"media_s"`
	Frames       *swarmFrames `json:"frames,omitempty"` // video mode only
	Errors       []string     `json:"errors"`
	// --net: the viewer's home, its NAT, link kind and public address,
	// and its peer connections.
	Home   *int        `json:"home,omitempty"`
	NAT    string      `json:"nat,omitempty"`
	Kind   string      `json:"kind,omitempty"`
	Public string      `json:"public,omitempty"`
	Conns  []swarmConn `json:"conns,omitempty"`
	// edgeswarm viewers: where the segments came from and why.
	Diag *swarmDiag `json:"diag,omitempty"`
}

// swarmFrames is what the video element's getVideoPlaybackQuality() and
// size said at the end.
type swarmFrames struct {
	Total   int64 `json:"total"`
	Dropped int64 `json:"dropped"`
	Width   int   `json:"width"`
	Height  int   `json:"height"`
}

// swarmBytes are segment bytes received, by source.
type swarmBytes struct {
	HTTP int64 `json:"http"`
	P2P  int64 `json:"p2p"`
	Seed int64 `json:"seed"`
	// Relay: from other viewers through a TURN relay (node egress, not p2p).
	Relay int64 `json:"relay"`
}

// Keys that must be present in the raw file. The others (join_ms,
// upload_bytes, peers, http_all_bytes, since_start_s, segments,
// segment_bytes, media_s, frames, busy, the errors lists) are descriptive
// and default to zero or empty. Unknown keys are ignored, so a runner that
// reports more than this reader knows still yields a report.
var (
	swarmTopKeys    = []string{"started", "settings", "host", "cases"}
	swarmCaseKeys   = []string{"scenario", "latency", "mode", "n", "watch_s", "wall_s", "node", "viewers"}
	swarmNodeKeys   = []string{"cpu_s", "http_bytes", "seed_bytes", "origin_requests"}
	swarmViewerKeys = []string{"name", "startup_ms", "played_s", "stalls", "stall_ms", "latency_s", "bytes", "p2p_failures", "rejected"}
	swarmBytesKeys  = []string{"http", "p2p", "seed"}
)

// readSwarmRaw decodes and checks a raw results file: it must be one JSON
// object with every figure the report uses, known scenarios and modes,
// figures within sane bounds, and at most one case per scenario, latency,
// mode and N.
func readSwarmRaw(r io.Reader) (*swarmRaw, error) {
	data, err := io.ReadAll(io.LimitReader(r, swarmMaxRawSize+1))
	if err != nil {
		return nil, fmt.Errorf("swarm raw file: %w", err)
	}
	if len(data) > swarmMaxRawSize {
		return nil, fmt.Errorf("swarm raw file: larger than %d MiB", swarmMaxRawSize>>20)
	}
	if err := checkSwarmKeys(data); err != nil {
		return nil, fmt.Errorf("swarm raw file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // settings keep their numbers as written
	var raw swarmRaw
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("swarm raw file: %w", err)
	}
	if err := raw.validate(); err != nil {
		return nil, fmt.Errorf("swarm raw file: %w", err)
	}
	return &raw, nil
}

type jsonObject = map[string]json.RawMessage

// checkSwarmKeys reports the first required key that is missing, naming
// where it is missing.
func checkSwarmKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON object")
	}
	obj, err := requireKeys(top, "top level", swarmTopKeys)
	if err != nil {
		return err
	}
	var cases []json.RawMessage
	if err := json.Unmarshal(obj["cases"], &cases); err != nil {
		return fmt.Errorf("cases: want an array: %w", err)
	}
	for i, c := range cases {
		where := fmt.Sprintf("cases[%d]", i)
		co, err := requireKeys(c, where, swarmCaseKeys)
		if err != nil {
			return err
		}
		if _, err := requireKeys(co["node"], where+".node", swarmNodeKeys); err != nil {
			return err
		}
		var viewers []json.RawMessage
		if err := json.Unmarshal(co["viewers"], &viewers); err != nil {
			return fmt.Errorf("%s.viewers: want an array: %w", where, err)
		}
		for j, v := range viewers {
			vw := fmt.Sprintf("%s.viewers[%d]", where, j)
			vo, err := requireKeys(v, vw, swarmViewerKeys)
			if err != nil {
				return err
			}
			if _, err := requireKeys(vo["bytes"], vw+".bytes", swarmBytesKeys); err != nil {
				return err
			}
		}
	}
	return nil
}

// churnViewers bounds the viewers a case with churn every churnS seconds
// adds in watchS seconds (one per interval, and the one joining at the end).
func churnViewers(watchS, churnS float64) int {
	if !(churnS > 0) || !(watchS > 0) || watchS > swarmMaxSeconds {
		return 0
	}
	return int(math.Ceil(watchS/churnS)) + 1
}

func requireKeys(data json.RawMessage, where string, keys []string) (jsonObject, error) {
	var obj jsonObject
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%s: want a JSON object", where)
	}
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			return nil, fmt.Errorf("%s: missing %q", where, k)
		}
	}
	return obj, nil
}

func (raw *swarmRaw) validate() error {
	if raw.Started.IsZero() {
		return errors.New(`"started" is not set`)
	}
	type key struct {
		scenario, mode string
		latency, n     int
	}
	seen := map[key]int{}
	var churnS float64 // with churn, the viewers who left are reported too
	if n, ok := raw.Settings["churn_s"].(json.Number); ok {
		churnS, _ = n.Float64()
	}
	for i := range raw.Cases {
		c := &raw.Cases[i]
		where := fmt.Sprintf("cases[%d]", i)
		if err := c.validate(churnS); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		k := key{c.Scenario, c.Mode, c.Latency, c.N}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("%s: same scenario, latency, mode and n as cases[%d] (%s)", where, j, c.label())
		}
		seen[k] = i
	}
	return nil
}

func (c *swarmCase) label() string {
	return fmt.Sprintf("%s latency %d %s n=%d", c.Scenario, c.Latency, c.Mode, c.N)
}

// validate checks a case; churnS is the run's churn interval (0: none),
// under which the viewers that left are reported beside those watching.
func (c *swarmCase) validate(churnS float64) error {
	if !slices.Contains(swarmScenarios, c.Scenario) {
		return fmt.Errorf("unknown scenario %q (want %s)", c.Scenario, strings.Join(swarmScenarios, ", "))
	}
	if !slices.Contains(swarmModes, c.Mode) {
		return fmt.Errorf("unknown mode %q (want %s)", c.Mode, strings.Join(swarmModes, ", "))
	}
	if c.Latency < 1 || c.Latency > swarmMaxLatency {
		return fmt.Errorf("latency %d out of range 1..%d", c.Latency, swarmMaxLatency)
	}
	if c.N < 1 || c.N > swarmMaxViewers {
		return fmt.Errorf("n %d out of range 1..%d", c.N, swarmMaxViewers)
	}
	if most := c.N + churnViewers(c.WatchS, churnS); len(c.Viewers) > most {
		return fmt.Errorf("%d viewers reported for n=%d", len(c.Viewers), c.N)
	}
	checks := []struct {
		name   string
		v, max float64
	}{
		{"watch_s", c.WatchS, swarmMaxSeconds},
		{"wall_s", c.WallS, swarmMaxSeconds},
		{"node.cpu_s", c.Node.CPUS, swarmMaxSeconds},
		{"node.http_bytes", float64(c.Node.HTTPBytes), swarmMaxBytes},
		{"node.http_all_bytes", float64(c.Node.HTTPAllBytes), swarmMaxBytes},
		{"node.seed_bytes", float64(c.Node.SeedBytes), swarmMaxBytes},
		{"node.origin_requests", float64(c.Node.OriginRequests), swarmMaxCount},
		{"node.relay_bytes", float64(c.Node.RelayBytes), swarmMaxBytes},
	}
	for _, ch := range checks {
		if err := inRange(ch.name, ch.v, ch.max); err != nil {
			return err
		}
	}
	if c.Busy != nil {
		if err := inRange("busy.cores", c.Busy.Cores, 64); err != nil {
			return err
		}
		if err := inRange("busy.cpu_s", c.Busy.CPUS, swarmMaxSeconds); err != nil {
			return err
		}
	}
	if c.Load != nil {
		if err := inRange("host.join_busy_pct", c.Load.JoinBusyPct, 100); err != nil {
			return err
		}
		if err := inRange("host.busy_pct", c.Load.BusyPct, 100); err != nil {
			return err
		}
		if err := inRange("host.load1", c.Load.Load1, swarmMaxCount); err != nil {
			return err
		}
	}
	for j := range c.Viewers {
		if err := c.Viewers[j].validate(); err != nil {
			return fmt.Errorf("viewers[%d]: %w", j, err)
		}
	}
	return nil
}

func (v *swarmViewer) validate() error {
	checks := []struct {
		name   string
		v, max float64
	}{
		{"join_ms", v.JoinMs, swarmMaxSeconds * 1e3},
		{"played_s", v.PlayedS, swarmMaxSeconds},
		{"stalls", float64(v.Stalls), swarmMaxCount},
		{"stall_ms", v.StallMs, swarmMaxSeconds * 1e3},
		{"latency_s", v.LatencyS, swarmMaxSeconds},
		{"bytes.http", float64(v.Bytes.HTTP), swarmMaxBytes},
		{"bytes.p2p", float64(v.Bytes.P2P), swarmMaxBytes},
		{"bytes.seed", float64(v.Bytes.Seed), swarmMaxBytes},
		{"bytes.relay", float64(v.Bytes.Relay), swarmMaxBytes},
		{"upload_bytes", float64(v.UploadBytes), swarmMaxBytes},
		{"p2p_failures", float64(v.P2PFailures), swarmMaxCount},
		{"rejected", float64(v.Rejected), swarmMaxCount},
		{"peers", float64(v.Peers), swarmMaxCount},
		{"since_start_s", v.SinceStartS, swarmMaxSeconds},
		{"segments", float64(v.Segments), swarmMaxCount},
		{"segment_bytes", float64(v.SegmentBytes), swarmMaxBytes},
		{"media_s", v.MediaS, swarmMaxSeconds},
	}
	if f := v.Frames; f != nil {
		checks = append(checks, []struct {
			name   string
			v, max float64
		}{
			{"frames.total", float64(f.Total), swarmMaxCount},
			{"frames.dropped", float64(f.Dropped), float64(f.Total)},
			{"frames.width", float64(f.Width), 1 << 16},
			{"frames.height", float64(f.Height), 1 << 16},
		}...)
	}
	if v.StartupMs != nil {
		checks = append(checks, struct {
			name   string
			v, max float64
		}{"startup_ms", *v.StartupMs, swarmMaxSeconds * 1e3})
	}
	for _, ch := range checks {
		if err := inRange(ch.name, ch.v, ch.max); err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	return nil
}

func inRange(name string, v, maxV float64) error {
	if v < 0 || v > maxV || math.IsNaN(v) {
		return fmt.Errorf("%s %v out of range 0..%g", name, v, maxV)
	}
	return nil
}

// swarmRow holds one case's figures.
type swarmRow struct {
	Scenario string `json:"scenario"`
	Latency  int    `json:"latency"`
	Mode     string `json:"mode"`
	N        int    `json:"n"`

	// Segment bytes received, summed over the viewers.
	HTTP int64 `json:"http_bytes"`
	P2P  int64 `json:"p2p_bytes"`
	Seed int64 `json:"seed_bytes"`
	All  int64 `json:"all_bytes"`
	// Relay: segment bytes from viewers through a TURN relay (in All, not in P2P).
	Relay int64 `json:"relay_bytes"`

	Offload        float64 `json:"offload"`         // P2P / All
	Limit          float64 `json:"limit"`           // 1 - 1/N, the most offload N viewers allow
	PeerEfficiency float64 `json:"peer_efficiency"` // (P2P + Seed) / All

	// NodeEgress is what the node itself counted as sent (HTTP segment
	// bytes and super-peer bytes): the honest side, as viewers cannot
	// report what they failed to receive.
	NodeEgress     int64 `json:"node_egress_bytes"`
	OriginRequests int64 `json:"origin_requests"`

	StartupP50  float64 `json:"startup_p50_ms"` // over the viewers that played, nearest rank
	StartupP95  float64 `json:"startup_p95_ms"`
	NeverPlayed int     `json:"never_played"` // includes viewers that never reported

	Stalls        int     `json:"stalls"`
	StallS        float64 `json:"stall_s"`
	RebufferRatio float64 `json:"rebuffer_ratio"` // stall time / (stall time + played time)
	LatencyS      float64 `json:"latency_s"`      // mean over the viewers that played

	P2PFailures int `json:"p2p_failures"`
	Rejected    int `json:"rejected"`

	NodeCPUS   float64 `json:"node_cpu_s"`
	NodeCPUPct float64 `json:"node_cpu_pct"` // % of one core over the case's wall time

	// PlayRatio is media played / wall time since playback started, over
	// the viewers that played: below 1 by stalls, and by a player whose
	// clock falls behind on a busy device. 0 when not reported.
	PlayRatio float64 `json:"play_ratio"`
	// Frames decoded and dropped (video mode; FramesKnown false otherwise).
	FramesKnown   bool    `json:"frames_known"`
	Frames        int64   `json:"frames"`
	DroppedFrames int64   `json:"dropped_frames"`
	DroppedRatio  float64 `json:"dropped_ratio"`
	// Upload is what the viewers uploaded over P2P; UploadPerP2P is it
	// over the P2P bytes they received (above 1: uploads abandoned or
	// repeated).
	Upload       int64   `json:"upload_bytes"`
	UploadPerP2P float64 `json:"upload_per_p2p"`
	// The rendition as played: bitrate of the segments (bytes over their
	// EXTINF seconds), mean segment duration, and the picture size (video
	// mode). Zero when not reported.
	BitrateKbps float64 `json:"bitrate_kbps"`
	SegmentS    float64 `json:"segment_s"`
	Resolution  string  `json:"resolution,omitempty"`
	// The competing process (--busy): cores asked for and % of one core it got.
	BusyCores  float64 `json:"busy_cores,omitempty"`
	BusyCPUPct float64 `json:"busy_cpu_pct,omitempty"`

	// Host is how busy the machine was; nil when not measured.
	Host *swarmLoad `json:"host,omitempty"`

	Errors []string `json:"errors,omitempty"` // case errors, then "viewer: error"
}

// summarize derives one row per case, sorted by latency, mode, scenario
// (http, p2p, super, p2pml) and N.
func summarize(raw *swarmRaw) []swarmRow {
	rows := make([]swarmRow, 0, len(raw.Cases))
	for i := range raw.Cases {
		rows = append(rows, summarizeCase(&raw.Cases[i]))
	}
	slices.SortStableFunc(rows, compareRows)
	return rows
}

func compareRows(a, b swarmRow) int {
	return cmp.Or(
		cmp.Compare(a.Latency, b.Latency),
		compareModes(a.Mode, b.Mode),
		cmp.Compare(scenarioOrder(a.Scenario), scenarioOrder(b.Scenario)),
		cmp.Compare(a.Scenario, b.Scenario),
		cmp.Compare(a.N, b.N),
	)
}

func scenarioOrder(s string) int {
	if i := slices.Index(swarmScenarios, s); i >= 0 {
		return i
	}
	return len(swarmScenarios)
}

func compareModes(a, b string) int {
	return cmp.Or(cmp.Compare(modeOrder(a), modeOrder(b)), cmp.Compare(a, b))
}

func modeOrder(m string) int {
	if i := slices.Index(swarmModes, m); i >= 0 {
		return i
	}
	return len(swarmModes)
}

func summarizeCase(c *swarmCase) swarmRow {
	r := swarmRow{
		Scenario:       c.Scenario,
		Latency:        c.Latency,
		Mode:           c.Mode,
		N:              c.N,
		NodeEgress:     c.Node.egress(),
		OriginRequests: c.Node.OriginRequests,
		NodeCPUS:       c.Node.CPUS,
		NeverPlayed:    max(c.N-len(c.Viewers), 0),
		Host:           c.Load,
	}
	if c.N > 0 {
		r.Limit = 1 - 1/float64(c.N)
	}
	if c.WallS > 0 {
		r.NodeCPUPct = 100 * c.Node.CPUS / c.WallS
	}
	if c.Busy != nil {
		r.BusyCores = c.Busy.Cores
		if c.WallS > 0 {
			r.BusyCPUPct = 100 * c.Busy.CPUS / c.WallS
		}
	}
	r.Errors = append(r.Errors, c.Errors...)
	var startups []float64
	var played, latency, playedSince, since, mediaS float64
	var segments, segBytes int64
	sizes := map[string]int{}
	for _, v := range c.Viewers {
		r.Upload += v.UploadBytes
		segments += int64(v.Segments)
		segBytes += v.SegmentBytes
		mediaS += v.MediaS
		if v.StartupMs != nil && v.SinceStartS > 0 {
			playedSince += v.PlayedS
			since += v.SinceStartS
		}
		if f := v.Frames; f != nil {
			r.FramesKnown = true
			r.Frames += f.Total
			r.DroppedFrames += f.Dropped
			if f.Width > 0 && f.Height > 0 {
				sizes[fmt.Sprintf("%dx%d", f.Width, f.Height)]++
			}
		}
		r.HTTP += v.Bytes.HTTP
		r.P2P += v.Bytes.P2P
		r.Seed += v.Bytes.Seed
		r.Relay += v.Bytes.Relay
		r.Stalls += v.Stalls
		r.StallS += v.StallMs / 1e3
		played += v.PlayedS
		r.P2PFailures += v.P2PFailures
		r.Rejected += v.Rejected
		if v.StartupMs == nil {
			r.NeverPlayed++
		} else {
			startups = append(startups, *v.StartupMs)
			latency += v.LatencyS
		}
		for _, e := range v.Errors {
			r.Errors = append(r.Errors, v.Name+": "+e)
		}
	}
	r.All = r.HTTP + r.P2P + r.Seed + r.Relay
	if r.All > 0 {
		r.Offload = float64(r.P2P) / float64(r.All)
		r.PeerEfficiency = float64(r.P2P+r.Seed+r.Relay) / float64(r.All)
	}
	if d := r.StallS + played; d > 0 {
		r.RebufferRatio = r.StallS / d
	}
	if since > 0 {
		r.PlayRatio = playedSince / since
	}
	if r.Frames > 0 {
		r.DroppedRatio = float64(r.DroppedFrames) / float64(r.Frames)
	}
	if r.P2P > 0 {
		r.UploadPerP2P = float64(r.Upload) / float64(r.P2P)
	}
	if mediaS > 0 {
		r.BitrateKbps = 8 * float64(segBytes) / mediaS / 1000
	}
	if segments > 0 {
		r.SegmentS = mediaS / float64(segments)
	}
	// The size most viewers saw (the smallest name on a tie).
	for size, n := range sizes {
		if best := sizes[r.Resolution]; r.Resolution == "" || n > best || (n == best && size < r.Resolution) {
			r.Resolution = size
		}
	}
	if len(startups) > 0 {
		slices.Sort(startups)
		r.StartupP50 = nearestRank(startups, 50)
		r.StartupP95 = nearestRank(startups, 95)
		r.LatencyS = latency / float64(len(startups))
	}
	return r
}

// nearestRank is the p-th percentile of sorted (not empty) by the
// nearest-rank method: the smallest value with at least p % of the values
// at or below it.
func nearestRank(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// floorCheck is one acceptance floor judged on the rows.
type floorCheck struct {
	Name    string `json:"name"`
	Want    string `json:"want"`
	Got     string `json:"got"`
	Pass    bool   `json:"pass"`
	Skipped bool   `json:"skipped"` // a case it needs was not run
}

// Tolerances of the comparative floors. The runs share one small machine
// with the browsers, so two runs of the same case differ by a few hundred
// milliseconds of startup and a stall or so: the floors ask P2P not to be
// worse than HTTP alone beyond that noise, not to be better.
const (
	rebufferTolerance  = 0.001 // rebuffer ratio, absolute (0.1 point)
	startupTolerance   = 1.25  // startup p50, factor on the HTTP-only p50 ...
	startupToleranceMs = 250.0 // ... plus this many milliseconds
)

// swarmOffloadFloors are the least offload of the super scenario, by
// latency then N.
var swarmOffloadFloors = []struct {
	latency, n int
	min        float64
}{
	{3, 5, 0.50},
	{3, 20, 0.75},
	{9, 5, 0.70},
	{9, 20, 0.88},
}

// swarmFloors judges the super scenario: its offload against fixed floors,
// and against the http and p2p scenarios of the same latency, mode and N,
// that it is not worse for viewers (rebuffering, startup, stalls) and that
// it costs the node less egress. A floor that needs a case that was not run
// is skipped. Floor names carry the mode only when the rows mix modes.
func swarmFloors(rows []swarmRow) []floorCheck {
	type key struct {
		scenario, mode string
		latency, n     int
	}
	byKey := map[key]*swarmRow{}
	modes := []string{}
	latencies := []int{}
	for i := range rows {
		r := &rows[i]
		byKey[key{r.Scenario, r.Mode, r.Latency, r.N}] = r
		if !slices.Contains(modes, r.Mode) {
			modes = append(modes, r.Mode)
		}
		if !slices.Contains(latencies, r.Latency) {
			latencies = append(latencies, r.Latency)
		}
	}
	for _, f := range swarmOffloadFloors {
		if !slices.Contains(latencies, f.latency) {
			latencies = append(latencies, f.latency)
		}
	}
	slices.Sort(latencies)
	slices.SortFunc(modes, compareModes)
	multiMode := len(modes) > 1
	name := func(latency int, mode string, n int, what string) string {
		if multiMode && mode != "" {
			return fmt.Sprintf("latency %d %s, N=%d: %s", latency, mode, n, what)
		}
		return fmt.Sprintf("latency %d, N=%d: %s", latency, n, what)
	}

	var out []floorCheck
	for _, lat := range latencies {
		for _, f := range swarmOffloadFloors {
			if f.latency != lat {
				continue
			}
			want := ">= " + pct(f.min)
			judged := false
			for _, m := range modes {
				r := byKey[key{scenarioSuper, m, lat, f.n}]
				if r == nil {
					continue
				}
				judged = true
				out = append(out, floorCheck{
					Name: name(lat, m, f.n, "super offload"), Want: want,
					Got: pct(r.Offload), Pass: r.Offload >= f.min,
				})
			}
			if !judged {
				out = append(out, floorCheck{Name: name(lat, "", f.n, "super offload"), Want: want, Got: "not run", Skipped: true})
			}
		}
		for _, m := range modes {
			var ns []int
			for k := range byKey {
				if k.latency == lat && k.mode == m && (k.scenario == scenarioSuper || k.scenario == scenarioHTTP || k.scenario == scenarioP2P) && !slices.Contains(ns, k.n) {
					ns = append(ns, k.n)
				}
			}
			slices.Sort(ns)
			for _, n := range ns {
				super := byKey[key{scenarioSuper, m, lat, n}]
				http := byKey[key{scenarioHTTP, m, lat, n}]
				p2p := byKey[key{scenarioP2P, m, lat, n}]
				out = append(out, compareFloors(n, super, http, p2p, func(what string) string { return name(lat, m, n, what) })...)
			}
		}
	}
	return out
}

// compareFloors judges super against http and p2p of one latency, mode and
// n viewers; any of them may be nil (not run).
func compareFloors(n int, super, http, p2p *swarmRow, name func(string) string) []floorCheck {
	skipped := func(what, want string, missing ...string) floorCheck {
		return floorCheck{Name: name(what), Want: want, Got: strings.Join(missing, " and ") + " not run", Skipped: true}
	}
	missing := func(rows map[string]*swarmRow) []string {
		var m []string
		for _, s := range swarmScenarios {
			if r, ok := rows[s]; ok && r == nil {
				m = append(m, s)
			}
		}
		return m
	}
	var out []floorCheck
	vsHTTP := map[string]*swarmRow{scenarioSuper: super, scenarioHTTP: http}

	const rebuffer = "super rebuffer <= http"
	if m := missing(vsHTTP); len(m) > 0 {
		out = append(out, skipped(rebuffer, fmt.Sprintf("<= http + %.2f pt", 100*rebufferTolerance), m...))
	} else {
		limit := http.RebufferRatio + rebufferTolerance
		out = append(out, floorCheck{
			Name: name(rebuffer),
			Want: fmt.Sprintf("<= %s (http %s + %.2f pt)", pct2(limit), pct2(http.RebufferRatio), 100*rebufferTolerance),
			Got:  pct2(super.RebufferRatio),
			Pass: super.RebufferRatio <= limit,
		})
	}

	// A viewer that never started is the worst startup there is, so super
	// must also not leave more viewers unplayed than http did.
	const startup = "super startup p50 vs http"
	if m := missing(vsHTTP); len(m) > 0 {
		out = append(out, skipped(startup, fmt.Sprintf("<= http p50 × %g + %g ms", startupTolerance, startupToleranceMs), m...))
	} else {
		limit := http.StartupP50*startupTolerance + startupToleranceMs
		got := fmt.Sprintf("%.0f ms", super.StartupP50)
		if super.NeverPlayed > 0 || http.NeverPlayed > 0 {
			got += fmt.Sprintf(", %d never played (http %d)", super.NeverPlayed, http.NeverPlayed)
		}
		out = append(out, floorCheck{
			Name: name(startup),
			Want: fmt.Sprintf("<= %.0f ms (http %.0f ms × %g + %g)", limit, http.StartupP50, startupTolerance, startupToleranceMs),
			Got:  got,
			Pass: super.StartupP50 <= limit && super.NeverPlayed <= http.NeverPlayed,
		})
	}

	// With one viewer there is nobody to share with: egress cannot drop.
	const egress = "super node egress < http"
	if n >= 2 {
		if m := missing(vsHTTP); len(m) > 0 {
			out = append(out, skipped(egress, "< http", m...))
		} else {
			out = append(out, floorCheck{
				Name: name(egress),
				Want: fmt.Sprintf("< %s (http)", mib(http.NodeEgress)),
				Got:  mib(super.NodeEgress),
				Pass: super.NodeEgress < http.NodeEgress,
			})
		}
	}

	const stalls = "super stalls <= p2p"
	if m := missing(map[string]*swarmRow{scenarioSuper: super, scenarioP2P: p2p}); len(m) > 0 {
		out = append(out, skipped(stalls, "<= p2p", m...))
	} else {
		out = append(out, floorCheck{
			Name: name(stalls),
			Want: fmt.Sprintf("<= %d (p2p)", p2p.Stalls),
			Got:  fmt.Sprint(super.Stalls),
			Pass: super.Stalls <= p2p.Stalls,
		})
	}
	return out
}

// swarmPass reports whether every floor that was judged passed.
func swarmPass(floors []floorCheck) bool {
	for _, f := range floors {
		if !f.Skipped && !f.Pass {
			return false
		}
	}
	return true
}

func pct(r float64) string  { return fmt.Sprintf("%.1f %%", 100*r) }
func pct2(r float64) string { return fmt.Sprintf("%.2f %%", 100*r) }
func mib(n int64) string    { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// writeSwarmMarkdown prints the header, one table per latency (and mode),
// the floors and the errors of the cases.
func writeSwarmMarkdown(w io.Writer, raw *swarmRaw, rows []swarmRow, floors []floorCheck) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "## edgeswarm swarm: P2P offload with real viewers\n\n")
	fmt.Fprintf(&b, "started %s; %d CPU%s; %s; node %s\n\n",
		raw.Started.UTC().Format(time.RFC3339), raw.Host.CPUs, plural(raw.Host.CPUs),
		orUnknown(raw.Host.Chromium), orUnknown(raw.Host.Node))
	if s := formatSettings(raw.Settings); s != "" {
		fmt.Fprintf(&b, "settings: %s\n\n", s)
	}
	modes := map[int]map[string]bool{}
	for _, r := range rows {
		if modes[r.Latency] == nil {
			modes[r.Latency] = map[string]bool{}
		}
		modes[r.Latency][r.Mode] = true
	}
	for i, r := range rows {
		if i == 0 || r.Latency != rows[i-1].Latency || r.Mode != rows[i-1].Mode {
			fmt.Fprintf(&b, "### liveSyncDurationCount %d (%s player)\n\n", r.Latency, r.Mode)
			fmt.Fprintln(&b, "| scenario | N | offload | limit | peer eff. | http MiB | p2p MiB | seed MiB | relay MiB | node egress MiB | origin req | startup p50/p95 ms | stalls (n / s) | rebuffer % | latency s | P2P fail | rejected | node CPU % | host busy % joins / all |")
			fmt.Fprintln(&b, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		}
		startup := "–"
		if r.NeverPlayed < r.N {
			startup = fmt.Sprintf("%.0f / %.0f", r.StartupP50, r.StartupP95)
		}
		if r.NeverPlayed > 0 {
			startup += fmt.Sprintf(" (%d never played)", r.NeverPlayed)
		}
		host := "–"
		if r.Host != nil {
			host = fmt.Sprintf("%.0f / %.0f", r.Host.JoinBusyPct, r.Host.BusyPct)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %d / %.1f | %.1f | %.1f | %d | %d | %.1f | %s |\n",
			r.Scenario, r.N, pct(r.Offload), pct(r.Limit), pct(r.PeerEfficiency),
			mibNum(r.HTTP), mibNum(r.P2P), mibNum(r.Seed), mibNum(r.Relay), mibNum(r.NodeEgress), r.OriginRequests,
			startup, r.Stalls, r.StallS, 100*r.RebufferRatio, r.LatencyS,
			r.P2PFailures, r.Rejected, r.NodeCPUPct, host)
		if i == len(rows)-1 || rows[i+1].Latency != r.Latency || rows[i+1].Mode != r.Mode {
			fmt.Fprintln(&b)
			writePlaybackTable(&b, rows, r.Latency, r.Mode)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintf(&b, "No case was run.\n\n")
	}
	writeNetSection(&b, raw)
	writeDiagSection(&b, raw)
	if len(floors) > 0 {
		fmt.Fprintln(&b, "| floor | want | got | result |")
		fmt.Fprintln(&b, "|---|---|---|---|")
		for _, f := range floors {
			res := "PASS"
			switch {
			case f.Skipped:
				res = "skipped"
			case !f.Pass:
				res = "FAIL"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(f.Name), mdCell(f.Want), mdCell(f.Got), res)
		}
		verdict := "PASS"
		if !swarmPass(floors) {
			verdict = "FAIL"
		}
		fmt.Fprintf(&b, "\n%s\n", verdict)
	}
	first := true
	for _, r := range rows {
		if len(r.Errors) == 0 {
			continue
		}
		if first {
			fmt.Fprintf(&b, "\n### Errors\n\n")
			first = false
		}
		fmt.Fprintf(&b, "- %s, latency %d, %s, N=%d:\n", r.Scenario, r.Latency, r.Mode, r.N)
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "  - %s\n", oneLine(e))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writePlaybackTable prints, for one latency and mode, what the viewers'
// devices went through: play ratio, dropped frames, peer loads aborted,
// P2P bytes uploaded against received, the host's and the competing
// process's CPU, and the rendition as played.
func writePlaybackTable(b *bytes.Buffer, rows []swarmRow, latency int, mode string) {
	fmt.Fprintln(b, "| scenario | N | stalls (n / s) | rebuffer % | startup p50/p95 ms | play ratio | dropped frames | peer loads aborted | P2P up / received MiB | host busy % (load avg) | busy process CPU % | rendition played |")
	fmt.Fprintln(b, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
	for _, r := range rows {
		if r.Latency != latency || r.Mode != mode {
			continue
		}
		startup := "–"
		if r.NeverPlayed < r.N {
			startup = fmt.Sprintf("%.0f / %.0f", r.StartupP50, r.StartupP95)
		}
		if r.NeverPlayed > 0 {
			startup += fmt.Sprintf(" (%d never played)", r.NeverPlayed)
		}
		ratio := "–"
		if r.PlayRatio > 0 {
			ratio = fmt.Sprintf("%.3f", r.PlayRatio)
		}
		dropped := "–"
		if r.FramesKnown {
			dropped = fmt.Sprintf("%d of %d (%.2f %%)", r.DroppedFrames, r.Frames, 100*r.DroppedRatio)
		}
		upload := "–"
		if r.Upload > 0 || r.P2P > 0 {
			upload = fmt.Sprintf("%s / %s", mibNum(r.Upload), mibNum(r.P2P))
			if r.P2P > 0 {
				upload += fmt.Sprintf(" (%.2fx)", r.UploadPerP2P)
			}
		}
		host := "–"
		if r.Host != nil {
			host = fmt.Sprintf("%.0f", r.Host.BusyPct)
			if r.Host.Load1 > 0 {
				host += fmt.Sprintf(" (load %.1f)", r.Host.Load1)
			}
		}
		busy := "–"
		if r.BusyCores > 0 {
			busy = fmt.Sprintf("%.0f (asked %.0f)", r.BusyCPUPct, 100*r.BusyCores)
		}
		fmt.Fprintf(b, "| %s | %d | %d / %.1f | %.1f | %s | %s | %s | %d | %s | %s | %s | %s |\n",
			r.Scenario, r.N, r.Stalls, r.StallS, 100*r.RebufferRatio, startup, ratio, dropped, r.P2PFailures, upload, host, busy, mdCell(r.rendition()))
	}
	fmt.Fprintln(b)
}

// rendition describes what was played: "854x480, 897 kbit/s, 4.0 s segments".
func (r swarmRow) rendition() string {
	var parts []string
	if r.Resolution != "" {
		parts = append(parts, r.Resolution)
	}
	if r.BitrateKbps > 0 {
		parts = append(parts, fmt.Sprintf("%.0f kbit/s", r.BitrateKbps))
	}
	if r.SegmentS > 0 {
		parts = append(parts, fmt.Sprintf("%.1f s segments", r.SegmentS))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

// swarmReport is the JSON the swarm benchmark writes next to the raw file.
type swarmReport struct {
	Started  time.Time      `json:"started"`
	Host     swarmHost      `json:"host"`
	Settings map[string]any `json:"settings"`
	Rows     []swarmRow     `json:"rows"`
	Floors   []floorCheck   `json:"floors"`
	Pass     bool           `json:"pass"`
}

// writeSwarmJSON writes the rows and floors with the run's header, indented.
func writeSwarmJSON(w io.Writer, raw *swarmRaw, rows []swarmRow, floors []floorCheck) error {
	rep := swarmReport{
		Started: raw.Started, Host: raw.Host, Settings: raw.Settings,
		Rows: rows, Floors: floors, Pass: swarmPass(floors),
	}
	if rep.Rows == nil {
		rep.Rows = []swarmRow{}
	}
	if rep.Floors == nil {
		rep.Floors = []floorCheck{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func mibNum(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return oneLine(s)
}

// formatSettings prints the settings as key=value pairs in key order, the
// values as compact JSON.
func formatSettings(s map[string]any) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v, err := json.Marshal(s[k])
		if err != nil {
			v = []byte(fmt.Sprint(s[k]))
		}
		parts = append(parts, oneLine(k)+"="+oneLine(string(v)))
	}
	return strings.Join(parts, ", ")
}

// oneLine keeps text from the runner on one markdown line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mdCell keeps text inside one table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}
