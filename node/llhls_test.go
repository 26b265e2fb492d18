package node

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/edgeswarm/edgeswarm/origin"
)

// TestPreloadHintFetchedAhead: the node asks the origin for a live
// playlist's preload hint as soon as the playlist lands, and the viewers
// who ask for the hinted part join that one request, answered when the
// origin has the part.
func TestPreloadHintFetchedAhead(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ll/index.m3u8":
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			w.Header().Set("Cache-Control", "max-age=1")
			fmt.Fprint(w, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5\n"+
				"#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2,\n0.ts\n"+
				"#EXT-X-PART:DURATION=0.5,URI=\"1.0.ts\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"1.1.ts\"\n")
		case "/ll/1.1.ts":
			<-release // the origin holds a hinted part until it exists
			w.Header().Set("Content-Type", "video/mp2t")
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write(segmentBytes(188 * 10))
		default:
			http.NotFound(w, r)
		}
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	n := startNode(t, testConfig(o.URL), nil)
	base := "http://" + n.Addr()
	if r, _ := httpGet(t, base+"/ll/index.m3u8"); r.StatusCode != 200 {
		t.Fatalf("playlist: %d", r.StatusCode)
	}
	waitFor(t, func() bool { return o.count("/ll/1.1.ts") == 1 })
	const viewers = 20
	var wg sync.WaitGroup
	errs := make(chan string, viewers)
	for range viewers {
		wg.Go(func() {
			r, body := httpGet(t, base+"/ll/1.1.ts")
			if r.StatusCode != 200 || len(body) != 1880 {
				errs <- fmt.Sprintf("%d, %d bytes", r.StatusCode, len(body))
			}
		})
	}
	waitFor(t, func() bool { return n.cache.Stats().Waiting >= viewers })
	once.Do(func() { close(release) })
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("hinted part:", e)
	}
	if c := o.count("/ll/1.1.ts"); c != 1 {
		t.Fatalf("origin got %d requests for the hinted part, want 1", c)
	}
}

// TestDemoLLHLSThroughNode: the demo's LL-HLS stream through the node:
// viewers' blocking reloads for the next part are held and answered with
// a playlist that lists it, and its parts are served.
func TestDemoLLHLSThroughNode(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	base := "http://" + n.Addr()
	if r, body := httpGet(t, base+"/ll/master.m3u8"); r.StatusCode != 200 || !strings.Contains(string(body), "low/index.m3u8") {
		t.Fatalf("master: %d %q", r.StatusCode, body)
	}
	r, body := httpGet(t, base+"/ll/low/index.m3u8")
	info, err := origin.ParsePlaylist("/ll/low/index.m3u8", body)
	if r.StatusCode != 200 || err != nil || !info.LL.CanBlockReload || len(info.LL.Hints) != 1 {
		t.Fatalf("media playlist: %d %v\n%s", r.StatusCode, err, body)
	}
	h := info.LL.Hints[0]
	var wg sync.WaitGroup
	errs := make(chan string, 10)
	for i := range 10 {
		q := fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d", h.MSN, h.Index)
		if i%2 == 1 {
			q = fmt.Sprintf("_HLS_part=%d&_HLS_msn=%d", h.Index, h.MSN)
		}
		wg.Go(func() {
			r, body := httpGet(t, base+"/ll/low/index.m3u8?"+q)
			got, err := origin.ParsePlaylist("/ll/low/index.m3u8", body)
			if r.StatusCode != 200 || err != nil || !got.Has(h.MSN, h.Index) {
				errs <- fmt.Sprintf("%s: %d %v\n%s", q, r.StatusCode, err, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("blocking reload:", e)
	}
	if r, part := httpGet(t, base+h.URI); r.StatusCode != 200 || len(part) == 0 || part[0] != 0x47 {
		t.Fatalf("part %s: %d, %d bytes", h.URI, r.StatusCode, len(part))
	}
}
