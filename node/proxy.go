package node

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/client"
	"github.com/edgeswarm/edgeswarm/wire"
)

// request is the transport-neutral form of a viewer request. The fronts
// (fasthttp for HTTP/1.1, quic-go for HTTP/3) fill it; the proxy logic
// below exists once.
type request struct {
	method   string
	path     string // decoded and normalised by the front
	rawQuery string
	host     string
	proto    proto

	rangeHdr        string
	ifRange         string
	ifNoneMatch     string
	ifModifiedSince string
	acceptEncoding  string
	origin          string
	acrHeaders      string // Access-Control-Request-Headers (preflight)

	// The front's own request, for the end-to-end headers sent to the
	// origin on a miss (collected only then: hits do not pay for it).
	h1 *fasthttp.RequestHeader
	h3 *http.Request
}

var _ cache.HeaderSource = (*request)(nil)

// ForwardHeaders returns the viewer's end-to-end headers, plus Host (never
// sent upstream; the origin side reads it for keys when keep_host is on).
func (r *request) ForwardHeaders() []cache.Header {
	out := []cache.Header{{Name: "Host", Value: r.host}}
	switch {
	case r.h1 != nil:
		conn := b2s(r.h1.Peek("Connection"))
		for k, v := range r.h1.All() {
			if name := b2s(k); forwardable(name, conn) {
				out = append(out, cache.Header{Name: name, Value: b2s(v)})
			}
		}
	case r.h3 != nil:
		conn := r.h3.Header.Get("Connection")
		for name, vs := range r.h3.Header {
			if forwardable(name, conn) {
				for _, v := range vs {
					out = append(out, cache.Header{Name: name, Value: v})
				}
			}
		}
	}
	return out
}

type proto uint8

const (
	protoH1 proto = iota
	protoH3
	numProtos
)

func (p proto) String() string {
	if p == protoH3 {
		return "h3"
	}
	return "h1"
}

// response is the transport-neutral answer. Exactly one of body and stream
// is used; body is shared and immutable (fronts send it without copying).
type response struct {
	status  int
	header  []cache.Header
	body    []byte
	stream  io.Reader
	length  int64 // Content-Length; -1 for unknown (chunked)
	noBody  bool  // HEAD: headers (with length) only
	entry   *cache.Entry
	lookupR cache.Result
	// memo, when set, is the prepared answer this response replays; the
	// fronts may keep their own form of it there (see hitMemo).
	memo *hitMemo
}

// hitMemo is a prepared answer to the common request: a plain GET or HEAD
// hit on a complete 200 object. Headers change only once a second (Age,
// max-age), so each entry keeps one per variant and second, and a hit
// replays it instead of building its headers again.
type hitMemo struct {
	sec    int64
	header []cache.Header // read-only
	body   []byte
	// h1 is the HTTP/1.1 front's form of header, built on first use.
	h1 atomic.Pointer[fasthttp.ResponseHeader]
}

// memoSet is what an entry's Aux slot holds: one memo per variant.
type memoSet struct {
	plain, gzip atomic.Pointer[hitMemo]
}

func (m *memoSet) slot(gz bool) *atomic.Pointer[hitMemo] {
	if gz {
		return &m.gzip
	}
	return &m.plain
}

// memoable reports whether req is the plain request a memo can answer:
// nothing in it changes the answer but the wish for gzip.
func (n *Node) memoable(req *request) bool {
	return req.rangeHdr == "" && req.ifNoneMatch == "" && req.ifModifiedSince == "" && (n.corsAny || req.origin == "")
}

func memoSetOf(e *cache.Entry) *memoSet {
	aux := e.Aux()
	if m, ok := aux.Load().(*memoSet); ok {
		return m
	}
	aux.CompareAndSwap(nil, &memoSet{})
	return aux.Load().(*memoSet)
}

func (r *response) add(name, value string) {
	r.header = append(r.header, cache.Header{Name: name, Value: value})
}

