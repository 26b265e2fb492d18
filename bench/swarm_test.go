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
		{[]string{"--origin", "ftp://x"}, "--origin"},
		{[]string{"--origin", "nginx"}, "--origin"},
		{[]string{"--origin-headers", "no-cache"}, "is for --origin ffmpeg"},
		{[]string{"--origin", "ffmpeg", "--origin-headers", "immutable"}, "--origin-headers"},
		{[]string{"--busy", "0"}, "--busy"},
		{[]string{"--busy", "-0.5"}, "--busy"},
	} {
		if _, err := parseSwarmFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestSwarmOriginFlags(t *testing.T) {
	o, err := parseSwarmFlags([]string{"--origin", "ffmpeg", "--origin-headers", "no-cache", "--busy", "0.5", "--mode", "video"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Origin != "ffmpeg" || o.Headers != "no-cache" || o.Busy != 0.5 || o.Rendition != "480p" {
		t.Errorf("parsed %+v: want the ffmpeg origin with no-cache headers, its one rendition, and half a core busy", o)
	}
	if o, err = parseSwarmFlags([]string{"--origin", "ffmpeg", "--rendition", "x"}, io.Discard); err != nil || o.Rendition != "x" || o.Headers != "max-age" {
		t.Errorf("an explicit --rendition: %+v, %v", o, err)
	}
	if o, err = parseSwarmFlags(nil, io.Discard); err != nil || o.Origin != "demo" || o.Rendition != "mid" || o.Busy != 0 {
		t.Errorf("defaults: %+v, %v: want the demo origin, mid, nothing busy", o, err)
	}
	if o, err = parseSwarmFlags([]string{"--origin", "http://127.0.0.1:8081"}, io.Discard); err != nil || o.Origin != "http://127.0.0.1:8081" {
		t.Errorf("an origin URL: %+v, %v", o, err)
	}
}
