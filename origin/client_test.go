package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
)

// seen is what a test origin recorded about one request.
type seen struct {
	requestURI string
	host       string
	header     http.Header
}

// testOrigin is an HTTP origin on a loopback port that records requests.
type testOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newTestOrigin(tb testing.TB, h http.HandlerFunc) *testOrigin {
	tb.Helper()
	o := &testOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.reqs = append(o.reqs, seen{requestURI: r.RequestURI, host: r.Host, header: r.Header.Clone()})
		o.mu.Unlock()
		h(w, r)
	}))
	tb.Cleanup(o.Close)
	return o
}

func (o *testOrigin) requests() []seen {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]seen(nil), o.reqs...)
}

func (o *testOrigin) host() string { return strings.TrimPrefix(o.URL, "http://") }

func newTestClient(tb testing.TB, mod func(*Config), routes ...Route) *Client {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Routes = routes
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg, nil)
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// fetchAll fetches and reads the whole body.
func fetchAll(tb testing.TB, c *Client, req *cache.Request) (*cache.Object, string) {
	tb.Helper()
	obj, err := c.Fetch(context.Background(), req)
	if err != nil {
		tb.Fatalf("Fetch(%q): %v", req.Path, err)
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		tb.Fatalf("reading %q: %v", req.Path, err)
	}
	return obj, string(b)
}

func okHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }
}

func TestFetchForwardsEndToEndHeadersOnly(t *testing.T) {
	o := newTestOrigin(t, okHandler("x"))
	c := newTestClient(t, nil, Route{Prefix: "/tv/", URL: o.URL + "/streams/"})
	req := &cache.Request{
		Key: "/tv/a/1.ts", Path: "/tv/a/1.ts", RawQuery: "token=abc%2Fdef&exp=1",
		Header: []cache.Header{
			{Name: "Authorization", Value: "Bearer s3cret"},
			{Name: "Cookie", Value: `session="a=b"; theme=dark`},
			{Name: "Cookie", Value: "second=1"},
			{Name: "User-Agent", Value: "player/1.0"},
			{Name: "X-Custom", Value: "kept"},
			{Name: "Connection", Value: "keep-alive, X-Hop"},
			{Name: "X-Hop", Value: "listed in Connection"},
			{Name: "Keep-Alive", Value: "timeout=5"},
			{Name: "Proxy-Authorization", Value: "Basic eA=="},
			{Name: "TE", Value: "trailers"},
			{Name: "Upgrade", Value: "websocket"},
			{Name: "Host", Value: "viewer.example"},
			{Name: "Accept-Encoding", Value: "gzip, br"},
			{Name: "Range", Value: "bytes=0-10"},
			{Name: "If-None-Match", Value: `"abc"`},
			{Name: "If-Modified-Since", Value: "Mon, 02 Jan 2006 15:04:05 GMT"},
			{Name: "X-Bad", Value: "a\r\nInjected: yes"},
		},
	}
	fetchAll(t, c, req)
	reqs := o.requests()
	if len(reqs) != 1 {
		t.Fatalf("origin saw %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.requestURI != "/streams/a/1.ts?token=abc%2Fdef&exp=1" {
		t.Errorf("request URI = %q", got.requestURI)
	}
	if got.host != o.host() {
		t.Errorf("Host = %q, want the origin's %q", got.host, o.host())
	}
	for name, want := range map[string]string{
		"Authorization":   "Bearer s3cret",
		"User-Agent":      "player/1.0",
		"X-Custom":        "kept",
		"Accept-Encoding": "identity",
	} {
		if v := got.header.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if v := got.header.Values("Cookie"); !reflect.DeepEqual(v, []string{`session="a=b"; theme=dark`, "second=1"}) {
		t.Errorf("Cookie = %q, want both headers unchanged", v)
	}
	for _, name := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Te", "Upgrade", "Range",
		"If-None-Match", "If-Modified-Since", "X-Bad", "Injected"} {
		if v, ok := got.header[http.CanonicalHeaderKey(name)]; ok {
			t.Errorf("%s was forwarded: %q", name, v)
		}
	}
}

func TestFetchRoutes(t *testing.T) {
	a := newTestOrigin(t, okHandler("a"))
	b := newTestOrigin(t, okHandler("b"))
	c := newTestClient(t, nil,
		Route{Prefix: "/", URL: a.URL + "/root/"},
		Route{Prefix: "/tv/", URL: b.URL + "/streams/"},
		Route{Prefix: "/tv/special/", URL: a.URL},
	)
	tests := []struct {
		path, query string
		body, uri   string
	}{
		{"/tv/show/index.m3u8", "", "b", "/streams/show/index.m3u8"},
		{"/tv/show/1.ts", "t=1", "b", "/streams/show/1.ts?t=1"},
		{"/tv/special/1.ts", "", "a", "/1.ts"},
		{"/other/1.ts", "", "a", "/root/other/1.ts"},
		{"/tv/a%20b/%41%7e.ts", "", "b", "/streams/a%20b/%41%7e.ts"},
		{"/tv/sp ace/caf\u00e9.ts", "q=a b", "b", "/streams/sp%20ace/caf%C3%A9.ts?q=a%20b"},
		{"/tv/", "", "b", "/streams/"},
		{"/tv/a\r\nX-Injected: 1.ts", "b\r\nc", "b", "/streams/a%0D%0AX-Injected:%201.ts?b%0D%0Ac"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if !c.Route(tt.path) {
				t.Errorf("Route(%q) = false", tt.path)
			}
			before := len(a.requests()) + len(b.requests())
			_, body := fetchAll(t, c, &cache.Request{Path: tt.path, RawQuery: tt.query})
			if body != tt.body {
				t.Errorf("served by origin %q, want %q", body, tt.body)
			}
			all := append(a.requests(), b.requests()...)
			if len(all) != before+1 {
				t.Fatalf("%d origin requests, want 1", len(all)-before)
			}
			var uris []string
			for _, r := range all {
				uris = append(uris, r.requestURI)
			}
			found := false
			for _, u := range uris {
				found = found || u == tt.uri
			}
			if !found {
				t.Errorf("no origin request for %q; origins saw %q", tt.uri, uris)
			}
		})
	}
}

