package node

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafov/m3u8"
	"github.com/quic-go/quic-go/http3"

	"github.com/edgeswarm/edgeswarm/origin"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
)

func newFakeClock() *fakeclock.Clock { return fakeclock.New(time.Unix(1_800_000_000, 0)) }

func testConfig(originURL string) Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Admin = "127.0.0.1:0"
	cfg.Origin = originURL
	cfg.CacheSize = 64 << 20
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Seeder.ICEUDP = "127.0.0.1:0"
	cfg.Seeder.STUNListen = "127.0.0.1:0"
	return cfg
}

// startNode runs a node until the test ends.
func startNode(tb testing.TB, cfg Config, clock func() time.Time) *Node {
	tb.Helper()
	n, err := New(cfg, Options{Clock: clock})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("node run: %v", err)
		}
	})
	return n
}

// countingOrigin is a test origin that counts requests per path.
type countingOrigin struct {
	*httptest.Server
	mu    sync.Mutex
	hits  map[string]int
	reqs  []*http.Request
	serve http.HandlerFunc
}

func newCountingOrigin(tb testing.TB, serve http.HandlerFunc) *countingOrigin {
	o := &countingOrigin{hits: map[string]int{}, serve: serve}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		o.reqs = append(o.reqs, r)
		o.mu.Unlock()
		o.serve(w, r)
	}))
	tb.Cleanup(o.Close)
	return o
}

func (o *countingOrigin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func (o *countingOrigin) total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.reqs)
}

func (o *countingOrigin) last() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reqs[len(o.reqs)-1]
}

func httpGet(tb testing.TB, url string, hdr ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, body
}

func segmentBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestThousandConcurrentMissesOneOriginRequest(t *testing.T) {
	body := segmentBytes(256 << 10)
	release := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "video/mp2t")
		// Fresh: a viewer that comes after the fill landed is a hit (one
		// without freshness would be revalidated, a second request).
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write(body)
	})
	closeOnCleanup(t, release)
	cfg := testConfig(o.URL)
	cfg.MaxConnsPerIP = 0 // every viewer is 127.0.0.1
	n := startNode(t, cfg, nil)

	const viewers = 1000
	tr := &http.Transport{MaxConnsPerHost: viewers, MaxIdleConnsPerHost: viewers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	errs := make(chan error, viewers)
	for range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get("http://" + n.Addr() + "/live/seg-1.ts")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
				errs <- fmt.Errorf("status %d, %d bytes, err %v", resp.StatusCode, len(got), err)
			}
		}()
	}
	// Hold the origin until every viewer waits on the one fill.
	waitFor(t, func() bool { return n.cache.Stats().Waiting >= viewers-1 })
	release <- struct{}{}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := o.count("/live/seg-1.ts"); got != 1 {
		t.Fatalf("origin requests = %d, want 1", got)
	}
}

// closeOnCleanup closes ch when the test ends, before its test origin
// closes, so a failed test never leaves a handler blocked on ch.
func closeOnCleanup(tb testing.TB, ch chan struct{}) {
	tb.Cleanup(func() { close(ch) })
}

