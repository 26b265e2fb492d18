package edge_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/edge"
	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
	"github.com/edgeswarm/edgeswarm/origin"
)

// The conformance table: one test per shared-cache behaviour (RFC 9111,
// RFC 9213, RFC 5861) against a scripted origin, through the real cache
// and origin client. docs/caching.md lists them.

// script is a scripted origin: handler answers, every request is recorded.
type script struct {
	mu   sync.Mutex
	reqs []*http.Request
	srv  *httptest.Server
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *script) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[len(s.reqs)-1]
}

type harness struct {
	t     *testing.T
	s     *edge.Server
	h2    *http.Client // set: requests go over HTTP/2 to h2URL (see frontOf)
	h2URL string
	c     *cache.Cache
	clk   *fakeclock.Clock
	o     *script
	mu    sync.Mutex
	fills []cache.FillInfo
}

// newHarness starts a scripted origin and an edge over a cache in front
// of it. handler sees the request number (1 for the first).
func newHarness(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int), cfgs ...func(*origin.Config)) *harness {
	t.Helper()
	h := &harness{t: t, clk: fakeclock.New(time.Unix(1_700_000_000, 0)), o: &script{}}
	h.o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.o.mu.Lock()
		h.o.reqs = append(h.o.reqs, r)
		n := len(h.o.reqs)
		h.o.mu.Unlock()
		handler(w, r, n)
	}))
	t.Cleanup(h.o.srv.Close)
	ocfg := origin.DefaultConfig()
	ocfg.Routes = []origin.Route{{Prefix: "/", URL: h.o.srv.URL}}
	for _, f := range cfgs {
		f(&ocfg)
	}
	oc, err := origin.NewClient(ocfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(oc.Close)
	ccfg := cache.DefaultConfig()
	ccfg.Size = 16 << 20
	ccfg.StaleGrace = 0 // stale answers only where the origin allows them
	h.c, err = cache.New(ccfg, oc, cache.Options{Clock: h.clk.Now, OnFill: func(fi cache.FillInfo) {
		h.mu.Lock()
		h.fills = append(h.fills, fi)
		h.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.c.Close)
	h.s = edge.New(edge.Config{TargetedHeader: ocfg.TTL.TargetedHeader}, h.c, oc, noTickets{}, edge.Options{Clock: h.clk.Now, Pass: oc})
	if frontOf(t) == "h2" {
		h.h2, h.h2URL = startH2(t, h.s.HTTPHandler(1<<20, nil))
	}
	return h
}

// frontOf is the front a conformance test sends its requests through:
// "h2" under TestConformanceOverHTTP2 (which reruns the table there),
// else none: straight into edge.Server.Serve, as the fronts do.
func frontOf(t *testing.T) string {
	if strings.HasPrefix(t.Name(), "TestConformanceOverHTTP2/") {
		return "h2"
	}
	return ""
}

// startH2 serves handler with net/http's HTTP/2 server over TLS (ALPN
// h2, as the node's TLS port) and returns a client that speaks HTTP/2 only.
func startH2(t *testing.T, handler http.Handler) (*http.Client, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	var h2 http.Protocols
	h2.SetHTTP2(true)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Protocols: &h2}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, srv.URL
}

type noTickets struct{}

func (noTickets) IssueTicket(string) string { return "" }

// headers is a front's header list for tests.
type headers [][2]string

func (hs headers) EachHeader(f func(name, value string)) {
	for _, h := range hs {
		f(h[0], h[1])
	}
}

type answer struct {
	status int
	header []cache.Header
	body   string
}

func (a answer) get(name string) string {
	for _, h := range a.header {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func (a answer) has(name string) bool {
	for _, h := range a.header {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

// do sends one request through the edge; kv are header name/value pairs.
func (h *harness) do(method, target string, body string, kv ...string) answer {
	h.t.Helper()
	if h.h2 != nil {
		return h.doH2(method, target, body, kv...)
	}
	x := edge.NewExchange()
	defer x.Release()
	path, query, _ := strings.Cut(target, "?")
	var hs headers
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, [2]string{kv[i], kv[i+1]})
		if strings.EqualFold(kv[i], "Authorization") {
			x.Req.Authorization = true
		}
	}
	x.Req.Method, x.Req.Path, x.Req.RawQuery, x.Req.Host, x.Req.Headers = method, path, query, "edge.test", hs
	x.Req.Body = []byte(body)
	resp := h.s.Serve(context.Background(), x)
	a := answer{status: resp.Status, header: append([]cache.Header(nil), resp.Header...)}
	switch {
	case resp.Stream != nil:
		b, err := io.ReadAll(resp.Stream)
		if err != nil {
			h.t.Fatalf("%s %s: body: %v", method, target, err)
		}
		a.body = string(b)
	default:
		a.body = string(resp.Body)
	}
	return a
}

// doH2 is do over a real HTTP/2 connection.
func (h *harness) doH2(method, target string, body string, kv ...string) answer {
	h.t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.h2URL+target, rb)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Host = "edge.test"
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	resp, err := h.h2.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s over h2: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s over h2: body: %v", method, target, err)
	}
	if resp.ProtoMajor != 2 {
		h.t.Fatalf("%s %s: answered over HTTP/%d, want 2", method, target, resp.ProtoMajor)
	}
	a := answer{status: resp.StatusCode, body: string(b)}
	for name, vs := range resp.Header {
		for _, v := range vs {
			a.header = append(a.header, cache.Header{Name: name, Value: v})
		}
	}
	return a
}

func (h *harness) get(target string, kv ...string) answer {
	h.t.Helper()
	return h.do(http.MethodGet, target, "", kv...)
}

func wantStatus(t *testing.T, what string, a answer, status int, cacheStatus string) {
	t.Helper()
	if a.status != status || (cacheStatus != "" && !strings.Contains(a.get("Cache-Status"), cacheStatus)) {
		t.Fatalf("%s: %d %q, want %d with Cache-Status containing %q", what, a.status, a.get("Cache-Status"), status, cacheStatus)
	}
}

func TestNoCacheIsStoredAndRevalidated(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.Header().Set("X-Version", "2")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("X-Version", "1")
		io.WriteString(w, "segment bytes")
	})
	wantStatus(t, "first", h.get("/s/1.ts"), 200, "fwd=miss; stored")
	a := h.get("/s/1.ts")
	wantStatus(t, "second", a, 200, "fwd=stale; fwd-status=304")
	if a.body != "segment bytes" || h.o.count() != 2 || h.o.last().Header.Get("If-None-Match") != `"v1"` {
		t.Fatalf("revalidation: body %q, origin requests %d, If-None-Match %q", a.body, h.o.count(), h.o.last().Header.Get("If-None-Match"))
	}
	if a.get("X-Version") != "2" || a.get("Cache-Control") != "no-cache" {
		t.Fatalf("the 304 must update the stored headers: X-Version %q, Cache-Control %q", a.get("X-Version"), a.get("Cache-Control"))
	}
}