func TestFetchNeverLeavesConfiguredOrigins(t *testing.T) {
	o := newTestOrigin(t, okHandler("origin"))
	evil := newTestOrigin(t, okHandler("evil"))
	c := newTestClient(t, nil, Route{Prefix: "/tv/", URL: o.URL + "/streams/"})
	refused := []string{
		"/tv/../secret",
		"/tv/a/../../secret",
		"/tv/%2e%2e/secret",
		"/tv/%2E./secret",
		"/tv/a/%2F../secret",
		"/tv/a%2fb.ts",
		"/tv/a%5cb.ts",
		"/tv/a\\..\\b.ts",
		"/tv/%252e%252e/secret",
		"/tv/%25%32%65%25%32%65/secret",
		"/tv/a%255c..%255csecret",
		"/tv/.",
		"/tv/a/..",
		"/tv//" + evil.host() + "/x",
		"/tv/a?b/x",
		"/tv/a#b",
		"/tv/a%00b",
		evil.URL + "/tv/x.ts",
		"//" + evil.host() + "/tv/x.ts",
		"tv/x.ts",
		"/TV/x.ts",
		"/other/x.ts",
		"",
	}
	for _, p := range refused {
		if c.Route(p) {
			t.Errorf("Route(%q) = true, want false", p)
		}
		_, err := c.Fetch(context.Background(), &cache.Request{Path: p})
		if !errors.Is(err, ErrNoRoute) {
			t.Errorf("Fetch(%q) error = %v, want ErrNoRoute", p, err)
		}
	}
	// The viewer controls the query and headers, not the destination.
	fetchAll(t, c, &cache.Request{Path: "/tv/x.ts", RawQuery: "url=" + evil.URL + "/x",
		Header: []cache.Header{{Name: "Host", Value: evil.host()}, {Name: "X-Forwarded-Host", Value: evil.host()}}})
	if n := len(evil.requests()); n != 0 {
		t.Fatalf("a host that is not a configured origin got %d requests", n)
	}
	reqs := o.requests()
	if len(reqs) != 1 {
		t.Fatalf("origin got %d requests, want 1 (refused paths must not be fetched)", len(reqs))
	}
	if reqs[0].host != o.host() || reqs[0].header.Get("User-Agent") != "edgeswarm" {
		t.Errorf("origin saw Host %q, User-Agent %q; want %q, edgeswarm", reqs[0].host, reqs[0].header.Get("User-Agent"), o.host())
	}
}

