package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// scenarioFlags are swarm-go's scenario knobs, the conditions under which
// issue 13 asks what the super-peer is worth: how far behind live viewers
// play, the segment duration, small uplinks, download-only viewers, churn.
// A flash crowd is --stagger (20 viewers within 5 s: 250ms).
type scenarioFlags struct {
	// Latency is how many segments behind the live edge a viewer starts
	// (hls.js liveSyncDurationCount).
	Latency int
	// SegmentDuration, when set, makes the origin synthetic with segments
	// this long at Bitrate (the demo clip's are 2 s).
	SegmentDuration time.Duration
	// Bitrate of the synthetic rendition, bits/s.
	Bitrate float64
	// Uplink, when set, replaces the profile's uplink per viewer, bits/s.
	Uplink float64
	// DownloadOnly is the share of viewers that do not upload, beside the
	// mobile homes' (which never do).
	DownloadOnly float64
	// Churn: every this long one viewer leaves (the fleet in join order,
	// round robin) and a new one joins in its place, once all joined.
	Churn time.Duration
	// NewStream gives every case a stream that starts with it (a demo
	// origin of its own, started when the case starts): the first
	// seconds of a new stream.
	NewStream bool
	// SeederYAML are extra seeder keys for the node, ';'-separated.
	SeederYAML string
	// Repeat is how many rounds of the scenarios to play, interleaved
	// (swarmgorepeat.go).
	Repeat int
}

func (f *scenarioFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.Latency, "latency", 3, "segments behind the live edge a viewer starts (hls.js liveSyncDurationCount)")
	fs.DurationVar(&f.SegmentDuration, "segment-duration", 0, "synthetic origin with segments this long at --bitrate (0: the demo clip's 2s segments)")
	fs.Float64Var(&f.Bitrate, "bitrate", 525e3, "the synthetic rendition's bitrate, bits/s (with --segment-duration)")
	fs.Float64Var(&f.Uplink, "uplink", 0, "every viewer's uplink, bits/s, instead of the profile's (e.g. 1e6: below twice the bitrate)")
	fs.Float64Var(&f.DownloadOnly, "download-only", 0, "share of viewers that do not upload (0..1), beside mobile homes")
	fs.DurationVar(&f.Churn, "churn", 0, "once all joined, every this long one viewer leaves and a new one joins in its place (0: none)")
	fs.StringVar(&f.SeederYAML, "seeder", "", "extra seeder keys for the node, YAML separated by ';', e.g. 'push_k: 4'")
	fs.IntVar(&f.Repeat, "repeat", 1, "rounds of the scenarios, interleaved (http, p2p, super, http, ...); above 1 adds the median and range of every figure and super against p2p round by round")
	fs.BoolVar(&f.NewStream, "new-stream", false, "every case gets a new stream, live from the case's start (viewers join as its first segment completes)")
}

func (f scenarioFlags) check(watch time.Duration) error {
	switch {
	case f.Latency < 1 || f.Latency > 10:
		return fmt.Errorf("--latency %d: want 1 to 10 segments", f.Latency)
	case f.SegmentDuration != 0 && (f.SegmentDuration < 500*time.Millisecond || f.SegmentDuration > 10*time.Second):
		return fmt.Errorf("--segment-duration %v: want 500ms to 10s", f.SegmentDuration)
	case !(f.Bitrate >= 64e3 && f.Bitrate <= 50e6):
		return fmt.Errorf("--bitrate %v: want 64e3 to 50e6 bits/s", f.Bitrate)
	case f.Uplink != 0 && !(f.Uplink >= 100e3 && f.Uplink <= 1e9):
		return fmt.Errorf("--uplink %v: want 100e3 to 1e9 bits/s", f.Uplink)
	case !(f.DownloadOnly >= 0 && f.DownloadOnly <= 1):
		return fmt.Errorf("--download-only %v: want a share from 0 to 1", f.DownloadOnly)
	case f.Churn < 0 || (f.Churn > 0 && f.Churn < time.Second):
		return errors.New("--churn: want 0 or at least 1s")
	case f.Repeat < 1 || f.Repeat > 20:
		return fmt.Errorf("--repeat %d: want 1 to 20 rounds", f.Repeat)
	case f.Churn > watch:
		return fmt.Errorf("--churn %v is longer than --watch %v: nobody would leave", f.Churn, watch)
	}
	return nil
}

// nodeYAML is the node's config file.
func (f scenarioFlags) nodeYAML() string {
	y := "seeder:\n  loopback: false\n"
	for kv := range strings.SplitSeq(f.SeederYAML, ";") {
		if kv = strings.TrimSpace(kv); kv != "" {
			y += "  " + kv + "\n"
		}
	}
	return y
}

// originArgs are the demo origin's flags for the scenario.
func (f scenarioFlags) originArgs() []string {
	if f.SegmentDuration == 0 {
		return nil
	}
	size := int64(math.Round(f.Bitrate / 8 * f.SegmentDuration.Seconds()))
	return []string{"--synthetic", "--segment-duration", f.SegmentDuration.String(), "--segment-size", strconv.FormatInt(size, 10)}
}

// caseOrigin is the demo origin of a run: one for every case, or with
// NewStream a new one per case.
type caseOrigin struct {
	f              scenarioFlags
	tmp, bin       string
	rendition, url string
	p              *proc
}