func TestNotModifiedRefreshesFreshness(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		if r.Header.Get("If-Modified-Since") != "" {
			w.Header().Set("Cache-Control", "max-age=60")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Cache-Control", "max-age=0")
		io.WriteString(w, "v")
	})
	h.get("/a")
	wantStatus(t, "revalidated by date", h.get("/a"), 200, "fwd-status=304")
	if h.o.last().Header.Get("If-Modified-Since") != "Mon, 02 Jan 2006 15:04:05 GMT" {
		t.Fatalf("If-Modified-Since = %q", h.o.last().Header.Get("If-Modified-Since"))
	}
	h.clk.Advance(30 * time.Second)
	wantStatus(t, "fresh from the 304's max-age", h.get("/a"), 200, "hit")
}

func TestOneRevalidationForManyViewers(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"e"`)
		if r.Header.Get("If-None-Match") != "" {
			<-release
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "segment")
	})
	h.get("/s/1.ts")
	const viewers = 16
	var wg sync.WaitGroup
	bodies := make(chan string, viewers)
	for range viewers {
		wg.Go(func() { bodies <- h.get("/s/1.ts").body })
	}
	// Every viewer is waiting on the one revalidation before it lands.
	for h.c.Stats().Waiting < viewers {
		runtimeYield()
	}
	close(release)
	wg.Wait()
	close(bodies)
	for b := range bodies {
		if b != "segment" {
			t.Fatalf("a viewer got %q", b)
		}
	}
	if got := h.o.count(); got != 2 {
		t.Fatalf("origin requests = %d, want 2 (one fill, one revalidation for %d viewers)", got, viewers)
	}
}

func TestMustRevalidateNeverServedStale(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n > 1 {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "max-age=1, must-revalidate, stale-if-error=600")
		io.WriteString(w, "v")
	})
	h.get("/a")
	h.clk.Advance(5 * time.Second)
	a := h.get("/a")
	if a.status != 500 || !strings.Contains(a.body, "down") {
		t.Fatalf("must-revalidate and a failing origin: %d %q, want the origin's 500", a.status, a.body)
	}
}

func TestNoFreshnessInformationRevalidates(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("ETag", `"x"`)
		if r.Header.Get("If-None-Match") == `"x"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "v")
	})
	h.get("/a")
	wantStatus(t, "no freshness, default ttl 0", h.get("/a"), 200, "fwd-status=304")
}