func TestFetchStreamsBody(t *testing.T) {
	first, rest := "first bytes of the segment|", "the rest"
	release := make(chan struct{})
	o := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		io.WriteString(w, first)
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, rest)
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	c := newTestClient(t, nil, Route{Prefix: "/", URL: o.URL})
	obj, err := c.Fetch(context.Background(), &cache.Request{Path: "/live/1.ts"})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer obj.Body.Close()
	if obj.Kind != cache.KindSegment || obj.Size != -1 {
		t.Errorf("kind %v size %d, want segment of unknown size", obj.Kind, obj.Size)
	}
	buf := make([]byte, len(first))
	// The origin has not finished: these bytes can only come from a stream.
	if _, err := io.ReadFull(obj.Body, buf); err != nil || string(buf) != first {
		t.Fatalf("first bytes = %q, %v", buf, err)
	}
	close(release)
	b, err := io.ReadAll(obj.Body)
	if err != nil || string(b) != rest {
		t.Fatalf("rest = %q, %v", b, err)
	}
}

func TestFetchPlaylist(t *testing.T) {
	const live = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:10\n" +
		"#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:6,\n10.m4s?tok=1\n#EXTINF:6,\n11.m4s?tok=2\n" +
		"#EXTINF:6,\n/shared/12.m4s\n#EXTINF:6,\nhttp://ORIGIN/streams/show/13.m4s\n#EXTINF:6,\nhttp://elsewhere.example/14.m4s\n"
	var o *testOrigin
	o = newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/streams/show/live.m3u8":
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
			io.WriteString(w, strings.ReplaceAll(live, "ORIGIN", o.host()))
		case "/streams/show/vod.m3u8":
			io.WriteString(w, "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n1.ts\n#EXT-X-ENDLIST\n")
		case "/streams/show/master":
			w.Header().Set("Content-Type", "audio/mpegurl")
			io.WriteString(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n")
		case "/streams/show/broken.m3u8":
			io.WriteString(w, "<html>not a playlist</html>")
		}
	})
	tests := []struct {
		name    string
		cfg     func(*Config)
		path    string
		query   string
		header  []cache.Header
		kind    cache.Kind
		ttl     time.Duration
		window  []string
		bodyHas string
	}{
		{"live", nil, "/tv/show/live.m3u8", "cc=max-age=60", nil, cache.KindLivePlaylist, 3 * time.Second,
			[]string{"/tv/show/init.mp4", "/tv/show/10.m4s", "/tv/show/11.m4s", "/shared/12.m4s", "/tv/show/13.m4s"}, "#EXTM3U"},
		{"live with smaller max-age", nil, "/tv/show/live.m3u8", "cc=max-age=1", nil, cache.KindLivePlaylist, time.Second,
			nil, ""},
		{"live without freshness: revalidate", nil, "/tv/show/live.m3u8", "", nil, cache.KindLivePlaylist, 0, nil, ""},
		{"live capped", func(c *Config) { c.TTL.MaxLivePlaylist = 500 * time.Millisecond }, "/tv/show/live.m3u8", "cc=max-age=60", nil,
			cache.KindLivePlaylist, 500 * time.Millisecond, nil, ""},
		{"live no-store", nil, "/tv/show/live.m3u8", "cc=no-store", nil, cache.KindLivePlaylist, 0, nil, ""},
		{"live keys keep host", func(c *Config) { c.Key.KeepHost = true }, "/tv/show/live.m3u8", "cc=max-age=60",
			[]cache.Header{{Name: "Host", Value: "Edge.Example"}}, cache.KindLivePlaylist, 3 * time.Second,
			[]string{"edge.example/tv/show/init.mp4", "edge.example/tv/show/10.m4s", "edge.example/tv/show/11.m4s",
				"edge.example/shared/12.m4s", "edge.example/tv/show/13.m4s"}, ""},
		{"vod without freshness: revalidate", nil, "/tv/show/vod.m3u8", "", nil, cache.KindVODPlaylist, 0, nil, "ENDLIST"},
		{"master by content type", nil, "/tv/show/master", "", nil, cache.KindMasterPlaylist, 0, nil, "low.m3u8"},
		{"malformed passed through uncached", nil, "/tv/show/broken.m3u8", "", nil, cache.KindOther, 0, nil, "<html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, tt.cfg, Route{Prefix: "/tv/", URL: o.URL + "/streams/"})
			obj, body := fetchAll(t, c, &cache.Request{Path: tt.path, RawQuery: tt.query, Header: tt.header})
			if obj.Kind != tt.kind || obj.TTL != tt.ttl {
				t.Errorf("kind %v ttl %v, want %v %v", obj.Kind, obj.TTL, tt.kind, tt.ttl)
			}
			if tt.window != nil && !reflect.DeepEqual(obj.Window, tt.window) {
				t.Errorf("window %q\nwant   %q", obj.Window, tt.window)
			}
			if tt.kind != cache.KindLivePlaylist && obj.Window != nil {
				t.Errorf("window %q on a %v object", obj.Window, obj.Kind)
			}
			if !strings.Contains(body, tt.bodyHas) || obj.Size != int64(len(body)) {
				t.Errorf("body %q (size %d) lacks %q", body, obj.Size, tt.bodyHas)
			}
		})
	}
}

