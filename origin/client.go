package origin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/valyala/fasthttp"
)

// Errors returned by Fetch, for the node to choose its answer.
var (
	// ErrNoRoute: no configured origin serves the path, or the path would
	// escape its route (the node answers 404).
	ErrNoRoute = errors.New("origin: no route for path")
	// ErrTimeout: the origin did not answer, or not completely, in time
	// (the node answers 504). errors.Is(err, context.DeadlineExceeded) also
	// holds.
	ErrTimeout error = timeoutError{}
	// ErrTooLarge: the object is larger than Config.MaxBodySize.
	ErrTooLarge = errors.New("origin: object larger than max_body_size")
	// ErrUpstream: the origin could not be reached or answered with
	// something that is not HTTP (the node answers 502).
	ErrUpstream = errors.New("origin: upstream failure")
)

type timeoutError struct{}

func (timeoutError) Error() string        { return "origin: timeout" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Client fetches objects from the configured origins. It satisfies
// cache.Fetcher. It is safe for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	keyer   *Keyer
	routes  routeTable
	clients []*fasthttp.HostClient
	warn    logLimiter
	// now is the clock a dynamic DASH manifest's segments are listed by.
	now func() time.Time
}

var _ cache.Fetcher = (*Client)(nil)

// NewClient validates cfg and builds a client. It opens no connection.
func NewClient(cfg Config, log *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	keyer, err := NewKeyer(cfg.Key)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: log, keyer: keyer, warn: logLimiter{every: 10 * time.Second}, now: time.Now}
	byOrigin := make(map[string]*fasthttp.HostClient)
	for _, r := range cfg.Routes {
		b, _ := parseBase(r.URL) // validated above
		isTLS := b.scheme == "https"
		addr := fasthttp.AddMissingPort(b.host, isTLS)
		id := b.scheme + "://" + addr
		hc := byOrigin[id]
		if hc == nil {
			hc = c.newHostClient(addr, isTLS)
			byOrigin[id] = hc
			c.clients = append(c.clients, hc)
		}
		c.routes = append(c.routes, &route{prefix: r.Prefix, base: b, addr: addr, hc: hc, override: r.TTL.Override, dropQuery: r.CacheKey.DropQuery})
	}
	c.routes.sort()
	return c, nil
}

func (c *Client) newHostClient(addr string, isTLS bool) *fasthttp.HostClient {
	connect := c.cfg.ConnectTimeout
	return &fasthttp.HostClient{
		Addr:  addr,
		IsTLS: isTLS,
		Name:  "edgeswarm",
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			if connect > 0 && (timeout <= 0 || connect < timeout) {
				timeout = connect
			}
			d := net.Dialer{Timeout: timeout}
			return d.Dial("tcp", addr)
		},
		StreamResponseBody:     true,
		DisablePathNormalizing: true, // forward the path exactly as validated
		// One retry covers a keep-alive connection the origin closed.
		MaxIdemponentCallAttempts: 2,
		MaxResponseBodySize:       int(min(int64(c.cfg.MaxBodySize), int64(^uint(0)>>1))),
		MaxIdleConnDuration:       30 * time.Second,
	}
}

// Close closes idle upstream connections.
func (c *Client) Close() {
	for _, hc := range c.clients {
		hc.CloseIdleConnections()
	}
}

// Keyer returns the keyer built from Config.Key.
func (c *Client) Keyer() *Keyer { return c.keyer }

// Key returns the content key of a request (see Keyer.Key): the P2P
// identity of what it fetches.
func (c *Client) Key(host, path, rawQuery string) string { return c.keyer.Key(host, path, rawQuery) }