func TestHeuristicFreshnessFromLastModified(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Last-Modified", time.Now().Add(-240*time.Hour).UTC().Format(http.TimeFormat))
		io.WriteString(w, "v")
	})
	h.get("/a")
	h.clk.Advance(30 * time.Minute)
	wantStatus(t, "within the capped heuristic", h.get("/a"), 200, "hit")
	h.clk.Advance(time.Hour)
	wantStatus(t, "past the 1h cap", h.get("/a"), 200, "fwd=miss")
	if h.o.last().Header.Get("If-Modified-Since") == "" {
		t.Fatal("the stale copy was not revalidated with If-Modified-Since")
	}
}

func TestSMaxAgeOverMaxAge(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=1, s-maxage=100")
		io.WriteString(w, "v")
	})
	h.get("/a")
	h.clk.Advance(50 * time.Second)
	wantStatus(t, "s-maxage", h.get("/a"), 200, "hit")
}

func TestExpiresMinusDate(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		now := time.Now().UTC()
		w.Header().Set("Date", now.Format(http.TimeFormat))
		w.Header().Set("Expires", now.Add(60*time.Second).Format(http.TimeFormat))
		io.WriteString(w, "v")
	})
	h.get("/a")
	h.clk.Advance(30 * time.Second)
	wantStatus(t, "before Expires", h.get("/a"), 200, "hit")
	h.clk.Advance(31 * time.Second)
	wantStatus(t, "after Expires", h.get("/a"), 200, "fwd=miss")
}

func TestAgeFromOriginPlusResidentTime(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Age", "20")
		io.WriteString(w, "v")
	})
	if a := h.get("/a"); a.get("Age") != "20" {
		t.Fatalf("Age on the fill = %q, want the origin's 20", a.get("Age"))
	}
	h.clk.Advance(10 * time.Second)
	if a := h.get("/a"); a.get("Age") != "30" || !strings.Contains(a.get("Cache-Status"), "hit") {
		t.Fatalf("Age after 10 s = %q (%q), want 30 on a hit", a.get("Age"), a.get("Cache-Status"))
	}
	h.clk.Advance(35 * time.Second)
	wantStatus(t, "Age past max-age", h.get("/a"), 200, "fwd=miss")
}

func TestVaryIsASecondaryKey(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "X-Variant")
		io.WriteString(w, "variant "+r.Header.Get("X-Variant"))
	})
	if a := h.get("/a", "X-Variant", "a"); a.body != "variant a" {
		t.Fatalf("a: %q", a.body)
	}
	if a := h.get("/a", "X-Variant", "b"); a.body != "variant b" || strings.Contains(a.get("Cache-Status"), "hit") {
		t.Fatalf("b must not get a's answer: %q %q", a.body, a.get("Cache-Status"))
	}
	// Both variants are kept side by side.
	for _, v := range []string{"a", "b", "a", "b"} {
		if a := h.get("/a", "X-Variant", v); a.body != "variant "+v || !strings.Contains(a.get("Cache-Status"), "hit") {
			t.Fatalf("variant %s again: %q %q, want a hit on its own copy", v, a.body, a.get("Cache-Status"))
		}
	}
	if a := h.get("/a"); a.body != "variant " || strings.Contains(a.get("Cache-Status"), "hit") {
		t.Fatalf("no X-Variant: %q %q, want its own answer", a.body, a.get("Cache-Status"))
	}
	h.do(http.MethodPost, "/a", "")
	for _, v := range []string{"a", "b"} {
		if a := h.get("/a", "X-Variant", v); strings.Contains(a.get("Cache-Status"), "hit") {
			t.Fatalf("variant %s after a POST: %q, want every variant invalidated", v, a.get("Cache-Status"))
		}
	}
	// Normalised values: list spacing does not matter.
	h2 := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "X-List")
		io.WriteString(w, "v")
	})
	h2.get("/a", "X-List", "x,y")
	wantStatus(t, "normalised Vary value", h2.get("/a", "X-List", "x , y"), 200, "hit")
}