// hopByHop are the headers that never cross a proxy (RFC 9110 7.6.1), plus
// those the node handles itself and must not forward.
var notForwarded = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "proxy-authenticate": true,
	"proxy-authorization": true, "te": true, "trailer": true, "transfer-encoding": true,
	"upgrade": true, "host": true, "range": true, "if-range": true, "if-none-match": true,
	"if-modified-since": true, "if-match": true, "if-unmodified-since": true,
	"accept-encoding": true, "content-length": true,
}

// forwardable reports whether a request header goes to the origin; named
// lists the tokens of the request's Connection header.
func forwardable(name string, connection string) bool {
	l := strings.ToLower(name)
	if notForwarded[l] {
		return false
	}
	if connection != "" {
		for tok := range strings.SplitSeq(connection, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), l) {
				return false
			}
		}
	}
	return true
}

// exposeHeaders are the response headers the browser script reads.
const exposeHeaders = "Age, Cache-Status, Content-Length, Content-Range, ETag, Edgeswarm-Swarm, Edgeswarm-Ticket"

// exchange is one request's working state, pooled: a hit allocates
// nothing of its own.
type exchange struct {
	req  request
	creq cache.Request
	resp response
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// release returns x to the pool once its front has sent the response.
// Nothing it holds outlives that: the cache copies the request it keeps,
// a memo owns its header slice, and a streamed body has its own reader.
func (x *exchange) release() {
	*x = exchange{}
	exchanges.Put(x)
}

// serve answers one viewer request.
func (n *Node) serve(ctx context.Context, x *exchange) *response {
	req, resp := &x.req, &x.resp
	resp.length = -1
	switch req.method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		return n.preflight(req, n.begin(req, resp))
	default:
		n.begin(req, resp).add("Allow", "GET, HEAD, OPTIONS")
		return plain(resp, http.StatusMethodNotAllowed, "method not allowed\n")
	}
	if a, ok := n.assets[req.path]; ok {
		return serveAsset(req, n.begin(req, resp), a)
	}
	if !n.origin.Route(req.path) {
		return plain(n.begin(req, resp), http.StatusNotFound, "not found: no origin serves this path\n")
	}
	key := n.origin.Keyer().Key(req.host, req.path, req.rawQuery)
	creq := &x.creq
	*creq = cache.Request{Key: key, Path: req.path, RawQuery: req.rawQuery, Forward: req}
	e, lk, err := n.cache.Get(ctx, creq)
	n.metrics.cacheReq[lk.Result].Inc()
	if err != nil {
		return n.fillError(n.begin(req, resp), err)
	}
	resp.entry, resp.lookupR = e, lk.Result
	memo := lk.Result == cache.Hit && n.memoable(req)
	var slot *atomic.Pointer[hitMemo]
	sec := n.now().Unix()
	if memo {
		slot = memoSetOf(e).slot(e.Kind().IsPlaylist() && acceptsGzip(req.acceptEncoding))
		if m := slot.Load(); m != nil && m.sec == sec {
			resp.header, resp.status, resp.memo = m.header, http.StatusOK, m
			return withBody(req, resp, m.body)
		}
	}
	n.begin(req, resp)
	resp.add("Cache-Status", cacheStatus(lk))
	resp = n.fromEntry(ctx, req, resp, e)
	if memo && resp.status == http.StatusOK && resp.stream == nil {
		m := &hitMemo{sec: sec, header: slices.Clip(resp.header), body: resp.body}
		slot.Store(m)
		resp.memo = m
	}
	return resp
}

// serveAsset answers with one of the node's own files (the browser script,
// its types, the demo page).
func serveAsset(req *request, resp *response, a client.Asset) *response {
	body, etag := a.Body, a.ETag
	gz := len(a.Body) > 1024 && a.Gzip != nil && acceptsGzip(req.acceptEncoding)
	if gz {
		// Each representation has its own strong tag.
		body, etag = a.Gzip, strings.TrimSuffix(a.ETag, `"`)+`-gz"`
	}
	resp.status = http.StatusOK
	resp.add("Content-Type", a.ContentType)
	resp.add("Cache-Control", a.CacheControl)
	resp.add("ETag", etag)
	resp.add("Vary", "Accept-Encoding")
	if notModified(req, etag, "") {
		resp.status = http.StatusNotModified
		return resp
	}
	if gz {
		resp.add("Content-Encoding", "gzip")
	}
	return withBody(req, resp, body)
}

