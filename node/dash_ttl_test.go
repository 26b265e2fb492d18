package node

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDASHManifestTTLsThroughTheNode: how long the node serves a DASH
// manifest from its cache comes from the manifest, under the origin's
// Cache-Control: a dynamic one half its minimumUpdatePeriod (else half a
// segment), a static one upstream.ttl.vod_playlist, a live one that has not
// started until its availabilityStartTime, one ending before that until its
// availabilityEndTime, and the origin's shorter max-age wins. Each case
// asks just before and just after the expected expiry (the node's clock is
// a fake one) and checks that the second answer is the origin's new
// document, so a TTL longer than the manifest allows fails the test.
func TestDASHManifestTTLsThroughTheNode(t *testing.T) {
	// The origin's documents are timed from the real clock: the origin
	// client lists a live window and bounds a TTL as of now.
	iso := func(d time.Duration) string { return time.Now().UTC().Add(d).Format(time.RFC3339Nano) }
	live := func(attrs string) string {
		return `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" ` + attrs + ` timeShiftBufferDepth="PT10S">
  <Period id="p" start="PT0S"><AdaptationSet contentType="video">
    <SegmentTemplate duration="2" startNumber="0" initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number$.m4s"/>
    <Representation id="v" bandwidth="400000"/>
  </AdaptationSet></Period>
</MPD><!-- VERSION -->`
	}
	const static = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S" ATTRS>
  <Period><AdaptationSet contentType="video">
    <SegmentTemplate timescale="1000" duration="2000" initialization="v/init.mp4" media="v/$Number$.m4s"/>
    <Representation id="v" bandwidth="400000"/>
  </AdaptationSet></Period>
</MPD><!-- VERSION -->`
	const timeline = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z" minimumUpdatePeriod="PT1S">
  <Period id="p"><AdaptationSet contentType="video">
    <SegmentTemplate timescale="90000" media="v/$Time$.m4s" initialization="v/init.mp4">
      <SegmentTimeline><S t="900000" d="180000" r="3"/></SegmentTimeline>
    </SegmentTemplate>
    <Representation id="v" bandwidth="1"/>
  </AdaptationSet></Period>
</MPD><!-- VERSION -->`
	for _, tc := range []struct {
		name     string
		document func() string
		cc       string
		ttl      time.Duration
	}{
		{"dynamic: half the minimumUpdatePeriod", func() string {
			return live(`availabilityStartTime="` + iso(-time.Minute) + `" minimumUpdatePeriod="PT4S"`)
		}, "max-age=60", 2 * time.Second},
		{"dynamic without minimumUpdatePeriod: half a segment", func() string { return live(`availabilityStartTime="` + iso(-time.Minute) + `"`) }, "max-age=60", time.Second},
		{"dynamic SegmentTimeline with $Time$: half the minimumUpdatePeriod", func() string { return timeline }, "max-age=60", 500 * time.Millisecond},
		{"the origin's shorter max-age stands", func() string {
			return live(`availabilityStartTime="` + iso(-time.Minute) + `" minimumUpdatePeriod="PT8S"`)
		}, "max-age=1", time.Second},
		{"dynamic, not started: until availabilityStartTime", func() string {
			return live(`availabilityStartTime="` + iso(3*time.Second) + `" minimumUpdatePeriod="PT30S"`)
		}, "max-age=60", 3 * time.Second},
		{"static: upstream.ttl.vod_playlist under a longer max-age", func() string { return strings.Replace(static, "ATTRS", "", 1) }, "max-age=999999999", 24 * time.Hour},
		{"static ending: until availabilityEndTime", func() string {
			return strings.Replace(static, "ATTRS", `availabilityEndTime="`+iso(40*time.Second)+`"`, 1)
		}, "max-age=999999", 40 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The document is made when the origin first serves it, so its
			// times are as of the node's first fetch.
			var body string
			var made sync.Once
			var version atomic.Int64
			o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/d/m.mpd" {
					http.NotFound(w, r)
					return
				}
				made.Do(func() { body = tc.document() })
				w.Header().Set("Content-Type", "application/dash+xml")
				w.Header().Set("Cache-Control", tc.cc)
				fmt.Fprint(w, strings.Replace(body, "VERSION", fmt.Sprint("version ", version.Load()), 1))
			})
			clk := newFakeClock()
			n := startNode(t, testConfig(o.URL), clk.Now)
			url := "http://" + n.Addr() + "/d/m.mpd"
			get := func(when string) (status string, body string) {
				t.Helper()
				r, b := httpGet(t, url)
				if r.StatusCode != 200 {
					t.Fatalf("%s: %d %s", when, r.StatusCode, b)
				}
				return r.Header.Get("Cache-Status"), string(b)
			}
			if cs, _ := get("first"); !strings.Contains(cs, "fwd=miss") {
				t.Fatalf("first fetch: Cache-Status %q, want a miss", cs)
			}
			version.Store(1)
			// Margins: a tenth of the TTL, at least 100 ms of wall time
			// that the origin's availability bounds may have lost.
			margin := max(tc.ttl/10, 100*time.Millisecond)
			clk.Advance(tc.ttl - margin)
			if cs, body := get("before expiry"); cs != "edgeswarm; hit" || !strings.Contains(body, "version 0") {
				t.Fatalf("%v after the first fetch (TTL %v): Cache-Status %q, want a hit of the first document", tc.ttl-margin, tc.ttl, cs)
			}
			clk.Advance(2 * margin)
			if cs, body := get("after expiry"); !strings.Contains(cs, "fwd=") || !strings.Contains(body, "version 1") {
				t.Fatalf("%v after the first fetch (TTL %v): Cache-Status %q, body %.40q...; want the origin's new document", tc.ttl+margin, tc.ttl, cs, body[strings.Index(body, "<!--"):])
			}
			if got := o.count("/d/m.mpd"); got != 2 {
				t.Fatalf("the origin was asked %d times, want 2", got)
			}
		})
	}
}
