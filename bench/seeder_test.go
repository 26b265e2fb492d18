package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseSeederFlags(t *testing.T) {
	o, err := parseSeederFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.RTTs) != 3 || o.RTTs[1] != 20*time.Millisecond || len(o.Viewers) != 2 || o.Viewers[0] != 1 || o.Inflight != 2 {
		t.Errorf("defaults: rtts %v viewers %v inflight %d, want 0,20,60 ms, 1,20 viewers, 2 in flight", o.RTTs, o.Viewers, o.Inflight)
	}
	for _, bad := range [][]string{
		{"--rtt", "20,x"}, {"--rtt", "-5"}, {"--viewers", "0"}, {"--viewers", "1,,2"}, {"--mb", "0"},
		{"--segments", "11"}, {"--segment-size", "0"}, {"--idle-pcs", "-1"}, {"--idle-pcs", "10", "--idle", "10ms"},
		{"--inflight", "0"}, {"--cache-fill", "-1"}, {"extra"},
	} {
		if _, err := parseSeederFlags(bad, io.Discard); err == nil {
			t.Errorf("parseSeederFlags(%q) accepted it", bad)
		}
	}
}

func TestSumMetric(t *testing.T) {
	text := `# HELP edgeswarm_bytes_sent_total x
edgeswarm_bytes_sent_total{path="http"} 1.5e+06
edgeswarm_bytes_sent_total{path="p2p"} 7
edgeswarm_bytes_sent_total_extra 99
edgeswarm_seeder_sent_bytes_total{swarm="a"} 10
edgeswarm_seeder_sent_bytes_total{swarm="b"} 32
go_memstats_heap_inuse_bytes 4096
`
	for _, tt := range []struct {
		name, label string
		want        float64
	}{
		{"edgeswarm_bytes_sent_total", `path="http"`, 1.5e6},
		{"edgeswarm_bytes_sent_total", "", 1.5e6 + 7},
		{"edgeswarm_seeder_sent_bytes_total", "", 42},
		{"go_memstats_heap_inuse_bytes", "", 4096},
		{"absent_metric", "", 0},
	} {
		if got := sumMetric(text, tt.name, tt.label); got != tt.want {
			t.Errorf("sumMetric(%s, %q) = %v, want %v", tt.name, tt.label, got, tt.want)
		}
	}
}

// The floors judge only the measured binary's rows at 20 ms, and a missed
// one fails the run; the JSON report has the fields the issue names.
func TestSeederFloorsAndReport(t *testing.T) {
	o := seederOptions{IdlePCs: 1000, Idle: 30 * time.Second}
	rep := &seederReport{Rows: []seederRow{
		{Binary: "edgeswarm", RTTms: 20, Viewers: 1, DCCPU: 0.012, DCMBs: 14},
		{Binary: "edgeswarm", RTTms: 20, Viewers: 8, DCCPU: 0.016, DCMBs: 20},
		{Binary: "edgeswarm", RTTms: 60, Viewers: 1, DCCPU: 0.05, DCMBs: 1},
		{Binary: "baseline", RTTms: 20, Viewers: 1, DCCPU: 0.05, DCMBs: 1},
	}, Idle: []seederIdle{{Binary: "edgeswarm", PCs: 1000, Held: 1000, Open: 999}}}
	fl := seederFloors(rep, o)
	var missed []string
	for _, f := range fl {
		if !f.Met {
			missed = append(missed, f.Name+" "+f.Where)
		}
	}
	want := "node CPU-s per MB over DataChannels 8 viewers at 20 ms|PeerConnections held on one node after 30s idle"
	if got := strings.Join(missed, "|"); got != want || len(fl) != 4 {
		t.Errorf("floors %+v: missed %q, want %q of 4", fl, got, want)
	}
	b, err := json.Marshal(rep.Rows[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"datachannel_cpu_s_per_mb":`, `"http_cpu_s_per_mb":`, `"datachannel_mb_s":`, `"rtt_ms":`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("a row's JSON %s lacks %s", b, k)
		}
	}
	var out bytes.Buffer
	rep.Floors = fl
	writeSeederTable(&out, rep)
	if !strings.Contains(out.String(), "MISSED") || !strings.Contains(out.String(), "| edgeswarm | 20 (0.0) | 8 |") {
		t.Errorf("table:\n%s", out.String())
	}
}
