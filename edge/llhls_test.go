package edge_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/edge"
	"github.com/edgeswarm/edgeswarm/origin"
)

// packager is a scripted LL-HLS origin: a live playlist of 1 s segments in
// parts of partTarget, grown by publish, with the origin's own blocking
// reloads (it holds _HLS_msn/_HLS_part requests until the part exists).
type packager struct {
	mu         sync.Mutex
	grown      chan struct{} // closed and replaced on every publish
	msn, part  int           // the newest part: part `part` of segment msn
	partTarget string
	stop       chan struct{}
	blocked    chan struct{} // one token per blocking reload the origin holds
}

// newLL starts a packager and an edge in front of it.
func newLL(t *testing.T, partTarget string) (*packager, *harness) {
	p := &packager{grown: make(chan struct{}), msn: 3, part: 0, partTarget: partTarget,
		stop: make(chan struct{}), blocked: make(chan struct{}, 100)}
	h := newHarness(t, p.serve)
	t.Cleanup(func() { close(p.stop) }) // before the origin's Close, which waits for held requests
	return p, h
}

// publish adds the next part (three parts a segment).
func (p *packager) publish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.part++; p.part == 3 {
		p.msn, p.part = p.msn+1, 0
	}
	close(p.grown)
	p.grown = make(chan struct{})
}

func (p *packager) playlist() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0\n")
	fmt.Fprintf(&b, "#EXT-X-PART-INF:PART-TARGET=%s\n#EXT-X-MEDIA-SEQUENCE:0\n", p.partTarget)
	for m := 0; m < p.msn; m++ {
		fmt.Fprintf(&b, "#EXTINF:1,\n%d.ts\n", m)
	}
	for i := 0; i <= p.part; i++ {
		fmt.Fprintf(&b, "#EXT-X-PART:DURATION=0.33,URI=\"%d.%d.ts\"\n", p.msn, i)
	}
	fmt.Fprintf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%d.%d.ts\"\n", p.msn, p.part+1)
	return b.String()
}

// has reports whether part `part` of msn exists (part -1: the segment).
func (p *packager) hasLocked(msn, part int) bool {
	return msn < p.msn || msn == p.msn && part >= 0 && part <= p.part
}

func (p *packager) serve(w http.ResponseWriter, r *http.Request, _ int) {
	q := r.URL.Query()
	if m := q.Get("_HLS_msn"); m != "" {
		msn, _ := strconv.Atoi(m)
		part := -1
		if s := q.Get("_HLS_part"); s != "" {
			part, _ = strconv.Atoi(s)
		}
		for {
			p.mu.Lock()
			ok, grown := p.hasLocked(msn, part), p.grown
			p.mu.Unlock()
			if ok {
				break
			}
			select {
			case p.blocked <- struct{}{}:
			default:
			}
			select {
			case <-grown:
			case <-r.Context().Done():
				return
			case <-p.stop:
				http.Error(w, "stopped", http.StatusServiceUnavailable)
				return
			}
		}
	}
	p.mu.Lock()
	body := p.playlist()
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.Header().Set("Cache-Control", "max-age=1")
	_, _ = w.Write([]byte(body))
}

// waitHeld waits until n blocking reloads are held at the edge.
func waitHeld(t *testing.T, s *edge.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Held() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d blocking reloads held, want %d", s.Held(), n)
		}
		runtime.Gosched()
	}
}