// start returns the origin's URL for the next case.
func (c *caseOrigin) start(ctx context.Context) (string, error) {
	if c.p != nil && !c.f.NewStream {
		return c.url, nil
	}
	c.stop()
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	args := c.f.originArgs()
	if c.f.NewStream {
		args = append(args, "--new-stream")
	}
	if c.p, err = startDemoOrigin(ctx, c.tmp, c.bin, addr, args...); err != nil {
		return "", err
	}
	c.url = "http://" + addr
	if c.f.NewStream { // its media playlists answer once the first segment is complete
		if err := c.p.waitReady(ctx, &http.Client{Timeout: 5 * time.Second}, c.url+"/live/"+c.rendition+"/index.m3u8", 200, 30*time.Second); err != nil {
			return "", err
		}
	}
	return c.url, nil
}

func (c *caseOrigin) stop() {
	if c.p != nil {
		c.p.stop()
		c.p = nil
	}
}

// homeArgs are the scenario's flags for the viewers of home i of homes,
// in a fleet of n viewers whose last joins lastJoin after the first.
func (f scenarioFlags) homeArgs(i, homes, n int, lastJoin time.Duration) []string {
	a := []string{"--behind", strconv.Itoa(f.Latency), "--index", strconv.Itoa(i), "--homes", strconv.Itoa(homes), "--fleet", strconv.Itoa(n),
		"--download-only", strconv.FormatFloat(f.DownloadOnly, 'g', -1, 64)}
	if f.Churn > 0 {
		a = append(a, "--churn", f.Churn.String(), "--churn-from", lastJoin.String())
	}
	return a
}

func (f scenarioFlags) settings() map[string]any {
	return map[string]any{"latency_segments": f.Latency, "segment_duration_s": f.SegmentDuration.Seconds(), "bitrate_bps": f.Bitrate,
		"uplink_bps": f.Uplink, "download_only": f.DownloadOnly, "churn_s": f.Churn.Seconds(), "new_stream": f.NewStream, "seeder": f.SeederYAML, "repeat": f.Repeat}
}

// downloadOnly says whether viewer g (join order) of the fleet does not
// upload, with share of the fleet download-only: spread evenly, so that
// half means every second viewer.
func downloadOnly(g int, share float64) bool {
	return math.Floor(float64(g+1)*share+1e-9) > math.Floor(float64(g)*share+1e-9)
}

// sessions is when viewer g's sessions start and end, relative to the
// first join: it joins at join and watches for watch; with churn, the
// fleet of n replaces viewer g at from + (m*n + g + 1) * churn (m = 0,
// 1, ...), each time with a new session.
func sessions(g, n int, join, watch, from, churn time.Duration) [][2]time.Duration {
	end := join + watch
	var out [][2]time.Duration
	start := join
	if churn > 0 {
		for m := 0; ; m++ {
			at := from + time.Duration(m*n+g+1)*churn
			if at >= end {
				break
			}
			if at > start {
				out = append(out, [2]time.Duration{start, at})
				start = at
			}
		}
	}
	return append(out, [2]time.Duration{start, end})
}

// startup is the start-up p50 / p95 in ms ("–" when nobody started).
func (s swarmGoSummary) startup() string { return p50p95ms(s.StartupS) }

// p50p95ms formats the median and the 95th percentile of seconds as
// milliseconds.
func p50p95ms(s []float64) string {
	if len(s) == 0 {
		return "–"
	}
	v := slices.Clone(s)
	slices.Sort(v)
	q := func(p float64) float64 { return 1000 * v[min(len(v)-1, int(math.Ceil(p*float64(len(v))))-1)] }
	return fmt.Sprintf("%.0f / %.0f", q(0.5), q(0.95))
}

// homeScenario is the home-viewers side of scenarioFlags.
type homeScenario struct {
	behind, index, homes, fleet int
	downloadOnly                float64
	churn, churnFrom            time.Duration
}

func (h *homeScenario) register(fs *flag.FlagSet) {
	fs.IntVar(&h.behind, "behind", 3, "segments behind live a viewer starts")
	fs.IntVar(&h.index, "index", 0, "the fleet's join index of this home's first viewer")
	fs.IntVar(&h.homes, "homes", 1, "homes in the fleet (the join index step between this home's viewers)")
	fs.IntVar(&h.fleet, "fleet", 1, "viewers in the fleet")
	fs.Float64Var(&h.downloadOnly, "download-only", 0, "share of the fleet that does not upload")
	fs.DurationVar(&h.churn, "churn", 0, "the fleet's churn interval")
	fs.DurationVar(&h.churnFrom, "churn-from", 0, "when churn starts, after the first join of the fleet")
}

// run plays k viewers of the home, viewer j joining at offset + j*every
// and watching for watch, each session with churn a result of its own.
func (h homeScenario) run(ctx context.Context, base *soak, k int, offset, every, watch time.Duration) []soakViewerResult {
	var (
		mu      sync.Mutex
		results []soakViewerResult
		wg      sync.WaitGroup
	)
	t0 := time.Now()
	for j := range k {
		g := h.index + j*h.homes
		s := *base
		if downloadOnly(g, h.downloadOnly) {
			s.noUpload = true
		}
		// The fleet's first join is at offset 0 of every home.
		for _, ss := range sessions(g, h.fleet, offset+time.Duration(j)*every, watch, h.churnFrom, h.churn) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(t0.Add(ss[0]))):
				}
				vctx, cancel := context.WithDeadline(ctx, t0.Add(ss[1]))
				defer cancel()
				r := s.viewer(vctx)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return results
}
