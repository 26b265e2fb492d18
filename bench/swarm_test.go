package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSwarmFlags(t *testing.T) {
	o, err := parseSwarmFlags([]string{"--viewers", "2, 5,5", "--scenarios", "super,http", "--latency", "9", "--watch", "30s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Viewers, []int{2, 5}) || !slices.Equal(o.Scenarios, []string{"super", "http"}) || !slices.Equal(o.Latencies, []int{9}) || o.Watch != 30*time.Second || o.Mode != "virtual" {
		t.Fatalf("parsed %+v", o)
	}
	d, err := parseSwarmFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Viewers, []int{1, 2, 5, 10, 20}) || !slices.Equal(d.Latencies, []int{3, 9}) || len(d.Scenarios) != 4 {
		t.Fatalf("defaults %+v: want N 1,2,5,10,20, latencies 3 and 9, all four scenarios", d)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenarios", "http,bittorrent"}, `unknown scenario "bittorrent"`},
		{[]string{"--viewers", "0"}, "--viewers"},
		{[]string{"--viewers", "5,x"}, "--viewers"},
		{[]string{"--latency", "99"}, "--latency"},
		{[]string{"--mode", "fast"}, "--mode"},
		{[]string{"--watch", "1s"}, "--watch"},
		{[]string{"--stream", "live/master.m3u8"}, "--stream"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		if _, err := parseSwarmFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}