// waitFor polls a condition the code under test makes true on its own;
// it fails the test after a generous bound.
func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFirstBytesReachViewerBeforeOriginFinishes(t *testing.T) {
	second := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		w.Header().Set("Content-Length", "10")
		_, _ = w.Write([]byte("01234"))
		w.(http.Flusher).Flush()
		<-second
		_, _ = w.Write([]byte("56789"))
	})
	closeOnCleanup(t, second)
	n := startNode(t, testConfig(o.URL), nil)
	resp, err := http.Get("http://" + n.Addr() + "/slow/1.ts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "01234" {
		t.Fatalf("first bytes %q, %v; want them while the origin still holds the rest", first, err)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=miss") {
		t.Fatalf("Cache-Status = %q", cs)
	}
	// A player may ask for ranges of what is still arriving (they wait
	// for the fill), so even a streamed answer says it takes them.
	if ar := resp.Header.Get("Accept-Ranges"); ar != "bytes" {
		t.Fatalf("Accept-Ranges = %q on a streamed answer, want bytes", ar)
	}
	second <- struct{}{}
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "56789" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// The HTTP cache key keeps the query but the parameters a route drops;
// rewrite rules change the P2P content key only (the HTTP cache still
// tells the two URLs apart).
func TestQueryStringAndRewriteKeying(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("segment " + r.URL.Path))
	})
	cfg := testConfig(o.URL)
	cfg.Origin = ""
	cfg.Upstream.Routes = []origin.Route{{Prefix: "/", URL: o.URL, CacheKey: origin.CacheKeyConfig{DropQuery: []string{"token"}}}}
	cfg.Upstream.Key.Rewrites = []origin.Rewrite{{Match: `^/s/[a-z]+/`, Replace: "/s/"}}
	n := startNode(t, cfg, nil)
	base := "http://" + n.Addr()

	r1, b1 := httpGet(t, base+"/a/1.ts?token=xyz")
	r2, b2 := httpGet(t, base+"/a/1.ts?token=abc")
	if string(b1) != string(b2) || r2.Header.Get("Cache-Status") != "edgeswarm; hit" {
		t.Fatalf("query variants: %q / %q, second Cache-Status %q; want one object", b1, b2, r2.Header.Get("Cache-Status"))
	}
	if got := o.count("/a/1.ts"); got != 1 {
		t.Fatalf("origin requests for /a/1.ts = %d, want 1", got)
	}
	if q := o.last().URL.RawQuery; q != "token=xyz" {
		t.Fatalf("origin saw query %q, want the viewer's token forwarded", q)
	}
	_ = r1
	if r, _ := httpGet(t, base+"/a/1.ts?token=abc&v=2"); r.Header.Get("Cache-Status") == "edgeswarm; hit" {
		t.Fatalf("a parameter the route keeps: %q, want another object", r.Header.Get("Cache-Status"))
	}
	httpGet(t, base+"/s/xyz/1.ts")
	r4, _ := httpGet(t, base+"/s/abc/1.ts")
	if r4.Header.Get("Cache-Status") == "edgeswarm; hit" || o.count("/s/abc/1.ts") != 1 {
		t.Fatalf("rewrite rule: /s/abc/1.ts was %q, origin saw it %d times; want its own HTTP object",
			r4.Header.Get("Cache-Status"), o.count("/s/abc/1.ts"))
	}
}

func TestForwardsEndToEndHeadersOnly(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) })
	n := startNode(t, testConfig(o.URL), nil)
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /h/1.ts?sig=1 HTTP/1.1\r\nHost: edge.example\r\nAuthorization: Bearer t0k\r\nCookie: s=1\r\n"+
		"X-Custom: keep\r\nConnection: keep-alive, X-Drop\r\nX-Drop: secret\r\nKeep-Alive: timeout=5\r\nRange: bytes=0-0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := o.last()
	for name, want := range map[string]string{"Authorization": "Bearer t0k", "Cookie": "s=1", "X-Custom": "keep", "X-Drop": "", "Keep-Alive": "", "Range": ""} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("origin saw %s = %q, want %q", name, v, want)
		}
	}
	if got.URL.RawQuery != "sig=1" {
		t.Errorf("origin saw query %q", got.URL.RawQuery)
	}
}

func TestNeverAnOpenProxy(t *testing.T) {
	other := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("other")) })
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("mine")) })
	cfg := testConfig("")
	cfg.Upstream.Routes = []origin.Route{{Prefix: "/tv/", URL: o.URL + "/streams/"}}
	n := startNode(t, cfg, nil)
	otherHost := strings.TrimPrefix(other.URL, "http://")

	for _, target := range []string{
		"http://" + otherHost + "/tv/1.ts", // absolute-form request target
		"/tv/../x.ts",
		"/tv/%2e%2e/x.ts",
		"/tv/..%2fx.ts",
		"/x.ts",
		"//" + otherHost + "/tv/1.ts",
	} {
		conn, err := net.Dial("tcp", n.Addr())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, otherHost)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		resp.Body.Close()
		conn.Close()
		t.Logf("%s -> %d", target, resp.StatusCode)
	}
	if other.total() != 0 {
		t.Fatalf("a host that is not a configured origin got %d requests", other.total())
	}
	for _, r := range o.reqs {
		if !strings.HasPrefix(r.URL.Path, "/streams/") {
			t.Fatalf("origin got %q, outside the route's base path", r.URL.Path)
		}
	}
	resp, body := httpGet(t, "http://"+n.Addr()+"/nothere/1.ts")
	if resp.StatusCode != 404 {
		t.Fatalf("unrouted path: %d %q, want 404", resp.StatusCode, body)
	}
}