func TestVaryStarNeverMatches(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "*")
		io.WriteString(w, "v")
	})
	h.get("/a")
	h.get("/a")
	if h.o.count() != 2 {
		t.Fatalf("Vary: * reused: origin requests %d, want 2", h.o.count())
	}
}

func TestStatusesCacheableByDefault(t *testing.T) {
	for _, tt := range []struct {
		status int
		cc     string
		stored bool
	}{
		{404, "max-age=30", true},
		{410, "", true}, // upstream.ttl.negative
		{301, "max-age=30", true},
		{405, "max-age=30", true},
		{501, "max-age=30", true},
		{302, "", false},
		{500, "", false},
		{503, "", false},
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if tt.cc != "" {
					w.Header().Set("Cache-Control", tt.cc)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, "origin says "+fmt.Sprint(tt.status))
			})
			a := h.get("/a")
			if a.status != tt.status || a.body != "origin says "+fmt.Sprint(tt.status) {
				t.Fatalf("passed through as %d %q", a.status, a.body)
			}
			h.clk.Advance(time.Second)
			if b := h.get("/a"); strings.Contains(b.get("Cache-Status"), "hit") != tt.stored {
				t.Fatalf("second: %q, want stored=%v", b.get("Cache-Status"), tt.stored)
			}
		})
	}
}

func TestStaleIfError(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n > 1 {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Cache-Control", "max-age=1, stale-if-error=60")
		io.WriteString(w, "good")
	})
	h.get("/a")
	h.clk.Advance(10 * time.Second)
	if a := h.get("/a"); a.status != 200 || a.body != "good" || !strings.Contains(a.get("Cache-Status"), "stale") {
		t.Fatalf("within stale-if-error: %d %q %q", a.status, a.body, a.get("Cache-Status"))
	}
	h.clk.Advance(60 * time.Second)
	if a := h.get("/a"); a.status != 502 || !strings.Contains(a.body, "down") {
		t.Fatalf("past stale-if-error: %d %q, want the origin's 502", a.status, a.body)
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	revalidated := make(chan struct{}, 1)
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=30")
		fmt.Fprintf(w, "v%d", n)
		if n == 2 {
			revalidated <- struct{}{}
		}
	})
	h.get("/a")
	h.clk.Advance(5 * time.Second)
	if a := h.get("/a"); a.body != "v1" || !strings.Contains(a.get("Cache-Status"), "stale-while-revalidate") {
		t.Fatalf("within stale-while-revalidate: %q %q, want the stale copy at once", a.body, a.get("Cache-Status"))
	}
	<-revalidated
	for {
		// The background fill lands soon after the origin answered (and
		// until then each request may start another).
		if a := h.get("/a"); a.body != "v1" {
			break
		}
		runtimeYield()
	}
}

