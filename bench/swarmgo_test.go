package main

import (
	"slices"
	"strings"
	"testing"
)

const testMaster = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=426x240\nlow/index.m3u8\n" +
	"#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=525000,RESOLUTION=640x360\nmid/index.m3u8\n" +
	"#EXT-X-STREAM-INF:BANDWIDTH=2000000\nhigh/index.m3u8\n"

func TestParseMasterBitrate(t *testing.T) {
	for _, tc := range []struct {
		rendition string
		want      float64
	}{{"mid", 525000}, {"low", 300000}, {"high", 2000000}} {
		if got, err := parseMasterBitrate([]byte(testMaster), tc.rendition); err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.rendition, got, err, tc.want)
		}
	}
	if _, err := parseMasterBitrate([]byte(testMaster), "uhd"); err == nil || !strings.Contains(err.Error(), `"uhd"`) {
		t.Errorf("a missing rendition: %v", err)
	}
}

func TestMetricSum(t *testing.T) {
	body := []byte("# HELP edgeswarm_bytes_sent_total x\n" +
		"edgeswarm_bytes_sent_total{path=\"http\",proto=\"h1\"} 100\n" +
		"edgeswarm_bytes_sent_total{path=\"http\",proto=\"h3\"} 20\n" +
		"edgeswarm_bytes_sent_total{path=\"p2p\"} 7\n" +
		"edgeswarm_bytes_sent_total_other 99\n" +
		"edgeswarm_seeder_sent_bytes_total 5e3\n")
	if got := metricSum(body, "edgeswarm_bytes_sent_total", `path="http"`); got != 120 {
		t.Errorf("http bytes %v, want 120", got)
	}
	if got := metricSum(body, "edgeswarm_seeder_sent_bytes_total", ""); got != 5000 {
		t.Errorf("seeder bytes %v, want 5000", got)
	}
}

// The node's metrics and playlists are read from the network: bad input
// gives an error or zero, never a panic.
func FuzzParseMasterBitrate(f *testing.F) {
	f.Add([]byte(testMaster), "mid")
	f.Add([]byte("#EXT-X-STREAM-INF:BANDWIDTH=-1\nmid\n"), "mid")
	f.Fuzz(func(t *testing.T, body []byte, rendition string) {
		if v, err := parseMasterBitrate(body, rendition); err == nil && (v <= 0 || v >= 1e12) {
			t.Fatalf("bitrate %v accepted", v)
		}
	})
}

func FuzzMetricSum(f *testing.F) {
	f.Add([]byte("edgeswarm_bytes_sent_total{path=\"http\"} 1\n"), `path="http"`)
	f.Add([]byte("edgeswarm_bytes_sent_total{\n"), "")
	f.Fuzz(func(t *testing.T, body []byte, labels string) {
		_ = metricSum(body, "edgeswarm_bytes_sent_total", labels)
	})
}

// The node and the viewers run at the caller's niceness under a raised
// wire: nice -n RENICE prefixes their command, and nothing does when the
// wire was not raised.
func TestNiceArgs(t *testing.T) {
	name, args := niceArgs(10, "/bin/viewer", "--viewers", "3")
	if name != "nice" || !slices.Equal(args, []string{"-n", "10", "/bin/viewer", "--viewers", "3"}) {
		t.Errorf("niceArgs(10) = %s %v", name, args)
	}
	name, args = niceArgs(0, "/bin/viewer", "--viewers", "3")
	if name != "/bin/viewer" || !slices.Equal(args, []string{"--viewers", "3"}) {
		t.Errorf("niceArgs(0) = %s %v", name, args)
	}
	if _, err := parseSwarmGoFlags([]string{"--nice", "-11"}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "--nice") {
		t.Errorf("--nice -11: %v", err)
	}
}
