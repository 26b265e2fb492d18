package analytics

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

func getJSON(t *testing.T, url string, status int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %s, want %d", url, resp.Status, status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestAPI(t *testing.T) {
	a, c, _ := newTest(t, DefaultConfig())
	a.AddPlaylist(streamKey(0), true)
	a.AddPlaylist(swarmKey(0, "720p"), false)
	v := &viewer{swarm: swarmKey(0, "720p"), cur: wire.Stats{Stream: streamKey(0), StartupMs: 400}}
	for range 3 {
		v.cur.HTTPBytes += 1000
		v.cur.P2PBytes += 3000
		v.cur.WatchMs += 10_000
		v.report(a)
		c.add(10 * time.Second)
	}
	srv := httptest.NewServer(a.API())
	t.Cleanup(srv.Close)
	base := srv.URL + APIPrefix

	var o Overview
	getJSON(t, base+"/streams?window=1m", 200, &o)
	if want := a.Overview(o.Time, time.Minute); !reflect.DeepEqual(o, want) {
		t.Errorf("GET /streams\n got %+v\nwant %+v", o, want)
	}
	if len(o.Streams) != 1 || o.Streams[0].Bytes.P2P != 9000 || o.Streams[0].Viewers != 1 || o.IntervalMs != 10000 || o.WindowS != 60 {
		t.Errorf("overview %+v", o)
	}
	var d StreamDetail
	getJSON(t, base+"/streams"+streamKey(0)+"?at="+strconv.FormatInt(o.Time, 10), 200, &d)
	if d.Summary.Stream != streamKey(0) || len(d.Swarms) != 1 || d.Swarms[0].Swarm != swarmKey(0, "720p") {
		t.Errorf("stream detail %+v", d)
	}
	getJSON(t, base+"/streams/node", 200, &d)
	if d.Summary.Stream != nodeName || d.Summary.Bytes.HTTP != 3000 {
		t.Errorf("node detail %+v", d.Summary)
	}
	var s Series
	getJSON(t, base+"/series?stream="+streamKey(0)+"&since=0", 200, &s)
	if s.ResolutionS != 10 || len(s.Points) != 3 || s.Points[0].Bytes.HTTP != 1000 || s.Points[0].Groups.P2P.Startups != 1 {
		t.Errorf("series %+v", s)
	}
	getJSON(t, base+"/series?res=1m&since=0", 200, &s)
	if s.ResolutionS != 60 || s.Stream != nodeName {
		t.Errorf("1 min series %+v", s)
	}
	var e struct{ Error string }
	for _, tc := range []struct {
		path   string
		status int
		word   string
	}{
		{"/streams/live/nothing.m3u8", 404, "no stream"},
		{"/streams?window=1s", 400, "window"},
		{"/streams?at=yesterday", 400, "at"},
		{"/series?res=5s", 400, "res"},
		{"/series?stream=/nope", 404, "stream"},
	} {
		getJSON(t, base+tc.path, tc.status, &e)
		if !strings.Contains(e.Error, tc.word) {
			t.Errorf("%s: error %q does not name %q", tc.path, e.Error, tc.word)
		}
	}

	// The event stream starts with the overview and the newest points.
	resp, err := http.Get(base + "/events?window=1m")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	line, _ := r.ReadString('\n')
	if line != "event: update\n" {
		t.Fatalf("first line %q", line)
	}
	data, _ := r.ReadString('\n')
	var ev Event
	if err := json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &ev); err != nil {
		t.Fatalf("event data %q: %v", data, err)
	}
	if want := a.Overview(ev.Overview.Time, time.Minute); !reflect.DeepEqual(ev.Overview, want) || len(ev.Node.Points) != 3 {
		t.Errorf("event %+v", ev)
	}
}