// CacheKey returns the HTTP cache key of a request: what may be served to
// whom. It is the normalised path (after the host with key.keep_host) and
// the whole query, less the parameters the route's cache_key.drop_query
// names, in their order. No rewrite rule applies: those are for P2P
// identity only.
func (c *Client) CacheKey(host, path, rawQuery string) string {
	keepHost := c.cfg.Key.KeepHost && host != ""
	if !keepHost && rawQuery == "" && isNormal(path, pathChars) && path != "" {
		return path
	}
	var drop []string
	if rt, _, ok := c.routes.match(path); ok {
		drop = rt.dropQuery
	}
	var b strings.Builder
	b.Grow(len(host) + len(path) + len(rawQuery) + 2)
	if keepHost {
		appendNormalized(&b, host, pathChars, true)
	}
	if path == "" {
		path = "/"
	}
	appendNormalized(&b, path, pathChars, false)
	sep := byte('?')
	for param := range strings.SplitSeq(rawQuery, "&") {
		if param == "" {
			continue
		}
		name, _, _ := strings.Cut(param, "=")
		if slices.Contains(drop, name) {
			continue
		}
		b.WriteByte(sep)
		appendNormalized(&b, param, queryChars, false)
		sep = '&'
	}
	return b.String()
}

// Route reports whether path (raw, as the viewer sent it, percent-encoding
// intact) is served by a configured origin. Paths that would escape their
// route are not.
func (c *Client) Route(path string) bool {
	_, _, ok := c.routes.match(path)
	return ok
}

// PublicPath maps an absolute origin URL's parts back to the public path
// that serves it (see URLMapper).
func (c *Client) PublicPath(scheme, host, path string) (string, bool) {
	return c.routes.publicPath(scheme, host, path)
}

// Fetch gets req.Path from its origin (or sends req.Method with req.Body
// there: an unsafe method's answer is an unstored Object). req.Path must be the raw request path
// (percent-encoding intact). The viewer's query and end-to-end headers are
// forwarded; hop-by-hop, Host, Accept-Encoding, Range and conditional
// headers are not. With Config.Key.KeepHost, the Host entry of req.Header
// (if the node put one there) is the host of the live window's keys.
//
// Any HTTP answer is an Object with the origin's status (the cache decides
// what to do with a 5xx); errors are ErrNoRoute, ErrTimeout (also
// context.DeadlineExceeded), ErrTooLarge, ErrUpstream or the context's error.
func (c *Client) Fetch(ctx context.Context, req *cache.Request) (*cache.Object, error) {
	rt, rem, ok := c.routes.match(req.Path)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoRoute, req.Path)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	freq := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	resp.Header.SetNoDefaultContentType(true)
	c.buildRequest(freq, rt, rem, req)

	deadline := time.Now().Add(c.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	err := do(ctx, rt.hc, freq, resp, deadline)
	if err != nil {
		// do released freq and resp.
		return nil, c.upstreamError(ctx, req.Path, err)
	}

	obj := &cache.Object{Status: resp.StatusCode(), Size: -1}
	unsafe := req.Method != "" && req.Method != fasthttp.MethodGet
	hop := responseConnectionTokens(&resp.Header)
	for k, v := range resp.Header.All() {
		name := string(k)
		if !c.passHeader(name) || containsFold(hop, name) {
			continue
		}
		value := string(v)
		if strings.EqualFold(name, "Location") || strings.EqualFold(name, "Content-Location") {
			value = c.mapLocation(rt, value)
		}
		obj.Header = append(obj.Header, cache.Header{Name: name, Value: value})
	}
	contentType := string(resp.Header.ContentType())
	date := string(resp.Header.Peek("Date")) // not stored: for the answer's apparent age

	if obj.Status == 304 && req.StoredHeader != nil {
		// Revalidated: the stored headers, updated from the 304's
		// (RFC 9111 4.3.4), describe the stored body.
		resp.CloseBodyStream()
		fasthttp.ReleaseResponse(resp)
		obj.Header = mergeHeaders(req.StoredHeader, obj.Header)
		obj.Size = int64(len(req.StoredBody))
		status := obj.Status
		obj.Status = req.StoredStatus // what the policy is decided for
		defer func() { obj.Status = status }()
		contentType = headerValue(obj.Header, "Content-Type")
		if isMPD(req.Path, contentType) {
			if info, err := ParseMPD(req.Path, req.StoredBody, c.routes.publicPath, c.now()); err == nil {
				c.setMPD(obj, req, info, rt, date)
				return obj, nil
			}
		}
		if isPlaylist(req.Path, contentType) {
			if info, err := ParsePlaylistWith(req.Path, req.StoredBody, c.routes.publicPath); err == nil {
				c.setPlaylist(obj, req, info, rt, date)
				return obj, nil
			}
		}
		c.setPolicy(obj, req, media{kind: classify(req.Path, contentType), override: rt.override}, date)
		return obj, nil
	}

	if n := resp.Header.ContentLength(); n >= 0 {
		if int64(n) > int64(c.cfg.MaxBodySize) {
			resp.CloseBodyStream()
			fasthttp.ReleaseResponse(resp)
			return nil, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, req.Path, n)
		}
		obj.Size = int64(n)
	}
	body := newBody(ctx, resp, int64(c.cfg.MaxBodySize))
	if unsafe {
		obj.Body = body // never stored: nothing else to decide
		return obj, nil
	}

	ok2xx := obj.Status == 200 || obj.Status == 203
	if ok2xx && (isPlaylist(req.Path, contentType) || isMPD(req.Path, contentType)) {
		body.limit = min(body.limit, maxPlaylistBytes)
		return c.finishPlaylist(obj, body, req, rt, isMPD(req.Path, contentType), date)
	}
	obj.Body = body
	if ok2xx {
		obj.Kind = classify(req.Path, contentType)
	}
	c.setPolicy(obj, req, media{kind: obj.Kind, override: rt.override}, date)
	return obj, nil
}

