package main

import (
	"math"
	"os"
	"testing"
	"time"
)

// TestParseH2load reads a real h2load summary (Debian's nghttp2 1.52) and
// its per-request log.
func TestParseH2load(t *testing.T) {
	out, err := os.ReadFile("testdata/h2load.out")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseH2load(string(out))
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 20 || s.Bytes != 13608889 || math.Abs(s.DurationSec-0.06419) > 1e-9 || s.Errors.total() != 0 {
		t.Fatalf("parsed %+v, want 20 requests, 13608889 bytes in 64.19 ms, no errors", s)
	}
	if math.Abs(s.MBPerSec-13608889/0.06419/1e6) > 1e-6 {
		t.Fatalf("MB/s %v", s.MBPerSec)
	}
	lat, err := readH2loadLog("testdata/h2load.log")
	if err != nil || len(lat) != 5 || lat[0] != 18207*time.Microsecond {
		t.Fatalf("log: %v %v", lat, err)
	}
	s.setPercentiles(lat)
	if s.P50Ms <= 0 || s.P99Ms < s.P50Ms {
		t.Fatalf("percentiles p50 %v p99 %v", s.P50Ms, s.P99Ms)
	}
	for _, bad := range []string{"", "finished in 1.00s, 1 req/s, 1MB/s\n", "requests: 1 total, 1 started, 1 done, 0 succeeded, 1 failed, 0 errored, 0 timeout\n"} {
		if _, err := parseH2load(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