func TestCDNCacheControlAndTargetedHeader(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.URL.Path {
		case "/cdn":
			w.Header().Set("CDN-Cache-Control", "max-age=60")
		case "/targeted":
			w.Header().Set("CDN-Cache-Control", "no-store")
			w.Header().Set("Edgeswarm-Cache-Control", "max-age=60")
		}
		io.WriteString(w, "v")
	})
	h.get("/cdn")
	a := h.get("/cdn")
	wantStatus(t, "CDN-Cache-Control over Cache-Control", a, 200, "hit")
	if a.get("CDN-Cache-Control") != "max-age=60" || a.get("Cache-Control") != "no-store" {
		t.Fatalf("CDN-Cache-Control and Cache-Control are forwarded unchanged: %q %q", a.get("CDN-Cache-Control"), a.get("Cache-Control"))
	}
	h.get("/targeted")
	a = h.get("/targeted")
	wantStatus(t, "targeted header first", a, 200, "hit")
	if a.has("Edgeswarm-Cache-Control") {
		t.Fatal("the targeted header reached the viewer")
	}
}

func TestOriginHeadersPassThrough(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=5, must-revalidate")
		w.Header().Set("X-Custom", "kept")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "dropped")
		w.Header().Set("Keep-Alive", "timeout=5")
		io.WriteString(w, "v")
	})
	for _, a := range []answer{h.get("/a"), h.get("/a")} {
		if a.get("Cache-Control") != "max-age=5, must-revalidate" || a.get("X-Custom") != "kept" || a.has("X-Hop") || a.has("Keep-Alive") {
			t.Fatalf("headers: %+v", a.header)
		}
	}
}

func TestUnsafeMethodsPassAndInvalidate(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.Method {
		case http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Location", h2url(r, "/other"))
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, "got %s", b)
		default:
			w.Header().Set("Cache-Control", "max-age=600")
			fmt.Fprintf(w, "v%d", n)
		}
	})
	h.get("/a")
	h.get("/other")
	wantStatus(t, "cached", h.get("/a"), 200, "hit")
	a := h.do(http.MethodPost, "/a", "form=1")
	if a.status != 201 || a.body != "got form=1" || h.o.last().Method != http.MethodPost {
		t.Fatalf("POST: %d %q via %s", a.status, a.body, h.o.last().Method)
	}
	wantStatus(t, "target URI invalidated", h.get("/a"), 200, "fwd=miss")
	wantStatus(t, "Location on the same origin invalidated", h.get("/other"), 200, "fwd=miss")
	if a := h.do(http.MethodDelete, "/a", ""); a.status != 200 {
		t.Fatalf("DELETE: %d", a.status)
	}
	wantStatus(t, "invalidated by DELETE", h.get("/a"), 200, "fwd=miss")
}

// h2url is the origin's own absolute URL for path.
func h2url(r *http.Request, path string) string { return "http://" + r.Host + path }

func TestAuthorizationNotSharedUnlessAllowed(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/public" {
			w.Header().Set("Cache-Control", "public, max-age=60")
		} else {
			w.Header().Set("Cache-Control", "max-age=60")
		}
		io.WriteString(w, "for "+r.Header.Get("Authorization"))
	})
	h.get("/a", "Authorization", "Bearer alice")
	if a := h.get("/a"); a.body == "for Bearer alice" {
		t.Fatal("alice's answer was served to another viewer")
	}
	h.get("/public", "Authorization", "Bearer alice")
	wantStatus(t, "public answer to an authorized request", h.get("/public"), 200, "hit")
}

func TestPrivateAndSetCookieNeverShared(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/private" {
			w.Header().Set("Cache-Control", "private, max-age=60")
		} else {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Set-Cookie", fmt.Sprintf("id=%d", n))
		}
		fmt.Fprintf(w, "viewer %d", n)
	})
	for _, p := range []string{"/private", "/cookie"} {
		first := h.get(p)
		second := h.get(p)
		if first.body == second.body || second.get("Set-Cookie") == first.get("Set-Cookie") && first.has("Set-Cookie") {
			t.Fatalf("%s shared: %q / %q", p, first.body, second.body)
		}
	}
}

func TestNoStorePassesThroughWithDigest(t *testing.T) {
	const body = "no-store segment bytes"
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "video/mp2t")
		io.WriteString(w, body)
	})
	if a := h.get("/s/1.ts"); a.body != body {
		t.Fatalf("passed through: %q", a.body)
	}
	h.get("/s/1.ts")
	if h.o.count() != 2 {
		t.Fatalf("origin requests %d, want 2 (nothing kept)", h.o.count())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.fills) == 0 || h.fills[0].Stored || h.fills[0].SHA256 != sha256.Sum256([]byte(body)) || h.fills[0].Key != "/s/1.ts" {
		t.Fatalf("fills %+v, want the segment's digest, not stored", h.fills)
	}
}

