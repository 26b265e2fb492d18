package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/client"
	"github.com/edgeswarm/edgeswarm/wire"
)

// Router says which paths the origins serve and what they are keyed by.
type Router interface {
	// Route reports whether a raw request path is served by an origin.
	Route(path string) bool
	// Key returns the content key of a request: its P2P identity.
	Key(host, path, rawQuery string) string
	// CacheKey returns the HTTP cache key of a request: what may be
	// served to whom.
	CacheKey(host, path, rawQuery string) string
}

// Tickets issues swarm tickets ("" when swarms are open).
type Tickets interface {
	IssueTicket(swarm string) string
}

// Config is what the edge answers with beyond the cache's objects.
type Config struct {
	// CORSAllowOrigins are the page origins allowed to read responses;
	// "*" allows all.
	CORSAllowOrigins []string
	// CORSMaxAge is how long a browser may keep a preflight's answer.
	CORSMaxAge time.Duration
	// AltSvc, when set, is sent on every answer but preflights (HTTP/3).
	AltSvc string
	// TargetedHeader is the origin's cache header for this node alone
	// (RFC 9213), never forwarded to viewers.
	TargetedHeader string
	// BlockingHold bounds how long an LL-HLS blocking reload is held when
	// the playlist's part target is not known yet (three part targets
	// when it is); 0 means 3 s.
	BlockingHold time.Duration
	// MaxBlocking bounds how many blocking reloads are held at once; past
	// it a viewer gets the current playlist at once. 0 means 10000.
	MaxBlocking int
}

// Options are the parts the edge serves with.
type Options struct {
	Log *slog.Logger
	// Clock must be the cache's clock: a lookup hands the cache the time
	// the edge read.
	Clock func() time.Time
	// Assets are the node's own files, by path.
	Assets map[string]client.Asset
	// OnLookup, when set, is called once per cache lookup with its result.
	OnLookup func(cache.Result)
	// Pass sends unsafe methods (POST, PUT, PATCH, DELETE) to the origin,
	// past the cache. Nil: they are refused with 405.
	Pass cache.Fetcher
}

// Server answers viewer requests from the cache. It is safe for
// concurrent use.
type Server struct {
	cfg         Config
	log         *slog.Logger
	now         func() time.Time
	cache       *cache.Cache
	origin      Router
	hub         Tickets
	assets      map[string]client.Asset
	onLookup    func(cache.Result)
	pass        cache.Fetcher
	corsAny     bool
	corsAllowed map[string]bool
	alt         string
	lastLog     atomic.Int64
	held        atomic.Int64 // LL-HLS blocking reloads waiting (llhls.go)
}

// New returns a server over c, routed by r, handing out tickets from t.
func New(cfg Config, c *cache.Cache, r Router, t Tickets, opt Options) *Server {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.OnLookup == nil {
		opt.OnLookup = func(cache.Result) {}
	}
	s := &Server{
		cfg: cfg, log: opt.Log, now: opt.Clock, cache: c, origin: r, hub: t,
		assets: opt.Assets, onLookup: opt.OnLookup, pass: opt.Pass, corsAllowed: map[string]bool{}, alt: cfg.AltSvc,
	}
	for _, o := range cfg.CORSAllowOrigins {
		if o == "*" {
			s.corsAny = true
		}
		s.corsAllowed[o] = true
	}
	return s
}

// memoable reports whether req is the plain request a memo can answer:
// nothing in it changes the answer but the wish for gzip.
func (s *Server) memoable(req *Request) bool {
	return req.Range == "" && req.IfNoneMatch == "" && req.IfModifiedSince == "" && (s.corsAny || req.Origin == "")
}

// logLimited logs at most one message per second: it is used on
// per-request paths, where a failing origin would otherwise flood the log.
func (s *Server) logLimited(msg string, args ...any) {
	now := s.now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(msg, args...)
}