// TestBlockingReloadOneOriginRequest: many viewers waiting for the same
// part make one origin request, however they order the directives, and
// are answered when the part appears, with a playlist that lists it.
func TestBlockingReloadOneOriginRequest(t *testing.T) {
	p, h := newLL(t, "0.33")
	wantStatus(t, "plain playlist", h.get("/ll/low.m3u8"), 200, "fwd=miss")
	const viewers = 40
	answers := make(chan answer, viewers)
	for i := range viewers {
		target := "/ll/low.m3u8?_HLS_msn=3&_HLS_part=2&v=1"
		if i%2 == 1 {
			target = "/ll/low.m3u8?_HLS_part=2&v=1&_HLS_msn=3"
		}
		go func() { answers <- h.get(target) }()
	}
	waitHeld(t, h.s, viewers)
	<-p.blocked // the origin holds the one request
	select {
	case a := <-answers:
		t.Fatalf("answered before the part exists: %d %q", a.status, a.body)
	default:
	}
	if n := h.o.count(); n != 2 {
		t.Fatalf("origin saw %d requests while the viewers wait, want 2 (the plain playlist, one blocking reload)", n)
	}
	p.publish() // 3.1: not yet
	p.publish() // 3.2
	for range viewers {
		a := <-answers
		wantStatus(t, "blocking reload", a, 200, "")
		if !strings.Contains(a.body, `URI="3.2.ts"`) {
			t.Fatalf("the answer does not list the part it waited for:\n%s", a.body)
		}
		if sw := a.get("Edgeswarm-Swarm"); sw != "/ll/low.m3u8" {
			t.Fatalf("a blocking reload's swarm is %q, want the playlist's, /ll/low.m3u8", sw)
		}
	}
	if n := h.o.count(); n != 2 {
		t.Fatalf("origin saw %d requests, want 2", n)
	}
	if q := h.o.last().URL.RawQuery; q != "v=1&_HLS_msn=3&_HLS_part=2" {
		t.Fatalf("origin got query %q, want the directives in one order", q)
	}
	// A late viewer of that part is answered from the cache.
	wantStatus(t, "late viewer", h.get("/ll/low.m3u8?v=1&_HLS_part=2&_HLS_msn=3"), 200, "hit")
	if n := h.o.count(); n != 2 {
		t.Fatalf("origin saw %d requests after a late viewer, want 2", n)
	}
}

// TestBlockingReloadHoldBound: a part that does not appear within three
// part targets gets a 503 for the viewer; the parameters the spec forbids
// get a 400 without an origin request.
func TestBlockingReloadHoldBound(t *testing.T) {
	_, h := newLL(t, "0.1")
	wantStatus(t, "plain playlist", h.get("/ll/low.m3u8"), 200, "fwd=miss")
	a := h.get("/ll/low.m3u8?_HLS_msn=9&_HLS_part=0")
	wantStatus(t, "part that never comes", a, http.StatusServiceUnavailable, "detail=hold-expired")
	if a.get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	before := h.o.count()
	for _, q := range []string{"_HLS_part=1", "_HLS_msn=x", "_HLS_msn=1&_HLS_msn=2", "_HLS_msn=1&_HLS_skip=NO", "_HLS_msn=-1"} {
		wantStatus(t, q, h.get("/ll/low.m3u8?"+q), http.StatusBadRequest, "")
	}
	if n := h.o.count(); n != before {
		t.Fatalf("bad directives made %d origin requests", n-before)
	}
}

// TestBlockingReloadMaxHeld: past MaxBlocking held viewers, a new one gets
// the current playlist at once instead of waiting.
func TestBlockingReloadMaxHeld(t *testing.T) {
	p, h := newLL(t, "0.33")
	ocfg := origin.DefaultConfig()
	ocfg.Routes = []origin.Route{{Prefix: "/", URL: h.o.srv.URL}}
	router, err := origin.NewClient(ocfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.s = edge.New(edge.Config{MaxBlocking: 1, BlockingHold: time.Minute}, h.c, router, noTickets{}, edge.Options{Clock: h.clk.Now})
	wantStatus(t, "plain playlist", h.get("/ll/low.m3u8"), 200, "fwd=miss")
	held := make(chan answer, 1)
	go func() { held <- h.get("/ll/low.m3u8?_HLS_msn=4") }()
	waitHeld(t, h.s, 1)
	a := h.get("/ll/low.m3u8?_HLS_msn=4&_HLS_part=1")
	wantStatus(t, "over the bound", a, 200, "hit")
	if strings.Contains(a.body, "#EXTINF:1,\n3.ts") {
		t.Fatal("the viewer over the bound got a playlist that was not the current one")
	}
	for range 6 {
		p.publish()
	}
	if a := <-held; a.status != 200 || !strings.Contains(a.body, "3.ts\n") {
		t.Fatalf("held viewer: %d %q", a.status, a.body)
	}
	if h.s.Held() != 0 {
		t.Fatalf("%d still held", h.s.Held())
	}
}