const livePlaylist = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:%d
#EXTINF:2.0,
%d.ts
#EXTINF:2.0,
%d.ts
`

func TestLivePlaylistTTLFollowsTargetDuration(t *testing.T) {
	clk := newFakeClock()
	var seq atomic.Int64
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "max-age=30")
		s := seq.Load()
		fmt.Fprintf(w, livePlaylist, s, s, s+1)
	})
	n := startNode(t, testConfig(o.URL), clk.Now)
	url := "http://" + n.Addr() + "/live/low/index.m3u8"

	r1, _ := httpGet(t, url)
	if cc := r1.Header.Get("Cache-Control"); cc != "max-age=30" {
		t.Fatalf("Cache-Control = %q, want the origin's, unchanged", cc)
	}
	clk.Advance(900 * time.Millisecond)
	if r, _ := httpGet(t, url); r.Header.Get("Cache-Status") != "edgeswarm; hit" {
		t.Fatalf("within TTL: %q, want hit", r.Header.Get("Cache-Status"))
	}
	seq.Store(7)
	clk.Advance(200 * time.Millisecond)
	r3, body := httpGet(t, url)
	if !strings.Contains(r3.Header.Get("Cache-Status"), "fwd=miss") || !strings.Contains(string(body), "MEDIA-SEQUENCE:7") {
		t.Fatalf("after target/2: %q %q, want a refetched playlist", r3.Header.Get("Cache-Status"), body)
	}
}

func TestVODPlaylistLongTTL(t *testing.T) {
	clk := newFakeClock()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "max-age=86400")
		fmt.Fprint(w, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2.0,\n0.ts\n#EXT-X-ENDLIST\n")
	})
	n := startNode(t, testConfig(o.URL), clk.Now)
	url := "http://" + n.Addr() + "/vod/low/index.m3u8"
	httpGet(t, url)
	clk.Advance(time.Hour)
	r, _ := httpGet(t, url)
	if r.Header.Get("Cache-Status") != "edgeswarm; hit" || o.count("/vod/low/index.m3u8") != 1 {
		t.Fatalf("an hour later: %q, want a hit", r.Header.Get("Cache-Status"))
	}
	if age := r.Header.Get("Age"); age != "3600" {
		t.Fatalf("Age = %q, want the hour the node held it", age)
	}
}

func TestStaleOnOriginFailureThen502(t *testing.T) {
	clk := newFakeClock()
	var down atomic.Bool
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		fmt.Fprintf(w, livePlaylist, 1, 1, 2)
	})
	cfg := testConfig(o.URL)
	cfg.StaleGrace = 10 * time.Second
	n := startNode(t, cfg, clk.Now)
	url := "http://" + n.Addr() + "/live/low/index.m3u8"
	_, fresh := httpGet(t, url)

	down.Store(true)
	clk.Advance(5 * time.Second)
	r, body := httpGet(t, url)
	if r.StatusCode != 200 || r.Header.Get("Cache-Status") != "edgeswarm; hit; detail=stale" || !bytes.Equal(body, fresh) {
		t.Fatalf("origin down within grace: %d %q, want the stale copy", r.StatusCode, r.Header.Get("Cache-Status"))
	}
	clk.Advance(10 * time.Second)
	r, body = httpGet(t, url)
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "overloaded") {
		t.Fatalf("origin down after grace: %d %q, want the origin's 503 passed through", r.StatusCode, body)
	}
	o.Close() // now unreachable
	r, body = httpGet(t, "http://"+n.Addr()+"/never/1.ts")
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "unreachable") {
		t.Fatalf("origin unreachable: %d %q", r.StatusCode, body)
	}
}

func TestRangeAndConditionals(t *testing.T) {
	body := segmentBytes(1000)
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		_, _ = w.Write(body)
	})
	n := startNode(t, testConfig(o.URL), nil)
	url := "http://" + n.Addr() + "/r/1.ts"
	// The first GET fills the cache. It may be streamed while the fill
	// runs, and a streamed answer has no ETag yet: ask until one comes from
	// the whole object.
	var full *http.Response
	for range 100 {
		if full, _ = httpGet(t, url); full.Header.Get("ETag") != "" {
			break
		}
	}
	etag := full.Header.Get("ETag")
	if etag == "" || full.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("ETag %q, Accept-Ranges %q", etag, full.Header.Get("Accept-Ranges"))
	}

	r, got := httpGet(t, url, "Range", "bytes=100-199")
	if r.StatusCode != 206 || !bytes.Equal(got, body[100:200]) || r.Header.Get("Content-Range") != "bytes 100-199/1000" {
		t.Fatalf("range: %d %q %d bytes", r.StatusCode, r.Header.Get("Content-Range"), len(got))
	}
	r, got = httpGet(t, url, "Range", "bytes=-10")
	if r.StatusCode != 206 || !bytes.Equal(got, body[990:]) {
		t.Fatalf("suffix range: %d %d bytes", r.StatusCode, len(got))
	}
	r, _ = httpGet(t, url, "Range", "bytes=5000-")
	if r.StatusCode != 416 || r.Header.Get("Content-Range") != "bytes */1000" {
		t.Fatalf("unsatisfiable: %d %q", r.StatusCode, r.Header.Get("Content-Range"))
	}
	r, got = httpGet(t, url, "Range", "bytes=0-1", "If-Range", `"other"`)
	if r.StatusCode != 200 || len(got) != 1000 {
		t.Fatalf("If-Range mismatch: %d, want the whole body", r.StatusCode)
	}
	r, got = httpGet(t, url, "If-None-Match", etag)
	if r.StatusCode != 304 || len(got) != 0 {
		t.Fatalf("If-None-Match: %d, want 304", r.StatusCode)
	}
	r, _ = httpGet(t, url, "If-Modified-Since", "Tue, 03 Jan 2006 15:04:05 GMT")
	if r.StatusCode != 304 {
		t.Fatalf("If-Modified-Since: %d, want 304", r.StatusCode)
	}
	r, _ = httpGet(t, url, "If-None-Match", `"nope"`)
	if r.StatusCode != 200 {
		t.Fatalf("If-None-Match mismatch: %d, want 200", r.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodHead, url, nil)
	hr, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.StatusCode != 200 || hr.ContentLength != 1000 {
		t.Fatalf("HEAD: %d, Content-Length %d", hr.StatusCode, hr.ContentLength)
	}
}

// Header names are case-insensitive: a viewer that writes them in lower
// case (as HTTP/2-minded clients and proxies do) gets the same answers.
func TestRequestHeaderNamesInAnyCase(t *testing.T) {
	body := segmentBytes(1000)
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60") // the second GET is a hit
		_, _ = w.Write(body)
	})
	n := startNode(t, testConfig(o.URL), nil)
	httpGet(t, "http://"+n.Addr()+"/c/1.ts") // the fill: streamed, no ETag yet
	r, _ := httpGet(t, "http://"+n.Addr()+"/c/1.ts")
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on a hit")
	}
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	ask := func(hdr string) (*http.Response, []byte) {
		t.Helper()
		fmt.Fprint(conn, "GET /c/1.ts HTTP/1.1\r\nhost: edge.example\r\n"+hdr+"\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	if r, b := ask("range: bytes=10-19\r\n"); r.StatusCode != 206 || !bytes.Equal(b, body[10:20]) {
		t.Errorf("range in lower case: %d, %d bytes", r.StatusCode, len(b))
	}
	if r, _ := ask("IF-NONE-MATCH: " + etag + "\r\n"); r.StatusCode != 304 {
		t.Errorf("IF-NONE-MATCH in upper case: %d, want 304", r.StatusCode)
	}
	if r, _ := ask("origin: https://player.example\r\n"); r.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("origin in lower case: no CORS answer")
	}
}

func TestGzipPlaylistsAndCORS(t *testing.T) {
	pl := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n" + strings.Repeat("#EXTINF:2.0,\nsegment-with-a-long-name.ts\n", 50) + "#EXT-X-ENDLIST\n"
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, pl)
	})
	cfg := testConfig(o.URL)
	cfg.CORS.AllowOrigins = []string{"https://player.example"}
	n := startNode(t, cfg, nil)
	url := "http://" + n.Addr() + "/vod/index.m3u8"

	r, body := httpGet(t, url, "Accept-Encoding", "gzip", "Origin", "https://player.example")
	if r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", r.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != pl {
		t.Fatal("gunzipped playlist differs")
	}
	if r.Header.Get("Access-Control-Allow-Origin") != "https://player.example" || !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Cache-Status") {
		t.Fatalf("CORS headers: %v", r.Header)
	}
	r, _ = httpGet(t, url, "Origin", "https://evil.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("an origin not allowed got Access-Control-Allow-Origin")
	}

	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	req.Header.Set("Origin", "https://player.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "range")
	pr, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	if pr.StatusCode != 204 || pr.Header.Get("Access-Control-Allow-Origin") != "https://player.example" ||
		!strings.Contains(pr.Header.Get("Access-Control-Allow-Methods"), "GET") || pr.Header.Get("Access-Control-Allow-Headers") != "range" {
		t.Fatalf("preflight: %d %v", pr.StatusCode, pr.Header)
	}
	if o.total() != 1 {
		t.Fatalf("origin requests = %d, want 1 (a preflight never reaches the origin)", o.total())
	}
}

// selfSigned writes a certificate for 127.0.0.1 and returns its files and pool.
func selfSigned(tb testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "edgeswarm test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestHTTP3WithAltSvc(t *testing.T) {
	body := segmentBytes(300 << 10)
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "video/mp2t")
		_, _ = w.Write(body)
	})
	cfg := testConfig(o.URL)
	cfg.TLSCert, cfg.TLSKey, _ = selfSigned(t)
	_, _, pool := func() (string, string, *x509.CertPool) {
		data, _ := os.ReadFile(cfg.TLSCert)
		p := x509.NewCertPool()
		p.AppendCertsFromPEM(data)
		return "", "", p
	}()
	n := startNode(t, cfg, nil)
	url := "https://" + n.Addr() + "/h3/1.ts"

	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	r1, err := h1.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r1.Body)
	r1.Body.Close()
	_, port, _ := net.SplitHostPort(n.Addr())
	if alt := r1.Header.Get("Alt-Svc"); alt != `h3=":`+port+`"; ma=86400` {
		t.Fatalf("Alt-Svc = %q", alt)
	}

	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.Close()
	h3 := &http.Client{Transport: tr}
	r3, err := h3.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r3.Body)
	r3.Body.Close()
	if err != nil || r3.ProtoMajor != 3 || !bytes.Equal(got, body) || r3.Header.Get("Cache-Status") != "edgeswarm; hit" {
		t.Fatalf("HTTP/3: proto %d, %d bytes, %q, %v", r3.ProtoMajor, len(got), r3.Header.Get("Cache-Status"), err)
	}
	mr, metricsBody := httpGet(t, "http://"+n.AdminAddr()+"/metrics")
	if mr.StatusCode != 200 || !strings.Contains(string(metricsBody), `edgeswarm_http_requests_total{code="200",proto="h3"} 1`) {
		t.Fatalf("metrics do not count the HTTP/3 request:\n%s", metricsBody)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write(segmentBytes(100))
	})
	n := startNode(t, testConfig(o.URL), nil)
	httpGet(t, "http://"+n.Addr()+"/m/1.ts")
	httpGet(t, "http://"+n.Addr()+"/m/1.ts")
	for _, p := range []string{"/healthz", "/readyz"} {
		if r, _ := httpGet(t, "http://"+n.AdminAddr()+p); r.StatusCode != 200 {
			t.Fatalf("%s: %d", p, r.StatusCode)
		}
	}
	_, body := httpGet(t, "http://"+n.AdminAddr()+"/metrics")
	for _, want := range []string{
		`edgeswarm_http_requests_total{code="200",proto="h1"} 2`,
		`edgeswarm_cache_requests_total{result="hit"} 1`,
		`edgeswarm_cache_requests_total{result="miss"} 1`,
		`edgeswarm_origin_requests_total 1`,
		`edgeswarm_origin_errors_total 0`,
		`edgeswarm_cache_bytes{store="ristretto"}`,
		`edgeswarm_bytes_sent_total{path="http"} 200`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	release := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "6")
		_, _ = w.Write([]byte("abc"))
		w.(http.Flusher).Flush()
		<-release
		_, _ = w.Write([]byte("def"))
	})
	closeOnCleanup(t, release)
	n, err := New(testConfig(o.URL), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	resp, err := http.Get("http://" + n.Addr() + "/g/1.ts")
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 3)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	cancel()
	waitFor(t, func() bool { return !n.ready.Load() })
	release <- struct{}{}
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(first)+string(rest) != "abcdef" {
		t.Fatalf("in-flight response during shutdown: %q%q, %v", first, rest, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", n.Addr()); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestDemoLiveStreamAdvancesAndStaysValid(t *testing.T) {
	clk := newFakeClock()
	n := startNode(t, testConfig(""), clk.Now)
	base := "http://" + n.Addr()
	r, body := httpGet(t, base+"/live/master.m3u8")
	if r.StatusCode != 200 {
		t.Fatalf("master: %d", r.StatusCode)
	}
	p, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MASTER {
		t.Fatalf("master playlist: %v", err)
	}
	master := p.(*m3u8.MasterPlaylist)
	if len(master.Variants) != 3 {
		t.Fatalf("renditions = %d, want 3", len(master.Variants))
	}
	mediaURL := base + "/live/" + master.Variants[0].URI
	var lastSeq uint64
	for i := range 3 {
		_, body := httpGet(t, mediaURL)
		p, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
		if err != nil || kind != m3u8.MEDIA {
			t.Fatalf("media playlist: %v", err)
		}
		media := p.(*m3u8.MediaPlaylist)
		if media.Closed || media.Count() < 10 {
			t.Fatalf("live playlist: closed=%v segments=%d", media.Closed, media.Count())
		}
		if i > 0 && media.SeqNo != lastSeq+1 {
			t.Fatalf("media sequence %d after %d, want +1 per segment duration", media.SeqNo, lastSeq)
		}
		lastSeq = media.SeqNo
		seg := media.Segments[media.Count()-1]
		sr, sbody := httpGet(t, mediaURL[:strings.LastIndex(mediaURL, "/")+1]+seg.URI)
		if sr.StatusCode != 200 || len(sbody) < 188 || sbody[0] != 0x47 {
			t.Fatalf("newest segment %s: %d, %d bytes", seg.URI, sr.StatusCode, len(sbody))
		}
		clk.Advance(2 * time.Second)
	}
}

func TestServesTheBrowserScriptAndDemoPage(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	base := "http://" + n.Addr()
	r, body := httpGet(t, base+"/edgeswarm.js", "Accept-Encoding", "identity")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(string(body), "edgeswarm") {
		t.Fatalf("/edgeswarm.js: %d %q, %d bytes", r.StatusCode, r.Header.Get("Content-Type"), len(body))
	}
	etag := r.Header.Get("ETag")
	if r304, _ := httpGet(t, base+"/edgeswarm.js", "If-None-Match", etag, "Accept-Encoding", "identity"); r304.StatusCode != 304 {
		t.Fatalf("revalidation: %d, want 304", r304.StatusCode)
	}
	rz, zbody := httpGet(t, base+"/edgeswarm.js", "Accept-Encoding", "gzip")
	zr, err := gzip.NewReader(bytes.NewReader(zbody))
	if err != nil || rz.Header.Get("ETag") == etag {
		t.Fatalf("gzip variant: %v, ETag %q (identity %q)", err, rz.Header.Get("ETag"), etag)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, body) {
		t.Fatal("gzip variant differs")
	}
	for _, p := range []string{"/edgeswarm.mjs", "/edgeswarm.d.ts", "/"} {
		if r, _ := httpGet(t, base+p); r.StatusCode != 200 {
			t.Fatalf("%s: %d", p, r.StatusCode)
		}
	}
	_, page := httpGet(t, base+"/")
	if !strings.Contains(string(page), "/live/master.m3u8") {
		t.Fatal("the demo page does not play the demo stream")
	}
}