// setPolicy sets what decide says on obj (date: the origin's Date) and
// takes the fields a qualified private or no-cache names out of what is
// stored.
func (c *Client) setPolicy(obj *cache.Object, req *cache.Request, m media, date string) {
	p := decide(c.cfg.TTL, obj.Header, date, obj.Status, req.Authorized, m)
	if len(p.drop) > 0 {
		obj.Header = slices.DeleteFunc(obj.Header, func(h cache.Header) bool { return containsFold(p.drop, strings.ToLower(h.Name)) })
	}
	obj.Store, obj.TTL, obj.Age = p.store, p.ttl, p.age
	obj.StaleWhileRevalidate, obj.StaleIfError, obj.NoStale = p.swr, p.sie, p.noStale
	obj.Vary = p.vary
	if m.kind != cache.KindOther || obj.Status == 200 || obj.Status == 203 {
		obj.Kind = m.kind
	}
}

// passHeader reports whether an origin response header is kept: all of
// them but hop-by-hop and framing ones and those the node sets itself
// (Date, Server, Accept-Ranges, Alt-Svc, CORS, and the swarm and ticket
// headers, when the origin is another node: a cache tier). Age and the targeted
// cache header stay in the stored headers (a revalidation needs them);
// the edge leaves them out of what viewers get.
func (c *Client) passHeader(name string) bool {
	if len(name) > 6 && strings.EqualFold(name[:6], "Proxy-") {
		return false
	}
	if len(name) > 15 && strings.EqualFold(name[:15], "Access-Control-") {
		return false
	}
	switch strings.ToLower(name) {
	case "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
		"content-length", "date", "server", "accept-ranges", "alt-svc":
		return false
	case "edgeswarm-swarm", "edgeswarm-ticket":
		return false
	}
	return true
}

// responseConnectionTokens returns the names the response's Connection
// header lists: hop-by-hop too.
func responseConnectionTokens(h *fasthttp.ResponseHeader) []string {
	var out []string
	for k, v := range h.All() {
		if strings.EqualFold(string(k), "Connection") {
			for tok := range strings.SplitSeq(string(v), ",") {
				if tok = strings.TrimSpace(tok); tok != "" {
					out = append(out, tok)
				}
			}
		}
	}
	return out
}