func TestQueryInCacheKey(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "for "+r.URL.RawQuery)
	})
	h.get("/p.m3u8?token=a")
	if a := h.get("/p.m3u8?token=b"); a.body != "for token=b" {
		t.Fatalf("personalised playlist served to another token: %q", a.body)
	}
	d := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "seg")
	}, func(c *origin.Config) { c.Routes[0].CacheKey.DropQuery = []string{"token"} })
	d.get("/1.ts?token=a")
	wantStatus(t, "a dropped parameter", d.get("/1.ts?token=b"), 200, "hit")
}

const livePlaylist = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:6,\n1.ts\n#EXTINF:6,\n2.ts\n"

func TestMediaTTLsBoundTheOrigin(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, livePlaylist)
	})
	h.get("/live.m3u8")
	h.clk.Advance(2 * time.Second)
	wantStatus(t, "within half the target", h.get("/live.m3u8"), 200, "hit")
	h.clk.Advance(2 * time.Second)
	wantStatus(t, "past half the target, within max-age", h.get("/live.m3u8"), 200, "fwd=miss")

	o := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(w, livePlaylist)
	}, func(c *origin.Config) { c.Routes[0].TTL.Override = true })
	o.get("/live.m3u8")
	o.clk.Advance(2 * time.Second)
	wantStatus(t, "ttl.override", o.get("/live.m3u8"), 200, "hit")
}

// runtimeYield lets other goroutines run while a test waits for an event
// it cannot be told about (a counter reaching a value).
func runtimeYield() { runtime.Gosched() }

func TestQualifiedPrivateAndNoCacheDropTheirFields(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", `max-age=60, private="X-User", no-cache="Set-Cookie"`)
		w.Header().Set("X-User", fmt.Sprintf("viewer %d", n))
		w.Header().Set("Set-Cookie", fmt.Sprintf("id=%d", n))
		w.Header().Set("X-Shared", "kept")
		io.WriteString(w, "shared body")
	})
	for i, what := range []string{"the fill", "a hit"} {
		a := h.get("/a")
		if i == 1 {
			wantStatus(t, what, a, 200, "hit")
		}
		if a.body != "shared body" || a.get("X-Shared") != "kept" || a.has("X-User") || a.has("Set-Cookie") {
			t.Fatalf("%s: body %q, X-Shared %q, X-User %q, Set-Cookie %q: want the body and X-Shared without the named fields",
				what, a.body, a.get("X-Shared"), a.get("X-User"), a.get("Set-Cookie"))
		}
	}
	if h.o.count() != 1 {
		t.Fatalf("origin requests %d, want 1: the rest of the answer is stored", h.o.count())
	}
}

func TestApparentAgeFromDate(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// An origin (or a cache before it) that dated its answer 30 s ago
		// and sent no Age.
		w.Header().Set("Date", time.Now().Add(-30*time.Second).UTC().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "v")
	})
	if a := h.get("/a"); a.get("Age") != "29" && a.get("Age") != "30" {
		t.Fatalf("Age on the fill = %q, want the apparent age of about 30", a.get("Age"))
	}
	h.clk.Advance(25 * time.Second)
	wantStatus(t, "fresh within max-age minus the apparent age", h.get("/a"), 200, "hit")
	h.clk.Advance(10 * time.Second)
	wantStatus(t, "past max-age counting the apparent age", h.get("/a"), 200, "fwd=miss")
}

func TestViewerCacheControlDoesNotReachTheOrigin(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "v")
	})
	h.get("/s/1.ts")
	for _, kv := range [][]string{
		{"Cache-Control", "no-cache"},
		{"Cache-Control", "max-age=0"},
		{"Cache-Control", "no-store"},
		{"Pragma", "no-cache"},
	} {
		wantStatus(t, kv[0]+": "+kv[1], h.get("/s/1.ts", kv...), 200, "hit")
	}
	if h.o.count() != 1 {
		t.Fatalf("origin requests %d, want 1: a viewer's request directives do not force a fetch", h.o.count())
	}
}