func cacheStatus(lk cache.Lookup) string {
	switch {
	case lk.Result == cache.Hit:
		return "edgeswarm; hit"
	case lk.Result == cache.Stale:
		return "edgeswarm; hit; detail=stale"
	case lk.Collapsed && lk.Stored:
		return "edgeswarm; fwd=miss; stored; collapsed"
	case lk.Collapsed:
		return "edgeswarm; fwd=miss; collapsed"
	case lk.Stored:
		return "edgeswarm; fwd=miss; stored"
	default:
		return "edgeswarm; fwd=miss"
	}
}

func (n *Node) fillError(resp *response, err error) *response {
	var se *cache.OriginStatusError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		resp.add("Cache-Status", "edgeswarm; fwd=miss; detail=origin-timeout")
		return plain(resp, http.StatusGatewayTimeout, "origin timed out\n")
	case errors.As(err, &se):
		resp.add("Cache-Status", "edgeswarm; fwd=miss; detail=origin-error")
		return plain(resp, http.StatusBadGateway, "origin failed: answered "+strconv.Itoa(se.Status)+"\n")
	case errors.Is(err, context.Canceled):
		return plain(resp, 499, "client went away\n")
	default:
		n.logLimited("origin fetch failed", "err", err)
		resp.add("Cache-Status", "edgeswarm; fwd=miss; detail=origin-unreachable")
		return plain(resp, http.StatusBadGateway, "origin unreachable\n")
	}
}

// fromEntry builds the response for a cached (or filling) object.
func (n *Node) fromEntry(ctx context.Context, req *request, resp *response, e *cache.Entry) *response {
	now := n.now()
	resp.status = e.Status()
	etag := e.HeaderValue("ETag")
	for _, h := range e.Header() {
		switch {
		case strings.EqualFold(h.Name, "Cache-Control") && e.TTL() > 0:
			// Replaced below by what is left of the node's freshness.
		default:
			resp.header = append(resp.header, h)
		}
	}
	if e.TTL() > 0 {
		left := max(e.Expires().Sub(now), 0)
		resp.add("Cache-Control", "public, max-age="+strconv.Itoa(int(left/time.Second)))
	}
	resp.add("Age", strconv.Itoa(int(max(now.Sub(e.Stored()), 0)/time.Second)))
	if k := e.Kind(); resp.status == http.StatusOK && (k == cache.KindLivePlaylist || k == cache.KindVODPlaylist) {
		// A media playlist is a swarm: tell the browser script its key and,
		// when swarms need authorization, hand it a ticket to join.
		resp.add(wire.SwarmHeader, e.Key())
		if t := n.hub.IssueTicket(e.Key()); t != "" {
			resp.add(wire.TicketHeader, t)
		}
	}

	body, complete := e.Complete()
	if !complete {
		// Still filling: stream what has arrived and the rest as it comes.
		// Range and conditionals are answered on complete objects; wait for
		// the fill for those (rare for in-flight objects), and for
		// playlists: small, useless to a player until whole, and gzipped
		// when complete (a viewer that came mid-fill got them plain).
		if req.rangeHdr == "" && req.ifNoneMatch == "" && !e.Kind().IsPlaylist() {
			resp.length = e.Size()
			if resp.status == http.StatusOK {
				resp.add("Accept-Ranges", "bytes") // a Range request waits for the fill
			}
			if req.method == http.MethodHead {
				resp.noBody = true
				return resp
			}
			resp.stream = e.NewReader(ctx)
			return resp
		}
		var err error
		if body, err = e.Wait(ctx); err != nil {
			return plain(resp, http.StatusBadGateway, "origin fill failed\n")
		}
	}
	if etag == "" {
		if etag = e.ETag(); etag != "" {
			resp.add("ETag", etag)
		}
	}
	if resp.status != http.StatusOK {
		return withBody(req, resp, body)
	}
	if notModified(req, etag, e.HeaderValue("Last-Modified")) {
		resp.status = http.StatusNotModified
		resp.header = dropHeaders(resp.header, "Content-Length", "Content-Encoding")
		return resp
	}
	resp.add("Accept-Ranges", "bytes")
	if req.rangeHdr != "" && (req.ifRange == "" || req.ifRange == etag) {
		r, ok, err := parseRange(req.rangeHdr, int64(len(body)))
		switch {
		case err != nil:
			resp.add("Content-Range", "bytes */"+strconv.Itoa(len(body)))
			return plain(resp, http.StatusRequestedRangeNotSatisfiable, "range not satisfiable\n")
		case ok:
			resp.status = http.StatusPartialContent
			resp.add("Content-Range", "bytes "+strconv.FormatInt(r.start, 10)+"-"+strconv.FormatInt(r.end-1, 10)+"/"+strconv.Itoa(len(body)))
			return withBody(req, resp, body[r.start:r.end])
		}
	}
	if e.Kind().IsPlaylist() {
		resp.add("Vary", "Accept-Encoding")
		if len(body) > 512 && acceptsGzip(req.acceptEncoding) {
			resp.add("Content-Encoding", "gzip")
			return withBody(req, resp, e.Gzip())
		}
	}
	return withBody(req, resp, body)
}