// mergeHeaders returns stored with every field the 304 carries replaced
// by the 304's lines of it (RFC 9111 3.2), framing fields excepted.
func mergeHeaders(stored, fresh []cache.Header) []cache.Header {
	out := make([]cache.Header, 0, len(stored)+len(fresh))
	for _, h := range stored {
		if headerValue(fresh, h.Name) == "" || strings.EqualFold(h.Name, "Content-Encoding") || strings.EqualFold(h.Name, "Content-Type") {
			out = append(out, h)
		}
	}
	for _, h := range fresh {
		if !strings.EqualFold(h.Name, "Content-Encoding") && !strings.EqualFold(h.Name, "Content-Type") {
			out = append(out, h)
		}
	}
	return out
}

// maxPlaylistBytes bounds a playlist, which is read whole and parsed (a
// 24-hour DVR window of 2 s segments is about 5 MB).
const maxPlaylistBytes = 32 << 20

// finishPlaylist reads a playlist whole, parses it and sets Kind, TTL and
// Window. A playlist that does not parse is passed through uncached.
func (c *Client) finishPlaylist(obj *cache.Object, body *streamBody, req *cache.Request, rt *route, mpd bool, date string) (*cache.Object, error) {
	data, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		return nil, fmt.Errorf("origin: reading %s: %w", req.Path, err)
	}
	obj.Size = int64(len(data))
	obj.Body = io.NopCloser(bytes.NewReader(data))
	if mpd {
		info, err := ParseMPD(req.Path, data, c.routes.publicPath, c.now())
		if err != nil {
			if c.warn.allow() {
				c.log.Warn("origin sent a malformed DASH manifest; passing it through uncached",
					"path", req.Path, "err", err)
			}
			obj.Kind = cache.KindOther
			return obj, nil
		}
		c.setMPD(obj, req, info, rt, date)
		return obj, nil
	}
	info, err := ParsePlaylistWith(req.Path, data, c.routes.publicPath)
	if err != nil {
		if c.warn.allow() {
			c.log.Warn("origin sent a malformed playlist; passing it through uncached",
				"path", req.Path, "err", err)
		}
		obj.Kind = cache.KindOther
		return obj, nil
	}
	c.setPlaylist(obj, req, info, rt, date)
	return obj, nil
}

// setPlaylist sets a parsed playlist's kind, policy, window and media.
func (c *Client) setPlaylist(obj *cache.Object, req *cache.Request, info *PlaylistInfo, rt *route, date string) {
	c.setPolicy(obj, req, media{kind: info.Kind, info: info, override: rt.override}, date)
	obj.Kind = info.Kind
	host := headerValue(req.Header, "Host")
	if info.Kind == cache.KindLivePlaylist {
		obj.Window = c.windowKeys(host, info)
		obj.PartTarget = info.PartTarget
		for _, h := range info.LL.Hints {
			obj.Hints = append(obj.Hints, h.URI)
		}
	}
	if info.Kind == cache.KindLivePlaylist || info.Kind == cache.KindVODPlaylist {
		obj.MediaSequence = info.MediaSequence
		obj.Media = make([]string, len(info.Segments))
		for i, u := range info.Segments {
			p, q, _ := strings.Cut(u, "?")
			obj.Media[i] = c.keyer.Key(host, p, q)
		}
	}
}