// Serve answers one viewer request.
func (s *Server) Serve(ctx context.Context, x *Exchange) *Response {
	req, resp := &x.Req, &x.resp
	resp.Length = -1
	switch req.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		return s.preflight(req, s.begin(req, resp))
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if s.pass != nil && s.origin.Route(req.Path) {
			return s.unsafe(ctx, req, s.begin(req, resp))
		}
		fallthrough
	default:
		s.begin(req, resp).add("Allow", s.allow())
		return plain(resp, http.StatusMethodNotAllowed, "method not allowed\n")
	}
	if a, ok := s.assets[req.Path]; ok {
		return serveAsset(req, s.begin(req, resp), a)
	}
	if !s.origin.Route(req.Path) {
		return plain(s.begin(req, resp), http.StatusNotFound, "not found: no origin serves this path\n")
	}
	creq := &x.creq
	req.router = s.origin
	rawQuery, getCtx, release := req.RawQuery, ctx, func() {}
	creq.ContentKey = ""
	if b, err := blockingOf(rawQuery); err != nil {
		return plain(s.begin(req, resp), http.StatusBadRequest, "bad LL-HLS directive (_HLS_msn, _HLS_part, _HLS_skip)\n")
	} else if b.on {
		var held bool
		if getCtx, release, held = s.hold(ctx, req, b); held {
			rawQuery = b.query
		} else {
			rawQuery = b.plain
		}
		// Every version of the playlist is one swarm: the plain one's.
		creq.ContentKey = s.origin.Key(req.Host, req.Path, b.plain)
	}
	creq.Key = s.origin.CacheKey(req.Host, req.Path, rawQuery)
	creq.Path, creq.RawQuery, creq.Forward, creq.Authorized = req.Path, rawQuery, req, req.Authorization
	now := s.now() // the cache's clock too (node passes one clock to both)
	creq.Now = now
	e, lk, err := s.cache.Get(getCtx, creq)
	release()
	s.onLookup(lk.Result)
	if err != nil {
		if errors.Is(context.Cause(getCtx), errHoldExpired) && ctx.Err() == nil {
			s.begin(req, resp).add("Cache-Status", "edgeswarm; fwd=miss; detail=hold-expired")
			resp.add("Retry-After", "1")
			return plain(resp, http.StatusServiceUnavailable, "the LL-HLS part did not appear in time\n")
		}
		return s.fillError(s.begin(req, resp), err)
	}
	resp.entry, resp.lookupR = e, lk.Result
	memo := lk.Result == cache.Hit && s.memoable(req)
	var slot *atomic.Pointer[Memo]
	sec := now.Unix()
	if memo {
		slot = memoSetOf(e).slot(e.Kind().IsPlaylist() && acceptsGzip(req.AcceptEncoding))
		if m := slot.Load(); m != nil && m.sec == sec {
			resp.Header, resp.Status, resp.Memo = m.Header, http.StatusOK, m
			return withBody(req, resp, m.body)
		}
	}
	s.begin(req, resp)
	resp.add("Cache-Status", cacheStatus(lk))
	resp = s.fromEntry(ctx, req, resp, e)
	if memo && resp.Status == http.StatusOK && resp.Stream == nil {
		m := &Memo{sec: sec, Header: slices.Clip(resp.Header), body: resp.Body}
		slot.Store(m)
		resp.Memo = m
	}
	return resp
}