func TestFetchStatusAndHeaders(t *testing.T) {
	o := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/seg.ts":
			h.Set("Content-Type", "video/mp2t")
			h.Set("Cache-Control", "public, max-age=60")
			h.Set("Age", "20")
			h.Set("ETag", `"v1"`)
			h.Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
			h.Add("Set-Cookie", "id=viewer1")
			h.Set("X-Internal", "secret")
			h.Set("Keep-Alive", "timeout=5")
			io.WriteString(w, "0123456789")
		case "/shared.ts":
			h.Set("Cache-Control", "max-age=10, s-maxage=100")
			io.WriteString(w, "x")
		case "/private.ts":
			h.Set("Cache-Control", "private, max-age=60")
			io.WriteString(w, "x")
		case "/plain.bin":
			h["Content-Type"] = nil // no sniffing: the origin sends none
			w.Write([]byte{1, 2, 3})
		case "/gone.ts":
			w.WriteHeader(http.StatusGone)
		case "/missing.m3u8":
			http.NotFound(w, r)
		case "/error.ts":
			h.Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/moved.m3u8":
			h.Set("Location", "http://"+r.Host+"/base/new.m3u8?x=1")
			w.WriteHeader(http.StatusFound)
		case "/away.m3u8":
			h.Set("Location", "/base/elsewhere.m3u8")
			w.WriteHeader(http.StatusMovedPermanently)
		}
	})
	c := newTestClient(t, func(c *Config) { c.TTL.Negative = 5 * time.Second },
		Route{Prefix: "/", URL: o.URL}, Route{Prefix: "/pub/", URL: o.URL + "/base/"})
	tests := []struct {
		path    string
		status  int
		kind    cache.Kind
		ttl     time.Duration
		size    int64
		headers map[string]string // "" value: must be absent
	}{
		{"/seg.ts", 200, cache.KindSegment, 0, 10, map[string]string{ // Set-Cookie: passed through, not stored
			"Content-Type": "video/mp2t", "Cache-Control": "public, max-age=60", "ETag": `"v1"`,
			"Last-Modified": "Mon, 02 Jan 2006 15:04:05 GMT", "Set-Cookie": "id=viewer1", "X-Internal": "secret", "Keep-Alive": "",
			"Content-Length": "", "Age": "20", "Date": ""}}, // Age stays stored; the edge replaces it
		{"/shared.ts", 200, cache.KindSegment, 100 * time.Second, 1, nil},
		{"/private.ts", 200, cache.KindSegment, 0, 1, nil},
		{"/plain.bin", 200, cache.KindOther, 0, 3, map[string]string{"Content-Type": ""}},
		{"/gone.ts", 410, cache.KindOther, 5 * time.Second, 0, nil},
		{"/missing.m3u8", 404, cache.KindOther, 5 * time.Second, -2, nil},
		{"/error.ts", 503, cache.KindOther, 0, 0, map[string]string{"Retry-After": "3"}},
		{"/moved.m3u8", 302, cache.KindOther, 0, 0, map[string]string{"Location": "/pub/new.m3u8?x=1"}},
		{"/away.m3u8", 301, cache.KindOther, 0, 0, map[string]string{"Location": "/pub/elsewhere.m3u8"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			obj, body := fetchAll(t, c, &cache.Request{Path: tt.path})
			if ttl := obj.TTL - obj.Age; obj.Status != tt.status || obj.Kind != tt.kind || (obj.Store && ttl != tt.ttl) {
				t.Errorf("status %d kind %v freshness %v, want %d %v %v", obj.Status, obj.Kind, ttl, tt.status, tt.kind, tt.ttl)
			}
			if tt.size != -2 && obj.Size != tt.size {
				t.Errorf("size %d, want %d", obj.Size, tt.size)
			}
			if obj.Size >= 0 && int64(len(body)) != obj.Size {
				t.Errorf("body is %d bytes, size says %d", len(body), obj.Size)
			}
			for name, want := range tt.headers {
				got := headerValue(obj.Header, name)
				if got != want {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	// A port nothing listens on: listen, note the address, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()

	hang := make(chan struct{})
	arrived := make(chan struct{}, 16)
	o := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang-headers.ts":
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-hang
		case "/hang-body.ts":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			<-hang
		case "/big.ts":
			w.Header().Set("Content-Length", "100")
			w.Write(make([]byte, 100))
		case "/big-chunked.ts", "/big.m3u8":
			w.Write([]byte("#EXTM3U\n"))
			w.(http.Flusher).Flush()
			w.Write(make([]byte, 100))
		case "/cut.ts":
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\nonly ten b")
			buf.Flush()
			conn.Close()
		}
	})
	// Registered after the origin's: runs first, so that closing the origin
	// does not wait for handlers that are still hanging.
	t.Cleanup(func() { close(hang) })
	c := newTestClient(t, func(c *Config) {
		c.Timeout = 300 * time.Millisecond
		c.MaxBodySize = 50
	}, Route{Prefix: "/", URL: o.URL}, Route{Prefix: "/down/", URL: "http://" + closedAddr + "/"})

	t.Run("connection refused", func(t *testing.T) {
		_, err := c.Fetch(context.Background(), &cache.Request{Path: "/down/1.ts"})
		if !errors.Is(err, ErrUpstream) || errors.Is(err, ErrTimeout) {
			t.Fatalf("error = %v, want ErrUpstream", err)
		}
	})
	t.Run("no headers in time", func(t *testing.T) {
		_, err := c.Fetch(context.Background(), &cache.Request{Path: "/hang-headers.ts"})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want ErrTimeout and context.DeadlineExceeded", err)
		}
		<-arrived
	})
	t.Run("body not complete in time", func(t *testing.T) {
		obj, err := c.Fetch(context.Background(), &cache.Request{Path: "/hang-body.ts"})
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		defer obj.Body.Close()
		_, err = io.ReadAll(obj.Body)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("body error = %v, want ErrTimeout", err)
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := c.Fetch(ctx, &cache.Request{Path: "/hang-headers.ts"})
			errc <- err
		}()
		<-arrived
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled while streaming", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		obj, err := c.Fetch(ctx, &cache.Request{Path: "/hang-body.ts"})
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		defer obj.Body.Close()
		buf := make([]byte, len("partial"))
		if _, err := io.ReadFull(obj.Body, buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := obj.Body.Read(buf); !errors.Is(err, context.Canceled) {
			t.Fatalf("read after cancel = %v, want context.Canceled", err)
		}
	})
	t.Run("too large by length", func(t *testing.T) {
		_, err := c.Fetch(context.Background(), &cache.Request{Path: "/big.ts"})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error = %v, want ErrTooLarge", err)
		}
	})
	t.Run("too large while streaming", func(t *testing.T) {
		obj, err := c.Fetch(context.Background(), &cache.Request{Path: "/big-chunked.ts"})
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		defer obj.Body.Close()
		if _, err := io.ReadAll(obj.Body); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("body error = %v, want ErrTooLarge", err)
		}
	})
	t.Run("playlist too large", func(t *testing.T) {
		_, err := c.Fetch(context.Background(), &cache.Request{Path: "/big.m3u8"})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error = %v, want ErrTooLarge", err)
		}
	})
	t.Run("body cut short", func(t *testing.T) {
		obj, err := c.Fetch(context.Background(), &cache.Request{Path: "/cut.ts"})
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		defer obj.Body.Close()
		if _, err := io.ReadAll(obj.Body); err == nil {
			t.Fatal("a truncated body read without error")
		}
	})
}