// windowKeys returns the content keys of everything a live playlist
// references (segments, init sections, parts), without duplicates.
func (c *Client) windowKeys(host string, info *PlaylistInfo) []string {
	n := len(info.Segments) + len(info.Init) + len(info.Parts)
	keys := make([]string, 0, n)
	seen := make(map[string]struct{}, n)
	for _, list := range [][]string{info.Init, info.Segments, info.Parts} {
		for _, u := range list {
			p, q, _ := strings.Cut(u, "?")
			k := c.keyer.Key(host, p, q)
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// buildRequest fills freq for the route; only the path remainder, the query
// and the headers come from the viewer.
func (c *Client) buildRequest(freq *fasthttp.Request, rt *route, rem string, req *cache.Request) {
	uri := make([]byte, 0, len(rt.base.scheme)+3+len(rt.base.host)+len(rt.base.path)+len(rem)+1+len(req.RawQuery))
	uri = append(uri, rt.base.scheme...)
	uri = append(uri, "://"...)
	uri = append(uri, rt.base.host...)
	uri = append(uri, rt.base.path...)
	uri = appendEscaped(uri, rem, pathChars)
	if req.RawQuery != "" {
		uri = append(uri, '?')
		uri = appendEscaped(uri, req.RawQuery, queryChars)
	}
	freq.SetRequestURIBytes(uri)
	if req.Method != "" {
		freq.Header.SetMethod(req.Method)
		if len(req.Body) > 0 {
			freq.SetBodyRaw(req.Body)
		}
	} else {
		freq.Header.SetMethod(fasthttp.MethodGet)
	}
	// Headers are written as given: fasthttp would otherwise re-serialise
	// Cookie (dropping quotes) and other headers it knows.
	freq.Header.DisableSpecialHeader()
	freq.Header.Add("Host", rt.base.host)

	hop := connectionTokens(req.Header)
	hasUA := false
	for _, h := range req.Header {
		if dropRequestHeader(h.Name) || containsFold(hop, h.Name) || !validHeaderField(h.Name, h.Value) {
			continue
		}
		hasUA = hasUA || strings.EqualFold(h.Name, "User-Agent")
		freq.Header.Add(h.Name, h.Value)
	}
	if !hasUA {
		freq.Header.Add("User-Agent", "edgeswarm")
	}
	freq.Header.Add("Accept-Encoding", "identity")
	if req.StoredHeader != nil {
		// Revalidation: a conditional request from the stored validators.
		if etag := headerValue(req.StoredHeader, "ETag"); etag != "" && validHeaderField("If-None-Match", etag) {
			freq.Header.Add("If-None-Match", etag)
		}
		if lm := headerValue(req.StoredHeader, "Last-Modified"); lm != "" && validHeaderField("If-Modified-Since", lm) {
			freq.Header.Add("If-Modified-Since", lm)
		}
	}
}

// mapLocation rewrites a redirect to a configured origin into the public
// path that serves it; anything else is returned unchanged.
func (c *Client) mapLocation(rt *route, loc string) string {
	if scheme, rest, ok := splitScheme(loc); ok && (scheme == "http" || scheme == "https") && strings.HasPrefix(rest, "//") {
		if p, ok := (resolver{mapURL: c.routes.publicPath}).mapAbsolute(scheme, rest[2:]); ok {
			return p
		}
		return loc
	}
	if strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
		p, q, hasQuery := strings.Cut(loc, "?")
		if pub, ok := c.routes.publicPath(rt.base.scheme, rt.base.host, p); ok {
			if hasQuery {
				return pub + "?" + q
			}
			return pub
		}
	}
	return loc
}

// upstreamError classifies a failed exchange.
func (c *Client) upstreamError(ctx context.Context, path string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(ctxErr, context.DeadlineExceeded) {
		return fmt.Errorf("origin: fetching %s: %w", path, ctxErr)
	}
	if isTimeout(err) {
		return fmt.Errorf("origin: fetching %s: %w (%v)", path, ErrTimeout, err)
	}
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		return fmt.Errorf("%w: %s", ErrTooLarge, path)
	}
	return fmt.Errorf("origin: fetching %s: %w: %w", path, ErrUpstream, err)
}

func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// do runs the exchange until the response headers arrive, giving up when ctx
// is done. It releases req. On error it releases resp (at once, or once an
// abandoned exchange ends).
func do(ctx context.Context, hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	if ctx.Done() == nil {
		err := hc.DoDeadline(req, resp, deadline)
		fasthttp.ReleaseRequest(req)
		if err != nil {
			fasthttp.ReleaseResponse(resp)
		}
		return err
	}
	// fasthttp takes no context: run the exchange aside and stop waiting
	// for it on cancellation; the deadline bounds the abandoned exchange.
	done := make(chan error, 1)
	go func() {
		done <- hc.DoDeadline(req, resp, deadline)
		fasthttp.ReleaseRequest(req)
	}()
	select {
	case err := <-done:
		if err != nil {
			fasthttp.ReleaseResponse(resp)
		}
		return err
	case <-ctx.Done():
		go func() {
			<-done
			resp.CloseBodyStream()
			fasthttp.ReleaseResponse(resp)
		}()
		return ctx.Err()
	}
}

// streamBody is the Body of a streamed object: it reads the response as it
// arrives and releases it on Close. A cancelled context or the whole-fetch
// deadline interrupts a blocked Read.
type streamBody struct {
	ctx    context.Context
	r      io.Reader // nil when the response had no body stream
	rest   []byte    // a copy of the body when there is no stream
	limit  int64
	n      int64
	stop   func() bool
	mu     sync.Mutex // guards resp and closed against abort
	resp   *fasthttp.Response
	closed bool
}

func newBody(ctx context.Context, resp *fasthttp.Response, limit int64) *streamBody {
	b := &streamBody{ctx: ctx, resp: resp, limit: limit}
	if r := resp.BodyStream(); r != nil {
		b.r = r
		b.stop = context.AfterFunc(ctx, b.abort)
	} else {
		// A body fasthttp did not stream is small; copy it so that the
		// response can be released on Close whatever the reader does.
		b.rest = append([]byte(nil), resp.Body()...)
		b.stop = func() bool { return true }
	}
	return b
}

func (b *streamBody) Read(p []byte) (int, error) {
	if b.r == nil {
		if len(b.rest) == 0 {
			return 0, io.EOF
		}
		n := copy(p, b.rest)
		b.rest = b.rest[n:]
		return n, nil
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		return n, ErrTooLarge
	}
	if err != nil && err != io.EOF {
		switch {
		case b.ctx.Err() != nil && !errors.Is(b.ctx.Err(), context.DeadlineExceeded):
			err = b.ctx.Err()
		case isTimeout(err) || b.ctx.Err() != nil:
			err = fmt.Errorf("%w (body: %v)", ErrTimeout, err)
		case err == io.ErrUnexpectedEOF:
			err = fmt.Errorf("%w: body cut short: %w", ErrUpstream, err)
		default:
			err = fmt.Errorf("%w: body: %w", ErrUpstream, err)
		}
	}
	return n, err
}

// abort interrupts a Read blocked on the network (the context is done).
func (b *streamBody) abort() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.resp.CloseBodyStream()
	}
}

