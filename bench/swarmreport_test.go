package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

const mb = 1 << 20

func readSwarmSample(t testing.TB) *swarmRaw {
	t.Helper()
	raw, err := readSwarmRaw(strings.NewReader(readTestdata(t, "swarm-raw.json")))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestSwarmSummarize(t *testing.T) {
	rows := summarize(readSwarmSample(t))
	type id struct {
		latency  int
		scenario string
		n        int
	}
	wantOrder := []id{
		{3, "http", 2}, {3, "http", 5}, {3, "p2p", 2}, {3, "super", 2}, {3, "super", 5},
		{9, "super", 5},
	}
	if len(rows) != len(wantOrder) {
		t.Fatalf("got %d rows, want %d", len(rows), len(wantOrder))
	}
	for i, w := range wantOrder {
		if got := (id{rows[i].Latency, rows[i].Scenario, rows[i].N}); got != w {
			t.Errorf("row %d is %+v, want %+v", i, got, w)
		}
	}

	// Figures worked out by hand from testdata/swarm-raw.json.
	tests := []struct {
		row  int
		want swarmRow
	}{
		{4, swarmRow{
			Scenario: "super", Latency: 3, Mode: "virtual", N: 5,
			HTTP: 11 * mb, P2P: 24 * mb, Seed: 5 * mb, All: 40 * mb,
			Offload: 0.6, Limit: 0.8, PeerEfficiency: 0.725,
			NodeEgress: 16 * mb, OriginRequests: 31,
			// played: 650 700 900 1200; p50 is rank 2, p95 rank 4.
			StartupP50: 700, StartupP95: 1200, NeverPlayed: 1,
			Stalls: 1, StallS: 1.5, RebufferRatio: 1.5 / (1.5 + 58 + 59.5 + 59 + 59.6),
			LatencyS:    6.3, // the viewer that never played does not count
			P2PFailures: 3, Rejected: 1,
			NodeCPUS: 9, NodeCPUPct: 12,
			Host:   &swarmLoad{JoinBusyPct: 97.5, BusyPct: 64.2},
			Errors: []string{"viewer v5 never started playing", "v5: hls.js fatal: manifestLoadError"},
		}},
		{1, swarmRow{
			Scenario: "http", Latency: 3, Mode: "virtual", N: 5,
			HTTP: 40 * mb, All: 40 * mb, Limit: 0.8, NodeEgress: 40 * mb, OriginRequests: 30,
			StartupP50: 700, StartupP95: 800, LatencyS: 6.1,
			NodeCPUS: 6, NodeCPUPct: 600.0 / 70,
		}},
		{0, swarmRow{
			Scenario: "http", Latency: 3, Mode: "virtual", N: 2,
			HTTP: 16 * mb, All: 16 * mb, Limit: 0.5, NodeEgress: 16 * mb, OriginRequests: 30,
			StartupP50: 800, StartupP95: 900, LatencyS: 6,
			NodeCPUS: 2.5, NodeCPUPct: 250.0 / 64,
		}},
		{2, swarmRow{
			Scenario: "p2p", Latency: 3, Mode: "virtual", N: 2,
			HTTP: 11 * mb, P2P: 5 * mb, All: 16 * mb, Offload: 0.3125, Limit: 0.5, PeerEfficiency: 0.3125,
			NodeEgress: 11 * mb, OriginRequests: 30,
			StartupP50: 1000, StartupP95: 1400,
			Stalls: 3, StallS: 4, RebufferRatio: 4.0 / (4 + 58 + 57), LatencyS: 6.7,
			P2PFailures: 4, NodeCPUS: 3, NodeCPUPct: 300.0 / 64,
		}},
		{3, swarmRow{
			Scenario: "super", Latency: 3, Mode: "virtual", N: 2,
			HTTP: 7 * mb, P2P: 5 * mb, Seed: 4 * mb, All: 16 * mb,
			Offload: 0.3125, Limit: 0.5, PeerEfficiency: 0.5625,
			NodeEgress: 11 * mb, OriginRequests: 30,
			StartupP50: 850, StartupP95: 900, LatencyS: 6.3,
			NodeCPUS: 3.2, NodeCPUPct: 320.0 / 64,
		}},
		{5, swarmRow{
			Scenario: "super", Latency: 9, Mode: "virtual", N: 5,
			HTTP: 5 * mb, P2P: 30 * mb, Seed: 5 * mb, All: 40 * mb,
			Offload: 0.75, Limit: 0.8, PeerEfficiency: 0.875,
			NodeEgress: 10 * mb, OriginRequests: 30,
			StartupP50: 1700, StartupP95: 1900, LatencyS: 18.6,
			NodeCPUS: 8, NodeCPUPct: 10,
		}},
	}
	for _, tt := range tests {
		got, want := rows[tt.row], tt.want
		t.Run(fmt.Sprintf("%s/latency %d/N=%d", want.Scenario, want.Latency, want.N), func(t *testing.T) {
			assertSwarmRow(t, got, want)
		})
	}
}

func assertSwarmRow(t testing.TB, got, want swarmRow) {
	t.Helper()
	if got.Scenario != want.Scenario || got.Latency != want.Latency || got.Mode != want.Mode || got.N != want.N {
		t.Fatalf("row %s/%d/%s/%d, want %s/%d/%s/%d", got.Scenario, got.Latency, got.Mode, got.N, want.Scenario, want.Latency, want.Mode, want.N)
	}
	ints := []struct {
		name      string
		got, want int64
	}{
		{"HTTP", got.HTTP, want.HTTP}, {"P2P", got.P2P, want.P2P}, {"Seed", got.Seed, want.Seed}, {"All", got.All, want.All},
		{"NodeEgress", got.NodeEgress, want.NodeEgress}, {"OriginRequests", got.OriginRequests, want.OriginRequests},
		{"NeverPlayed", int64(got.NeverPlayed), int64(want.NeverPlayed)}, {"Stalls", int64(got.Stalls), int64(want.Stalls)},
		{"P2PFailures", int64(got.P2PFailures), int64(want.P2PFailures)}, {"Rejected", int64(got.Rejected), int64(want.Rejected)},
	}
	for _, c := range ints {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	floats := []struct {
		name      string
		got, want float64
	}{
		{"Offload", got.Offload, want.Offload}, {"Limit", got.Limit, want.Limit}, {"PeerEfficiency", got.PeerEfficiency, want.PeerEfficiency},
		{"StartupP50", got.StartupP50, want.StartupP50}, {"StartupP95", got.StartupP95, want.StartupP95},
		{"StallS", got.StallS, want.StallS}, {"RebufferRatio", got.RebufferRatio, want.RebufferRatio},
		{"LatencyS", got.LatencyS, want.LatencyS}, {"NodeCPUS", got.NodeCPUS, want.NodeCPUS}, {"NodeCPUPct", got.NodeCPUPct, want.NodeCPUPct},
	}
	for _, c := range floats {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if strings.Join(got.Errors, "\n") != strings.Join(want.Errors, "\n") {
		t.Errorf("Errors = %q, want %q", got.Errors, want.Errors)
	}
}

func TestSwarmSummarizeEdgeCases(t *testing.T) {
	startup := 500.0
	raw := &swarmRaw{Cases: []swarmCase{
		// Nothing received, nothing played, one viewer never reported.
		{Scenario: "p2pml", Latency: 3, Mode: "video", N: 2, Viewers: []swarmViewer{{Name: "v1"}}},
		// One viewer: no sharing possible, limit 0.
		{Scenario: "super", Latency: 3, Mode: "video", N: 1, WallS: 0, Viewers: []swarmViewer{
			{Name: "v1", StartupMs: &startup, PlayedS: 10, Bytes: swarmBytes{HTTP: 100}},
		}},
	}}
	rows := summarize(raw)
	assertSwarmRow(t, rows[0], swarmRow{Scenario: "super", Latency: 3, Mode: "video", N: 1, HTTP: 100, All: 100, StartupP50: 500, StartupP95: 500})
	assertSwarmRow(t, rows[1], swarmRow{Scenario: "p2pml", Latency: 3, Mode: "video", N: 2, Limit: 0.5, NeverPlayed: 2})
}

func TestNearestRank(t *testing.T) {
	tests := []struct {
		values []float64
		p      float64
		want   float64
	}{
		{[]float64{7}, 50, 7},
		{[]float64{7}, 95, 7},
		{[]float64{1, 2}, 50, 1},
		{[]float64{1, 2}, 95, 2},
		{[]float64{1, 2, 3, 4, 5}, 50, 3},
		{[]float64{1, 2, 3, 4, 5}, 95, 5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 95, 19},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 50, 10},
		{[]float64{1, 2, 3}, 0, 1},
	}
	for _, tt := range tests {
		if got := nearestRank(tt.values, tt.p); got != tt.want {
			t.Errorf("nearestRank(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
		}
	}
}

// floorStates maps a floor name to "PASS", "FAIL" or "skipped".
func floorStates(floors []floorCheck) map[string]string {
	m := map[string]string{}
	for _, f := range floors {
		switch {
		case f.Skipped:
			m[f.Name] = "skipped"
		case f.Pass:
			m[f.Name] = "PASS"
		default:
			m[f.Name] = "FAIL"
		}
	}
	return m
}

func TestSwarmFloorsSample(t *testing.T) {
	floors := swarmFloors(summarize(readSwarmSample(t)))
	want := map[string]string{
		"latency 3, N=5: super offload":             "PASS", // 60 %
		"latency 3, N=20: super offload":            "skipped",
		"latency 3, N=2: super rebuffer <= http":    "PASS",
		"latency 3, N=2: super startup p50 vs http": "PASS", // 850 <= 800 × 1.25 + 250
		"latency 3, N=2: super node egress < http":  "PASS", // 11 < 16 MiB
		"latency 3, N=2: super stalls <= p2p":       "PASS", // 0 <= 3
		"latency 3, N=5: super rebuffer <= http":    "FAIL", // 0.63 % > 0 % + 0.1
		"latency 3, N=5: super startup p50 vs http": "FAIL", // a viewer never played
		"latency 3, N=5: super node egress < http":  "PASS",
		"latency 3, N=5: super stalls <= p2p":       "skipped", // no p2p case with 5 viewers
		"latency 9, N=5: super offload":             "PASS",    // 75 %
		"latency 9, N=20: super offload":            "skipped",
		"latency 9, N=5: super rebuffer <= http":    "skipped",
		"latency 9, N=5: super startup p50 vs http": "skipped",
		"latency 9, N=5: super node egress < http":  "skipped",
		"latency 9, N=5: super stalls <= p2p":       "skipped",
	}
	got := floorStates(floors)
	if len(floors) != len(want) {
		t.Errorf("got %d floors, want %d: %v", len(floors), len(want), got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	if swarmPass(floors) {
		t.Error("swarmPass = true with two failed floors")
	}
	for _, f := range floors {
		if f.Name == "latency 3, N=5: super startup p50 vs http" {
			if f.Want != "<= 1125 ms (http 700 ms × 1.25 + 250)" || f.Got != "700 ms, 1 never played (http 0)" {
				t.Errorf("startup floor want %q got %q", f.Want, f.Got)
			}
		}
	}
}

func TestSwarmFloors(t *testing.T) {
	row := func(scenario string, latency, n int, f func(*swarmRow)) swarmRow {
		r := swarmRow{Scenario: scenario, Latency: latency, Mode: "virtual", N: n, StartupP50: 1000, NodeEgress: 100}
		if f != nil {
			f(&r)
		}
		return r
	}
	offload := func(v float64) func(*swarmRow) { return func(r *swarmRow) { r.Offload = v } }
	tests := []struct {
		name string
		rows []swarmRow
		want map[string]string // floors not listed must be skipped
	}{
		{
			name: "offload floors are inclusive",
			rows: []swarmRow{
				row("super", 3, 5, offload(0.50)), row("super", 3, 20, offload(0.7499)),
				row("super", 9, 5, offload(0.70)), row("super", 9, 20, offload(0.88)),
			},
			want: map[string]string{
				"latency 3, N=5: super offload": "PASS", "latency 3, N=20: super offload": "FAIL",
				"latency 9, N=5: super offload": "PASS", "latency 9, N=20: super offload": "PASS",
			},
		},
		{
			name: "other scenarios and latencies have no offload floor",
			rows: []swarmRow{row("p2p", 3, 5, offload(0.1)), row("super", 6, 5, offload(0.1)), row("super", 3, 10, offload(0.1))},
			want: map[string]string{},
		},
		{
			name: "not worse than http within the tolerance",
			rows: []swarmRow{
				row("http", 3, 10, func(r *swarmRow) { r.RebufferRatio = 0.002; r.StartupP50 = 800; r.NodeEgress = 1000 }),
				row("super", 3, 10, func(r *swarmRow) { r.RebufferRatio = 0.003; r.StartupP50 = 1250; r.NodeEgress = 999 }),
			},
			want: map[string]string{
				"latency 3, N=10: super rebuffer <= http":    "PASS",
				"latency 3, N=10: super startup p50 vs http": "PASS",
				"latency 3, N=10: super node egress < http":  "PASS",
			},
		},
		{
			name: "worse than http beyond the tolerance",
			rows: []swarmRow{
				row("http", 3, 10, func(r *swarmRow) { r.RebufferRatio = 0.002; r.StartupP50 = 800; r.NodeEgress = 1000 }),
				row("super", 3, 10, func(r *swarmRow) { r.RebufferRatio = 0.0031; r.StartupP50 = 1251; r.NodeEgress = 1000 }),
			},
			want: map[string]string{
				"latency 3, N=10: super rebuffer <= http":    "FAIL",
				"latency 3, N=10: super startup p50 vs http": "FAIL",
				"latency 3, N=10: super node egress < http":  "FAIL",
			},
		},
		{
			name: "one viewer has no egress floor",
			rows: []swarmRow{row("http", 3, 1, nil), row("super", 3, 1, nil)},
			want: map[string]string{
				"latency 3, N=1: super rebuffer <= http":    "PASS",
				"latency 3, N=1: super startup p50 vs http": "PASS",
			},
		},
		{
			name: "stalls against p2p",
			rows: []swarmRow{
				row("p2p", 3, 2, func(r *swarmRow) { r.Stalls = 2 }), row("super", 3, 2, func(r *swarmRow) { r.Stalls = 2 }),
				row("p2p", 3, 5, func(r *swarmRow) { r.Stalls = 0 }), row("super", 3, 5, func(r *swarmRow) { r.Stalls = 1 }),
			},
			want: map[string]string{
				"latency 3, N=2: super stalls <= p2p": "PASS",
				"latency 3, N=5: super stalls <= p2p": "FAIL",
				"latency 3, N=5: super offload":       "FAIL",
			},
		},
		{
			name: "only compared within the same latency",
			rows: []swarmRow{row("http", 9, 5, nil), row("super", 3, 5, offload(0.6))},
			want: map[string]string{"latency 3, N=5: super offload": "PASS"},
		},
		{
			name: "modes are named and compared apart when mixed",
			rows: []swarmRow{
				row("super", 3, 5, offload(0.6)),
				row("super", 3, 5, func(r *swarmRow) { r.Mode = "video"; r.Offload = 0.4 }),
				row("p2p", 3, 5, func(r *swarmRow) { r.Mode = "video" }),
			},
			want: map[string]string{
				"latency 3 virtual, N=5: super offload":     "PASS",
				"latency 3 video, N=5: super offload":       "FAIL",
				"latency 3 video, N=5: super stalls <= p2p": "PASS",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			floors := swarmFloors(tt.rows)
			got := floorStates(floors)
			for name, w := range tt.want {
				if got[name] != w {
					t.Errorf("%s: %q, want %q", name, got[name], w)
				}
			}
			for name, g := range got {
				if _, listed := tt.want[name]; !listed && g != "skipped" {
					t.Errorf("%s: %q, want skipped", name, g)
				}
			}
			// The fixed offload floors are always listed, judged or not.
			for _, name := range []string{"latency 3, N=20: super offload", "latency 9, N=20: super offload"} {
				found := false
				for n := range got {
					found = found || strings.HasSuffix(n, "N=20: super offload") && strings.HasPrefix(n, name[:9])
				}
				if !found {
					t.Errorf("floor %q not listed: %v", name, got)
				}
			}
			wantPass := true
			for _, w := range tt.want {
				wantPass = wantPass && w != "FAIL"
			}
			if swarmPass(floors) != wantPass {
				t.Errorf("swarmPass = %v, want %v", !wantPass, wantPass)
			}
		})
	}
}

// mutateSample decodes the sample, lets f change it and encodes it again.
func mutateSample(t testing.TB, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(readTestdata(t, "swarm-raw.json")), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sampleCase(m map[string]any, i int) map[string]any {
	return m["cases"].([]any)[i].(map[string]any)
}

func sampleViewer(m map[string]any, c, v int) map[string]any {
	return sampleCase(m, c)["viewers"].([]any)[v].(map[string]any)
}

func TestReadSwarmRawRejects(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr string
	}{
		{"empty", "", "EOF"},
		{"not JSON", "started: today", "invalid character"},
		{"truncated", `{"started": "2026-11-26T10:00:00Z", "cases": [`, "unexpected EOF"},
		{"array", `[]`, "top level: want a JSON object"},
		{"null", `null`, "top level: want a JSON object"},
		{"trailing data", `{"started": "2026-11-26T10:00:00Z", "settings": {}, "host": {}, "cases": []} {}`, "trailing data"},
		{"missing started", mutateSample(t, func(m map[string]any) { delete(m, "started") }), `top level: missing "started"`},
		{"bad started", mutateSample(t, func(m map[string]any) { m["started"] = "yesterday" }), "cannot parse"},
		{"zero started", mutateSample(t, func(m map[string]any) { m["started"] = "0001-01-01T00:00:00Z" }), `"started" is not set`},
		{"cases not an array", mutateSample(t, func(m map[string]any) { m["cases"] = map[string]any{} }), "cases: want an array"},
		{"missing scenario", mutateSample(t, func(m map[string]any) { delete(sampleCase(m, 1), "scenario") }), `cases[1]: missing "scenario"`},
		{"missing node figure", mutateSample(t, func(m map[string]any) { delete(sampleCase(m, 0)["node"].(map[string]any), "seed_bytes") }), `cases[0].node: missing "seed_bytes"`},
		{"null node", mutateSample(t, func(m map[string]any) { sampleCase(m, 0)["node"] = nil }), "cases[0].node: want a JSON object"},
		{"missing startup", mutateSample(t, func(m map[string]any) { delete(sampleViewer(m, 0, 4), "startup_ms") }), `cases[0].viewers[4]: missing "startup_ms"`},
		{"missing byte source", mutateSample(t, func(m map[string]any) { delete(sampleViewer(m, 2, 1)["bytes"].(map[string]any), "p2p") }), `cases[2].viewers[1].bytes: missing "p2p"`},
		{"unknown scenario", mutateSample(t, func(m map[string]any) { sampleCase(m, 3)["scenario"] = "webtorrent" }), `cases[3]: unknown scenario "webtorrent" (want http, p2p, super, p2pml)`},
		{"unknown mode", mutateSample(t, func(m map[string]any) { sampleCase(m, 3)["mode"] = "real" }), `unknown mode "real"`},
		{"latency 0", mutateSample(t, func(m map[string]any) { sampleCase(m, 0)["latency"] = 0 }), "latency 0 out of range"},
		{"fractional n", mutateSample(t, func(m map[string]any) { sampleCase(m, 0)["n"] = 2.5 }), "cannot unmarshal number 2.5"},
		{"n as string", mutateSample(t, func(m map[string]any) { sampleCase(m, 0)["n"] = "5" }), "cannot unmarshal string"},
		{"more viewers than n", mutateSample(t, func(m map[string]any) { sampleCase(m, 0)["n"] = 4 }), "5 viewers reported for n=4"},
		{"negative bytes", mutateSample(t, func(m map[string]any) { sampleViewer(m, 0, 1)["bytes"].(map[string]any)["http"] = -1 }), "v2: bytes.http -1 out of range"},
		{"negative startup", mutateSample(t, func(m map[string]any) { sampleViewer(m, 0, 1)["startup_ms"] = -5 }), "startup_ms -5 out of range"},
		{"absurd played time", mutateSample(t, func(m map[string]any) { sampleViewer(m, 0, 1)["played_s"] = 1e300 }), "played_s 1e+300 out of range"},
		{"host busier than 100 %", mutateSample(t, func(m map[string]any) { sampleCase(m, 0)["host"].(map[string]any)["busy_pct"] = 250 }), "host.busy_pct 250 out of range"},
		{"negative cpu", mutateSample(t, func(m map[string]any) { sampleCase(m, 0)["node"].(map[string]any)["cpu_s"] = -1 }), "node.cpu_s -1 out of range"},
		{"duplicate case", mutateSample(t, func(m map[string]any) {
			m["cases"] = append(m["cases"].([]any), sampleCase(m, 2))
		}), "cases[6]: same scenario, latency, mode and n as cases[2] (http latency 3 virtual n=2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := readSwarmRaw(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("accepted: %+v", raw)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q lacks %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "swarm raw file: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestReadSwarmRawAccepts(t *testing.T) {
	input := mutateSample(t, func(m map[string]any) {
		m["runner_version"] = "1.2.3" // unknown keys are ignored
		sampleCase(m, 0)["extra"] = true
		v := sampleViewer(m, 0, 0)
		for _, k := range []string{"join_ms", "upload_bytes", "peers", "errors"} {
			delete(v, k) // descriptive keys may be absent
		}
		delete(sampleCase(m, 0), "errors")
		delete(sampleCase(m, 0)["node"].(map[string]any), "http_all_bytes")
		m["settings"].(map[string]any)["big"] = json.Number("12345678901234567890")
	})
	raw, err := readSwarmRaw(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Cases) != 6 || raw.Cases[0].Errors != nil || raw.Cases[0].Viewers[0].Peers != 0 {
		t.Errorf("decoded %+v", raw.Cases[0])
	}
	if got := formatSettings(raw.Settings); !strings.Contains(got, "big=12345678901234567890") || !strings.Contains(got, "viewers=[2,5]") {
		t.Errorf("settings lost their numbers: %s", got)
	}
	if _, err := readSwarmRaw(strings.NewReader(`{"started": "2026-11-26T10:00:00Z", "settings": {}, "host": {}, "cases": []}`)); err != nil {
		t.Errorf("a run without cases: %v", err)
	}
}

func TestSwarmMarkdown(t *testing.T) {
	raw := readSwarmSample(t)
	rows := summarize(raw)
	floors := swarmFloors(rows)
	var b bytes.Buffer
	if err := writeSwarmMarkdown(&b, raw, rows, floors); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"started 2026-11-26T10:00:00Z; 2 CPUs; Chromium 131.0.6778.85; node edgeswarm dev\n",
		`settings: churn=0, latencies=[3,9], mode="virtual", rendition="mid", scenarios=["http","p2p","super"], segment_s=2, stagger_ms=500, stream="/live/master.m3u8", viewers=[2,5], watch_s=60` + "\n",
		"### liveSyncDurationCount 3 (virtual player)\n",
		"| scenario | N | offload | limit | peer eff. | http MiB | p2p MiB | seed MiB | relay MiB | node egress MiB | origin req | startup p50/p95 ms | stalls (n / s) | rebuffer % | latency s | P2P fail | rejected | node CPU % | host busy % joins / all |\n",
		"| super | 5 | 60.0 % | 80.0 % | 72.5 % | 11.0 | 24.0 | 5.0 | 0.0 | 16.0 | 31 | 700 / 1200 (1 never played) | 1 / 1.5 | 0.6 | 6.3 | 3 | 1 | 12.0 | 98 / 64 |\n",
		"| http | 5 | 0.0 % | 80.0 % | 0.0 % | 40.0 | 0.0 | 0.0 | 0.0 | 40.0 | 30 | 700 / 800 | 0 / 0.0 | 0.0 | 6.1 | 0 | 0 | 8.6 | – |\n",
		"| p2p | 2 | 31.2 % | 50.0 % | 31.2 % | 11.0 | 5.0 | 0.0 | 0.0 | 11.0 | 30 | 1000 / 1400 | 3 / 4.0 | 3.4 | 6.7 | 4 | 0 | 4.7 | – |\n",
		"### liveSyncDurationCount 9 (virtual player)\n",
		"| floor | want | got | result |\n",
		"| latency 3, N=5: super offload | >= 50.0 % | 60.0 % | PASS |\n",
		"| latency 3, N=20: super offload | >= 75.0 % | not run | skipped |\n",
		"| latency 3, N=5: super rebuffer <= http | <= 0.10 % (http 0.00 % + 0.10 pt) | 0.63 % | FAIL |\n",
		"| latency 3, N=5: super node egress < http | < 40.0 MiB (http) | 16.0 MiB | PASS |\n",
		"| latency 3, N=5: super stalls <= p2p | <= p2p | p2p not run | skipped |\n",
		"| latency 9, N=5: super rebuffer <= http | <= http + 0.10 pt | http not run | skipped |\n",
		"| latency 9, N=5: super startup p50 vs http | <= http p50 × 1.25 + 250 ms | http not run | skipped |\n",
		"\nFAIL\n",
		"### Errors\n\n- super, latency 3, virtual, N=5:\n  - viewer v5 never started playing\n  - v5: hls.js fatal: manifestLoadError\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "| scenario | N | offload |") != 2 || strings.Count(out, "| scenario | N | stalls (n / s) |") != 2 {
		t.Errorf("want one delivery and one playback table per latency:\n%s", out)
	}
}

func TestSwarmMarkdownKeepsTablesIntact(t *testing.T) {
	raw := &swarmRaw{
		Started:  time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		Settings: map[string]any{"stream": "/a|b\nc"},
		Host:     swarmHost{CPUs: 1, Chromium: "Chromium\n131"},
	}
	floors := []floorCheck{{Name: "a | b", Want: "x\ny", Got: "z", Pass: true}}
	var b bytes.Buffer
	if err := writeSwarmMarkdown(&b, raw, nil, floors); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"1 CPU; Chromium 131; node unknown\n",
		`stream="/a|b\nc"`,
		"No case was run.",
		`| a \| b | x y | z | PASS |`,
		"\nPASS\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestSwarmJSON(t *testing.T) {
	raw := readSwarmSample(t)
	rows := summarize(raw)
	floors := swarmFloors(rows)
	var b bytes.Buffer
	if err := writeSwarmJSON(&b, raw, rows, floors); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Started  time.Time      `json:"started"`
		Host     swarmHost      `json:"host"`
		Settings map[string]any `json:"settings"`
		Rows     []swarmRow     `json:"rows"`
		Floors   []floorCheck   `json:"floors"`
		Pass     *bool          `json:"pass"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, b.String())
	}
	if !got.Started.Equal(raw.Started) || got.Host != raw.Host || got.Settings["rendition"] != "mid" {
		t.Errorf("header not kept: %+v %+v %v", got.Started, got.Host, got.Settings)
	}
	if len(got.Rows) != len(rows) || len(got.Floors) != len(floors) || got.Pass == nil || *got.Pass {
		t.Fatalf("rows %d floors %d pass %v", len(got.Rows), len(got.Floors), got.Pass)
	}
	assertSwarmRow(t, got.Rows[4], rows[4])
	for _, key := range []string{`"offload": 0.6`, `"node_egress_bytes": 16777216`, `"startup_p95_ms": 1200`, `"skipped": true`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}

	b.Reset()
	if err := writeSwarmJSON(&b, &swarmRaw{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"rows": []`) || !strings.Contains(b.String(), `"pass": true`) {
		t.Errorf("empty report: %s", b.String())
	}
}

func FuzzReadSwarmRaw(f *testing.F) {
	f.Add(readTestdata(f, "swarm-raw.json"))
	f.Add(`{"started": "2026-11-26T10:00:00Z", "settings": {}, "host": {}, "cases": []}`)
	f.Add(`{"started": "2026-11-26T10:00:00Z", "settings": null, "host": {}, "cases": [{"scenario": "http", "latency": 1, "mode": "video", "n": 1, "watch_s": 0, "wall_s": 0,
		"node": {"cpu_s": 0, "http_bytes": 0, "seed_bytes": 0, "origin_requests": 0},
		"viewers": [{"name": "", "startup_ms": null, "played_s": 0, "stalls": 0, "stall_ms": 0, "latency_s": 0, "bytes": {"http": 0, "p2p": 0, "seed": 0}, "p2p_failures": 0, "rejected": 0}]}]}`)
	f.Add(`{"cases": [{}]}`)
	f.Add(`[1, 2]`)
	f.Fuzz(func(t *testing.T, input string) {
		raw, err := readSwarmRaw(strings.NewReader(input))
		if err != nil {
			return
		}
		rows := summarize(raw)
		for _, r := range rows {
			for _, v := range []float64{r.Offload, r.Limit, r.PeerEfficiency, r.RebufferRatio} {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("ratio out of [0, 1] in %+v", r)
				}
			}
			for _, v := range []float64{r.StartupP50, r.StartupP95, r.StallS, r.LatencyS, r.NodeCPUS, r.NodeCPUPct} {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Fatalf("figure not finite in %+v", r)
				}
			}
			if r.All < 0 || r.NodeEgress < 0 || r.StartupP50 > r.StartupP95 {
				t.Fatalf("inconsistent row %+v", r)
			}
		}
		floors := swarmFloors(rows)
		if err := writeSwarmMarkdown(io.Discard, raw, rows, floors); err != nil {
			t.Fatal(err)
		}
		if err := writeSwarmJSON(io.Discard, raw, rows, floors); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			var b bytes.Buffer
			if err := plotOffload(&b, rows, r.Latency); err != nil {
				t.Fatal(err)
			}
			parseSVG(t, b.Bytes())
			b.Reset()
			if err := plotEgress(&b, rows, r.Latency); err != nil {
				t.Fatal(err)
			}
			parseSVG(t, b.Bytes())
		}
	})
}

func TestSwarmNodeEgressPrefersTheNodesOwnCounter(t *testing.T) {
	n := swarmNode{HTTPBytes: 100, HTTPAllBytes: 130, SeedBytes: 7}
	if got := n.egress(); got != 137 {
		t.Errorf("egress with the node's HTTP counter = %d, want 130 + 7", got)
	}
	n.HTTPAllBytes = 0
	if got := n.egress(); got != 107 {
		t.Errorf("egress without it = %d, want the viewers' 100 + 7", got)
	}
}

// The playback figures: play ratio, dropped frames, uploads against P2P
// received, the competing process, and the rendition derived from what
// was played.
func TestSwarmPlaybackFigures(t *testing.T) {
	ms := func(v float64) *float64 { return &v }
	c := swarmCase{
		Scenario: "super", Latency: 3, Mode: "video", N: 3, WatchS: 60, WallS: 80,
		Busy: &swarmBusy{Cores: 0.5, CPUS: 36}, Load: &swarmLoad{JoinBusyPct: 99, BusyPct: 97.4, Load1: 6.25},
		Viewers: []swarmViewer{
			{Name: "v1", StartupMs: ms(600), SinceStartS: 70, PlayedS: 63, Bytes: swarmBytes{HTTP: 4 * mb, P2P: 2 * mb}, UploadBytes: 5 * mb,
				Segments: 17, SegmentBytes: 6 * mb, MediaS: 68, Frames: &swarmFrames{Total: 2000, Dropped: 30, Width: 854, Height: 480}},
			{Name: "v2", StartupMs: ms(700), SinceStartS: 30, PlayedS: 27, Bytes: swarmBytes{HTTP: 2 * mb, P2P: 2 * mb}, UploadBytes: 3 * mb,
				Segments: 8, SegmentBytes: 4 * mb, MediaS: 32, Frames: &swarmFrames{Total: 1000, Dropped: 0, Width: 854, Height: 480}},
			// Never played: its frames count, its clock does not.
			{Name: "v3", SinceStartS: 0, Frames: &swarmFrames{Width: 0, Height: 0}},
		},
	}
	if err := c.validate(0); err != nil {
		t.Fatal(err)
	}
	r := summarizeCase(&c)
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("PlayRatio", r.PlayRatio, 90.0/100)
	if !r.FramesKnown || r.Frames != 3000 || r.DroppedFrames != 30 {
		t.Errorf("frames %v %d %d, want 3000 decoded, 30 dropped", r.FramesKnown, r.Frames, r.DroppedFrames)
	}
	near("DroppedRatio", r.DroppedRatio, 0.01)
	if r.Upload != 8*mb {
		t.Errorf("Upload = %d, want 8 MiB", r.Upload)
	}
	near("UploadPerP2P", r.UploadPerP2P, 2)
	near("BitrateKbps", r.BitrateKbps, 8*10*mb/100.0/1000)
	near("SegmentS", r.SegmentS, 4)
	if r.Resolution != "854x480" {
		t.Errorf("Resolution = %q", r.Resolution)
	}
	near("BusyCores", r.BusyCores, 0.5)
	near("BusyCPUPct", r.BusyCPUPct, 45)

	var b bytes.Buffer
	raw := &swarmRaw{Started: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), Cases: []swarmCase{c}}
	if err := writeSwarmMarkdown(&b, raw, []swarmRow{r}, nil); err != nil {
		t.Fatal(err)
	}
	want := "| super | 3 | 0 / 0.0 | 0.0 | 600 / 700 (1 never played) | 0.900 | 30 of 3000 (1.00 %) | 0 | 8.0 / 4.0 (2.00x) | 97 (load 6.2) | 45 (asked 50) | 854x480, 839 kbit/s, 4.0 s segments |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("the playback table lacks\n%s\nin\n%s", want, b.String())
	}

	// Virtual mode reports no frames: the column says so instead of 0.
	c.Mode, c.Busy, c.Load = "virtual", nil, nil
	for i := range c.Viewers {
		c.Viewers[i].Frames = nil
	}
	r = summarizeCase(&c)
	b.Reset()
	if err := writeSwarmMarkdown(&b, raw, []swarmRow{r}, nil); err != nil {
		t.Fatal(err)
	}
	if want := "| 0.900 | – | 0 | 8.0 / 4.0 (2.00x) | – | – | 839 kbit/s, 4.0 s segments |"; !strings.Contains(b.String(), want) {
		t.Errorf("virtual mode: the playback table lacks\n%s\nin\n%s", want, b.String())
	}

	// More dropped frames than decoded is a runner bug.
	c.Viewers[0].Frames = &swarmFrames{Total: 1, Dropped: 2}
	if err := c.validate(0); err == nil || !strings.Contains(err.Error(), "frames.dropped") {
		t.Errorf("validate: %v, want an error naming frames.dropped", err)
	}
}

// TestSwarmSummarizeRelay: bytes viewers got through a TURN relay are
// node egress: in all and in peer efficiency, never in offload, and the
// node's relayed bytes add to its egress.
func TestSwarmSummarizeRelay(t *testing.T) {
	startup := 500.0
	c := &swarmCase{Scenario: "super", Latency: 3, Mode: "video", N: 2,
		Node: swarmNode{HTTPBytes: 100, SeedBytes: 50, RelayBytes: 250},
		Viewers: []swarmViewer{
			{Name: "v1", StartupMs: &startup, PlayedS: 10, Bytes: swarmBytes{HTTP: 100, P2P: 100}},
			{Name: "v2", StartupMs: &startup, PlayedS: 10, Bytes: swarmBytes{Seed: 50, Relay: 250}},
		}}
	r := summarizeCase(c)
	if r.Relay != 250 || r.All != 500 || r.P2P != 100 {
		t.Fatalf("relay %d all %d p2p %d, want 250, 500, 100", r.Relay, r.All, r.P2P)
	}
	if r.Offload != 0.2 || r.PeerEfficiency != 0.8 {
		t.Errorf("offload %v peer efficiency %v, want 0.2 and 0.8", r.Offload, r.PeerEfficiency)
	}
	if r.NodeEgress != 400 {
		t.Errorf("node egress %d, want http + seed + relay = 400", r.NodeEgress)
	}
}