// TestFetchConcurrent checks, under -race, that many fetches share the
// upstream client safely and every body is whole.
func TestFetchConcurrent(t *testing.T) {
	var served atomic.Int64
	o := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		fmt.Fprintf(w, "body of %s", r.URL.Path)
	})
	c := newTestClient(t, nil, Route{Prefix: "/", URL: o.URL})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			p := fmt.Sprintf("/s/%d.ts", i)
			obj, err := c.Fetch(context.Background(), &cache.Request{Path: p})
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil || string(b) != "body of "+p {
				errs <- fmt.Errorf("%s: %q, %v", p, b, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if served.Load() != 32 {
		t.Errorf("origin served %d requests, want 32", served.Load())
	}
}

// TestDecide covers the freshness and storability rules (RFC 9111 with
// the media rules as upper bounds). want is the freshness left on arrival
// (TTL less Age); store is whether the answer may be reused.
func TestDecide(t *testing.T) {
	cfg := DefaultConfig().TTL
	cfg.MaxLivePlaylist = 0
	live := &PlaylistInfo{Kind: cache.KindLivePlaylist, TargetDuration: 6 * time.Second}
	ll := &PlaylistInfo{Kind: cache.KindLivePlaylist, TargetDuration: 4 * time.Second, PartTarget: time.Second}
	capped := cfg
	capped.MaxLivePlaylist = time.Second
	lm := time.Now().Add(-100 * time.Hour).UTC().Format(http.TimeFormat)
	now := time.Now().UTC()
	tests := []struct {
		name     string
		cfg      TTLConfig
		status   int
		kind     cache.Kind
		info     *PlaylistInfo
		hdr      []string // name, value pairs
		auth     bool
		override bool
		want     time.Duration
		store    bool
	}{
		{"no freshness information: revalidate", cfg, 200, cache.KindSegment, nil, nil, false, false, 0, true},
		{"max-age", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=600"}, false, false, 10 * time.Minute, true},
		{"s-maxage wins", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=5, s-maxage=60"}, false, false, time.Minute, true},
		{"age deducted", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=60", "Age", "50"}, false, false, 10 * time.Second, true},
		{"older than max-age", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=60", "Age", "90"}, false, false, -30 * time.Second, true},
		{"invalid max-age", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=soon"}, false, false, 0, true},
		{"quoted max-age", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", `max-age="30"`}, false, false, 30 * time.Second, true},
		{"huge max-age capped", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=99999999999999999999"}, false, false, maxFreshness, true},
		{"no-store", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "no-store"}, false, false, 0, false},
		{"private", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "PRIVATE, max-age=60"}, false, false, 0, false},
		{"no-cache: store and revalidate", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "no-cache, max-age=60"}, false, false, 0, true},
		{"Pragma no-cache without Cache-Control", cfg, 200, cache.KindSegment, nil, []string{"Pragma", "no-cache", "Expires", now.Add(time.Hour).Format(http.TimeFormat), "Date", now.Format(http.TimeFormat)}, false, false, 0, true},
		{"Set-Cookie never stored", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=60", "Set-Cookie", "a=b"}, false, false, 0, false},
		{"Vary star never stored", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=60", "Vary", "*"}, false, false, 0, false},
		{"Expires minus Date", cfg, 200, cache.KindSegment, nil, []string{"Expires", now.Add(time.Hour).Format(http.TimeFormat), "Date", now.Format(http.TimeFormat)}, false, false, time.Hour, true},
		{"invalid Expires: stale", cfg, 200, cache.KindSegment, nil, []string{"Expires", "0"}, false, false, 0, true},
		{"max-age beats Expires", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=5", "Expires", now.Add(time.Hour).Format(http.TimeFormat)}, false, false, 5 * time.Second, true},
		{"heuristic from Last-Modified, capped", cfg, 200, cache.KindSegment, nil, []string{"Last-Modified", lm}, false, false, time.Hour, true},
		{"CDN-Cache-Control over Cache-Control", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=30"}, false, false, 30 * time.Second, true},
		{"targeted over CDN-Cache-Control", cfg, 200, cache.KindSegment, nil, []string{"CDN-Cache-Control", "max-age=30", "Edgeswarm-Cache-Control", "max-age=7"}, false, false, 7 * time.Second, true},
		{"authorized, plain max-age: not stored", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "max-age=60"}, true, false, 0, false},
		{"authorized, public", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "public, max-age=60"}, true, false, time.Minute, true},
		{"authorized, s-maxage", cfg, 200, cache.KindSegment, nil, []string{"Cache-Control", "s-maxage=60"}, true, false, time.Minute, true},
		{"203", cfg, 203, cache.KindSegment, nil, []string{"Cache-Control", "max-age=9"}, false, false, 9 * time.Second, true},
		{"404 default", cfg, 404, cache.KindOther, nil, nil, false, false, 2 * time.Second, true},
		{"410 origin freshness", cfg, 410, cache.KindOther, nil, []string{"Cache-Control", "max-age=600"}, false, false, 10 * time.Minute, true},
		{"404 no-store", cfg, 404, cache.KindOther, nil, []string{"Cache-Control", "no-store"}, false, false, 0, false},
		{"301 cacheable by default", cfg, 301, cache.KindOther, nil, []string{"Cache-Control", "max-age=60"}, false, false, time.Minute, true},
		{"500 without freshness", cfg, 500, cache.KindOther, nil, nil, false, false, 0, false},
		{"503 with max-age", cfg, 503, cache.KindOther, nil, []string{"Cache-Control", "max-age=5"}, false, false, 5 * time.Second, true},
		{"206 never", cfg, 206, cache.KindSegment, nil, []string{"Cache-Control", "max-age=60"}, false, false, 0, false},
		{"302 without freshness", cfg, 302, cache.KindOther, nil, nil, false, false, 0, false},
		{"master bounded", cfg, 200, cache.KindMasterPlaylist, nil, []string{"Cache-Control", "max-age=600"}, false, false, 2 * time.Second, true},
		{"master no-cache", cfg, 200, cache.KindMasterPlaylist, nil, []string{"Cache-Control", "no-cache"}, false, false, 0, true},
		{"vod origin lower", cfg, 200, cache.KindVODPlaylist, nil, []string{"Cache-Control", "max-age=60"}, false, false, time.Minute, true},
		{"live no information", cfg, 200, cache.KindLivePlaylist, live, nil, false, false, 0, true},
		{"live origin lower", cfg, 200, cache.KindLivePlaylist, live, []string{"Cache-Control", "max-age=1"}, false, false, time.Second, true},
		{"live origin higher: half target", cfg, 200, cache.KindLivePlaylist, live, []string{"Cache-Control", "max-age=60"}, false, false, 3 * time.Second, true},
		{"live ll-hls half part", cfg, 200, cache.KindLivePlaylist, ll, []string{"Cache-Control", "max-age=60"}, false, false, 500 * time.Millisecond, true},
		{"live cap", capped, 200, cache.KindLivePlaylist, live, []string{"Cache-Control", "max-age=60"}, false, false, time.Second, true},
		{"live no-cache", cfg, 200, cache.KindLivePlaylist, live, []string{"Cache-Control", "no-cache"}, false, false, 0, true},
		{"live override", cfg, 200, cache.KindLivePlaylist, live, []string{"Cache-Control", "no-cache"}, false, true, 3 * time.Second, true},
		{"override keeps no-store", cfg, 200, cache.KindLivePlaylist, live, []string{"Cache-Control", "no-store"}, false, true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hs []cache.Header
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				hs = append(hs, cache.Header{Name: tt.hdr[i], Value: tt.hdr[i+1]})
			}
			p := decide(tt.cfg, hs, "", tt.status, tt.auth, media{kind: tt.kind, info: tt.info, override: tt.override})
			if p.store != tt.store || (p.store && p.ttl-p.age != tt.want) {
				t.Errorf("store %v, freshness left %v; want %v, %v", p.store, p.ttl-p.age, tt.store, tt.want)
			}
		})
	}
}

func TestPublicPath(t *testing.T) {
	c := newTestClient(t, nil,
		Route{Prefix: "/tv/", URL: "http://Origin.Example/streams/"},
		Route{Prefix: "/tv/hd/", URL: "http://origin.example:80/streams/hd/"},
		Route{Prefix: "/s/", URL: "https://secure.example/"},
	)
	tests := []struct {
		scheme, host, path string
		want               string
		ok                 bool
	}{
		{"http", "origin.example", "/streams/a/1.ts", "/tv/a/1.ts", true},
		{"http", "ORIGIN.example:80", "/streams/hd/1.ts", "/tv/hd/1.ts", true},
		{"", "origin.example", "/streams/b.ts", "/tv/b.ts", true},
		{"https", "origin.example", "/streams/b.ts", "", false},
		{"https", "secure.example:443", "/x.ts", "/s/x.ts", true},
		{"http", "origin.example", "/other/b.ts", "", false},
		{"http", "origin.example", "/streams/%2e%2e/b.ts", "", false},
		{"http", "evil.example", "/streams/b.ts", "", false},
	}
	for _, tt := range tests {
		got, ok := c.PublicPath(tt.scheme, tt.host, tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("PublicPath(%q, %q, %q) = %q, %v; want %q, %v", tt.scheme, tt.host, tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