// Close releases the response (and its connection, back to the pool when
// the body was read to the end).
func (b *streamBody) Close() error {
	b.stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(b.resp)
	b.resp = nil
	return nil
}

// logLimiter lets one log line through per period, for per-request paths.
type logLimiter struct {
	every time.Duration
	next  atomic.Int64
}

func (l *logLimiter) allow() bool {
	now := time.Now().UnixNano()
	next := l.next.Load()
	return now >= next && l.next.CompareAndSwap(next, now+int64(l.every))
}

// isPlaylist reports whether an object is an HLS playlist, by its path or
// its content type.
func isPlaylist(path, contentType string) bool {
	if hasExt(path, ".m3u8") {
		return true
	}
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/vnd.apple.mpegurl") || strings.EqualFold(mt, "audio/mpegurl") ||
		strings.EqualFold(mt, "application/x-mpegurl") || strings.EqualFold(mt, "audio/x-mpegurl")
}

// segmentExts are the extensions of media segments, init sections, keys and
// subtitle chunks.
var segmentExts = []string{
	".ts", ".m4s", ".mp4", ".m4a", ".m4v", ".aac", ".ac3", ".ec3", ".mp3",
	".vtt", ".webvtt", ".key", ".cmfv", ".cmfa", ".cmft", ".fmp4", ".m2ts",
}

// classify tells segments from other objects (playlists are decided by
// isPlaylist and their content).
func classify(path, contentType string) cache.Kind {
	for _, e := range segmentExts {
		if hasExt(path, e) {
			return cache.KindSegment
		}
	}
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if strings.HasPrefix(mt, "video/") || strings.HasPrefix(mt, "audio/") || mt == "text/vtt" || mt == "application/mp4" {
		return cache.KindSegment
	}
	return cache.KindOther
}

func hasExt(path, ext string) bool {
	return len(path) >= len(ext) && strings.EqualFold(path[len(path)-len(ext):], ext)
}