func withBody(req *request, resp *response, body []byte) *response {
	resp.body = body
	resp.length = int64(len(body))
	resp.noBody = req.method == http.MethodHead
	return resp
}

func plain(resp *response, status int, msg string) *response {
	resp.status = status
	resp.add("Content-Type", "text/plain; charset=utf-8")
	resp.add("Cache-Control", "no-store")
	resp.body = []byte(msg)
	resp.length = int64(len(msg))
	return resp
}

func dropHeaders(hs []cache.Header, names ...string) []cache.Header {
	out := hs[:0]
	for _, h := range hs {
		drop := false
		for _, n := range names {
			if strings.EqualFold(h.Name, n) {
				drop = true
			}
		}
		if !drop {
			out = append(out, h)
		}
	}
	return out
}

// notModified evaluates If-None-Match, then If-Modified-Since (RFC 9110 13.2.2).
func notModified(req *request, etag, lastModified string) bool {
	if req.ifNoneMatch != "" {
		if etag == "" {
			return false
		}
		for tok := range strings.SplitSeq(req.ifNoneMatch, ",") {
			tok = strings.TrimPrefix(strings.TrimSpace(tok), "W/")
			if tok == "*" || tok == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
		return false
	}
	if req.ifModifiedSince != "" && lastModified != "" {
		ims, err1 := http.ParseTime(req.ifModifiedSince)
		lm, err2 := http.ParseTime(lastModified)
		return err1 == nil && err2 == nil && !lm.After(ims)
	}
	return false
}

func acceptsGzip(ae string) bool {
	for tok := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(tok), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// begin starts the headers every answer but a replayed memo carries:
// CORS and, with HTTP/3 on, Alt-Svc.
func (n *Node) begin(req *request, resp *response) *response {
	resp.header = make([]cache.Header, 0, 16)
	n.cors(req, resp)
	if n.alt != "" && req.method != http.MethodOptions {
		resp.add("Alt-Svc", n.alt)
	}
	return resp
}

// cors adds the CORS response headers for the request's Origin.
func (n *Node) cors(req *request, resp *response) {
	if n.corsAny {
		resp.add("Access-Control-Allow-Origin", "*")
	} else if req.origin != "" && n.corsAllowed[req.origin] {
		resp.add("Access-Control-Allow-Origin", req.origin)
		resp.add("Vary", "Origin")
	} else {
		return
	}
	if req.method != http.MethodOptions {
		resp.add("Access-Control-Expose-Headers", exposeHeaders)
	}
}

func (n *Node) preflight(req *request, resp *response) *response {
	resp.status = http.StatusNoContent
	resp.length = 0
	resp.add("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	if req.acrHeaders != "" {
		resp.add("Access-Control-Allow-Headers", req.acrHeaders)
	}
	resp.add("Access-Control-Max-Age", strconv.Itoa(int(n.cfg.CORS.MaxAge/time.Second)))
	resp.add("Allow", "GET, HEAD, OPTIONS")
	return resp
}