// serveAsset answers with one of the node's own files (the browser script,
// its types, the demo page).
func serveAsset(req *Request, resp *Response, a client.Asset) *Response {
	body, etag := a.Body, a.ETag
	gz := len(a.Body) > 1024 && a.Gzip != nil && acceptsGzip(req.AcceptEncoding)
	if gz {
		// Each representation has its own strong tag.
		body, etag = a.Gzip, strings.TrimSuffix(a.ETag, `"`)+`-gz"`
	}
	resp.Status = http.StatusOK
	resp.add("Content-Type", a.ContentType)
	resp.add("Cache-Control", a.CacheControl)
	resp.add("ETag", etag)
	resp.add("Vary", "Accept-Encoding")
	if notModified(req, etag, "") {
		resp.Status = http.StatusNotModified
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
	case lk.Revalidating:
		return "edgeswarm; hit; detail=stale-while-revalidate"
	case lk.Revalidated && lk.Collapsed:
		return "edgeswarm; fwd=stale; fwd-status=304; collapsed"
	case lk.Revalidated:
		return "edgeswarm; fwd=stale; fwd-status=304"
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

func (s *Server) fillError(resp *Response, err error) *Response {
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
		s.logLimited("origin fetch failed", "err", err)
		resp.add("Cache-Status", "edgeswarm; fwd=miss; detail=origin-unreachable")
		return plain(resp, http.StatusBadGateway, "origin unreachable\n")
	}
}

// fromEntry builds the response for a cached (or filling) object.
func (s *Server) fromEntry(ctx context.Context, req *Request, resp *Response, e *cache.Entry) *Response {
	now := s.now()
	resp.Status = e.Status()
	etag := e.HeaderValue("ETag")
	// The origin's headers as they are (the origin side left out hop-by-hop
	// ones and those the node sets), and the node's Age.
	resp.Header = s.appendOrigin(resp.Header, e.Header())
	resp.add("Age", strconv.Itoa(int(e.Age(now)/time.Second)))
	if k := e.Kind(); resp.Status == http.StatusOK && len(e.Swarms()) > 0 {
		// A DASH manifest holds a swarm per Representation: list them,
		// each with its ticket (dash.go).
		resp.add(wire.SwarmsHeader, s.swarmsHeader(e))
	} else if resp.Status == http.StatusOK && (k == cache.KindLivePlaylist || k == cache.KindVODPlaylist) {
		// A media playlist is a swarm: tell the browser script its key and,
		// when swarms need authorization, hand it a ticket to join.
		resp.add(wire.SwarmHeader, e.ContentKey())
		if t := s.hub.IssueTicket(e.ContentKey()); t != "" {
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
		if req.Range == "" && req.IfNoneMatch == "" && !e.Kind().IsPlaylist() {
			resp.Length = e.Size()
			if resp.Status == http.StatusOK {
				resp.add("Accept-Ranges", "bytes") // a Range request waits for the fill
			}
			if req.Method == http.MethodHead {
				resp.NoBody = true
				return resp
			}
			resp.Stream = e.NewReader(ctx)
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
	if resp.Status != http.StatusOK {
		return withBody(req, resp, body)
	}
	if notModified(req, etag, e.HeaderValue("Last-Modified")) {
		resp.Status = http.StatusNotModified
		resp.Header = dropHeaders(resp.Header, "Content-Length", "Content-Encoding")
		return resp
	}
	resp.add("Accept-Ranges", "bytes")
	if req.Range != "" && (req.IfRange == "" || req.IfRange == etag) {
		r, ok, err := parseRange(req.Range, int64(len(body)))
		switch {
		case err != nil:
			resp.add("Content-Range", "bytes */"+strconv.Itoa(len(body)))
			return plain(resp, http.StatusRequestedRangeNotSatisfiable, "range not satisfiable\n")
		case ok:
			resp.Status = http.StatusPartialContent
			resp.add("Content-Range", "bytes "+strconv.FormatInt(r.start, 10)+"-"+strconv.FormatInt(r.end-1, 10)+"/"+strconv.Itoa(len(body)))
			return withBody(req, resp, body[r.start:r.end])
		}
	}
	if e.Kind().IsPlaylist() {
		resp.add("Vary", "Accept-Encoding")
		if len(body) > 512 && acceptsGzip(req.AcceptEncoding) {
			resp.add("Content-Encoding", "gzip")
			return withBody(req, resp, e.Gzip())
		}
	}
	return withBody(req, resp, body)
}

func withBody(req *Request, resp *Response, body []byte) *Response {
	resp.Body = body
	resp.Length = int64(len(body))
	resp.NoBody = req.Method == http.MethodHead
	return resp
}

func plain(resp *Response, status int, msg string) *Response {
	resp.Status = status
	resp.add("Content-Type", "text/plain; charset=utf-8")
	resp.add("Cache-Control", "no-store")
	resp.Body = []byte(msg)
	resp.Length = int64(len(msg))
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
func notModified(req *Request, etag, lastModified string) bool {
	if req.IfNoneMatch != "" {
		if etag == "" {
			return false
		}
		for tok := range strings.SplitSeq(req.IfNoneMatch, ",") {
			tok = strings.TrimPrefix(strings.TrimSpace(tok), "W/")
			if tok == "*" || tok == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
		return false
	}
	if req.IfModifiedSince != "" && lastModified != "" {
		ims, err1 := http.ParseTime(req.IfModifiedSince)
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
func (s *Server) begin(req *Request, resp *Response) *Response {
	resp.Header = make([]cache.Header, 0, 16)
	s.cors(req, resp)
	if s.alt != "" && req.Method != http.MethodOptions {
		resp.add("Alt-Svc", s.alt)
	}
	return resp
}

// cors adds the CORS response headers for the request's Origin.
func (s *Server) cors(req *Request, resp *Response) {
	if s.corsAny {
		resp.add("Access-Control-Allow-Origin", "*")
	} else if req.Origin != "" && s.corsAllowed[req.Origin] {
		resp.add("Access-Control-Allow-Origin", req.Origin)
		resp.add("Vary", "Origin")
	} else {
		return
	}
	if req.Method != http.MethodOptions {
		resp.add("Access-Control-Expose-Headers", exposeHeaders)
	}
}

func (s *Server) preflight(req *Request, resp *Response) *Response {
	resp.Status = http.StatusNoContent
	resp.Length = 0
	resp.add("Access-Control-Allow-Methods", s.allow())
	if req.ACRHeaders != "" {
		resp.add("Access-Control-Allow-Headers", req.ACRHeaders)
	}
	resp.add("Access-Control-Max-Age", strconv.Itoa(int(s.cfg.CORSMaxAge/time.Second)))
	resp.add("Allow", s.allow())
	return resp
}

// appendOrigin appends the origin's headers but its Age (the node sends
// its own) and the targeted cache header meant for the node alone.
func (s *Server) appendOrigin(dst, hs []cache.Header) []cache.Header {
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Age") && !strings.EqualFold(h.Name, s.cfg.TargetedHeader) {
			dst = append(dst, h)
		}
	}
	return dst
}

func (s *Server) allow() string {
	if s.pass != nil {
		return "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"
	}
	return "GET, HEAD, OPTIONS"
}

// unsafe passes an unsafe method to the origin with its body, uncached,
// and on a non-error answer invalidates what the cache holds for the
// target URI and for the Location and Content-Location the origin named
// on the same origin (RFC 9111 4.4).
func (s *Server) unsafe(ctx context.Context, req *Request, resp *Response) *Response {
	obj, err := s.pass.Fetch(ctx, &cache.Request{
		Method: req.Method, Path: req.Path, RawQuery: req.RawQuery,
		Header: req.ForwardHeaders(), Body: req.Body, Authorized: req.Authorization,
	})
	if err != nil {
		return s.fillError(resp, err)
	}
	body, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		return s.fillError(resp, err)
	}
	if obj.Status < 400 {
		s.cache.Invalidate(s.origin.CacheKey(req.Host, req.Path, req.RawQuery))
		for _, h := range obj.Header {
			if !strings.EqualFold(h.Name, "Location") && !strings.EqualFold(h.Name, "Content-Location") {
				continue
			}
			// The origin side mapped same-origin URLs to public paths.
			if strings.HasPrefix(h.Value, "/") && !strings.HasPrefix(h.Value, "//") {
				p, q, _ := strings.Cut(h.Value, "?")
				s.cache.Invalidate(s.origin.CacheKey(req.Host, p, q))
			}
		}
	}
	resp.Status = obj.Status
	resp.Header = s.appendOrigin(resp.Header, obj.Header)
	resp.add("Cache-Status", "edgeswarm; fwd=method")
	return withBody(req, resp, body)
}
