package node

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/origin"
)

// sbMPD is an on-demand (SegmentBase) manifest: each Representation is one
// file, its init segment and index read by byte ranges.
const sbMPD = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT16S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <Period>
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <Representation id="v" bandwidth="800000" codecs="avc1.4d401f">
        <BaseURL>v.mp4</BaseURL>
        <SegmentBase indexRange="%d-%d"><Initialization range="0-%d"/></SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`

// TestDASHSegmentBaseVODThroughTheNode: a VOD Representation that is one
// file read by byte ranges (SegmentBase) plays through the node as a player
// reads it: the manifest is a VOD document (its init and index ranges as
// the origin wrote them), every range a player asks for (the init, the
// index, then media ranges, by several viewers at once) is answered 206
// with the origin's bytes at those offsets, and the whole file is fetched
// from the origin once.
func TestDASHSegmentBaseVODThroughTheNode(t *testing.T) {
	const initEnd, idxStart, idxEnd = 799, 800, 1099
	file := segmentBytes(3<<20 + 12345)
	mpd := fmt.Sprintf(sbMPD, idxStart, idxEnd, initEnd)
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/od/sb.mpd":
			w.Header().Set("Content-Type", "application/dash+xml")
			w.Header().Set("Cache-Control", "max-age=600")
			_, _ = w.Write([]byte(mpd))
		case "/od/v.mp4":
			<-release // held until every viewer is waiting on the one fill
			w.Header().Set("Content-Type", "video/mp4")
			w.Header().Set("Cache-Control", "max-age=3600")
			http.ServeContent(w, r, "v.mp4", time.Time{}, bytes.NewReader(file))
		default:
			http.NotFound(w, r)
		}
	})
	n := startNode(t, testConfig(o.URL), nil)
	base := "http://" + n.Addr()

	r, body := httpGet(t, base+"/od/sb.mpd")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/dash+xml" {
		t.Fatalf("sb.mpd: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	info, err := origin.ParseMPD("/od/sb.mpd", body, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if info.Dynamic || len(info.Representations) != 1 {
		t.Fatalf("manifest through the node: dynamic %v, %d representations", info.Dynamic, len(info.Representations))
	}
	rep := info.Representations[0]
	if rep.Init != "/od/v.mp4" || rep.InitRange != "0-"+strconv.Itoa(initEnd) || rep.IndexRange != fmt.Sprintf("%d-%d", idxStart, idxEnd) {
		t.Fatalf("representation through the node: init %q range %q, index %q", rep.Init, rep.InitRange, rep.IndexRange)
	}

	// What players ask for: the init, the index, then media ranges, up to
	// the file's last byte, and an open-ended range.
	ranges := [][2]int{{0, initEnd}, {idxStart, idxEnd}, {idxEnd + 1, 400000}, {400001, 1 << 20}, {2 << 20, len(file) - 1}}
	const viewers = 8
	var wg sync.WaitGroup
	errs := make(chan string, viewers*(len(ranges)+1))
	get := func(hdr string, from, to int) {
		r, got := httpGet(t, base+rep.Init, "Range", hdr)
		want := file[from : to+1]
		cr := fmt.Sprintf("bytes %d-%d/%d", from, to, len(file))
		if r.StatusCode != http.StatusPartialContent || r.Header.Get("Content-Range") != cr || !bytes.Equal(got, want) {
			errs <- fmt.Sprintf("Range %s: %d, Content-Range %q, %d bytes (equal %v); want 206, %q, %d bytes",
				hdr, r.StatusCode, r.Header.Get("Content-Range"), len(got), bytes.Equal(got, want), cr, len(want))
		}
	}
	for range viewers {
		wg.Go(func() {
			for _, rg := range ranges {
				get(fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]), rg[0], rg[1])
			}
			get("bytes=3000000-", 3000000, len(file)-1)
		})
	}
	waitFor(t, func() bool { return n.cache.Stats().Waiting >= viewers })
	once.Do(func() { close(release) })
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := o.count("/od/v.mp4"); got != 1 {
		t.Errorf("the origin was asked for the file %d times, want once for every range of every viewer", got)
	}
	// A range past the end is refused, as the origin would.
	if r, _ := httpGet(t, base+rep.Init, "Range", "bytes="+strconv.Itoa(len(file))+"-"); r.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("a range past the end: %d, want 416", r.StatusCode)
	}
	if r, _ := httpGet(t, base+"/od/sb.mpd"); !strings.HasPrefix(r.Header.Get("Cache-Status"), "edgeswarm; hit") {
		t.Errorf("the VOD manifest again: Cache-Status %q, want a hit", r.Header.Get("Cache-Status"))
	}
}
