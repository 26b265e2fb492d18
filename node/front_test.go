package node

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeswarm/edgeswarm/edge"
)

// reusedWriter is a ResponseWriter that keeps its header map and the
// capacity of its values from one answer to the next, so that counting
// allocations counts the front's, not the writer's.
type reusedWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *reusedWriter) Header() http.Header { return w.h }

func (w *reusedWriter) WriteHeader(code int) { w.status = code }

func (w *reusedWriter) Write(p []byte) (int, error) { return w.body.Write(p) }

func (w *reusedWriter) reset() {
	for k, v := range w.h {
		w.h[k] = v[:0]
	}
	w.status = 0
	w.body.Reset()
}

// The HTTP/2 and HTTP/3 front adds no allocation of its own to the edge's
// net/http handler on a cache hit (the edge times the answer to its header,
// where a wrapping ResponseWriter cost one per request), and every answer
// is still timed.
func TestNetHTTPFrontAddsNoAllocation(t *testing.T) {
	seg := segmentBytes(64 << 10)
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(seg)
	})
	n := startNode(t, testConfig(origin.URL), nil)
	if resp, body := httpGet(t, "http://"+n.Addr()+"/vod/low/1.ts"); resp.StatusCode != http.StatusOK || !bytes.Equal(body, seg) {
		t.Fatalf("warming GET: %s, %d bytes", resp.Status, len(body))
	}
	front := n.netHTTPFront(protoH2)
	plain := edge.HTTPHandler(n.edge, maxRequestBody, n.observeFunc(protoH2))
	req := httptest.NewRequest(http.MethodGet, "/vod/low/1.ts", nil)
	w := &reusedWriter{h: http.Header{}}
	serve := func(h http.Handler) func() {
		return func() {
			w.reset()
			h.ServeHTTP(w, req)
		}
	}
	serve(front)()
	if w.status != http.StatusOK || !bytes.Equal(w.body.Bytes(), seg) || w.h.Get("Cache-Status") != "edgeswarm; hit" {
		t.Fatalf("front answered %d, %d bytes, Cache-Status %q; want 200, the segment, a hit", w.status, w.body.Len(), w.h.Get("Cache-Status"))
	}
	answered := responsesTimed(t, n)
	base := testing.AllocsPerRun(200, serve(plain))
	got := testing.AllocsPerRun(200, serve(front))
	if got > base {
		t.Errorf("the front allocates %.1f times per hit, the edge's handler alone %.1f: the front adds %.1f", got, base, got-base)
	}
	if after := responsesTimed(t, n); after < answered+201 {
		t.Errorf("answers timed: %d before the runs, %d after; every one of the front's 201 answers should have been timed", answered, after)
	}
	if origin.count("/vod/low/1.ts") != 1 {
		t.Errorf("origin asked %d times, want 1 (every run a hit)", origin.count("/vod/low/1.ts"))
	}
}

// responsesTimed reads the node's count of answers timed to their header
// (edgeswarm_http_response_seconds) from its metrics.
func responsesTimed(tb testing.TB, n *Node) int {
	tb.Helper()
	_, body := httpGet(tb, "http://"+n.AdminAddr()+"/metrics")
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "edgeswarm_http_response_seconds_count "); ok {
			c, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				tb.Fatalf("metrics line %q: %v", line, err)
			}
			return c
		}
	}
	tb.Fatal("no edgeswarm_http_response_seconds_count in the metrics")
	return 0
}

// BenchmarkNetHTTPFrontHit serves a cached segment through the HTTP/2 and
// HTTP/3 front and through the edge's net/http handler alone, side by
// side: what the front adds per request.
func BenchmarkNetHTTPFrontHit(b *testing.B) {
	seg := segmentBytes(64 << 10)
	origin := newCountingOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(seg)
	})
	n := startNode(b, testConfig(origin.URL), nil)
	httpGet(b, "http://"+n.Addr()+"/vod/low/1.ts")
	for _, h := range []struct {
		name string
		h    http.Handler
	}{
		{"edge", edge.HTTPHandler(n.edge, maxRequestBody, n.observeFunc(protoH2))},
		{"front", n.netHTTPFront(protoH2)},
	} {
		b.Run(h.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/vod/low/1.ts", nil)
			w := &reusedWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.h.ServeHTTP(w, req)
			}
			if w.status != http.StatusOK {
				b.Fatalf("answered %d", w.status)
			}
		})
	}
}
