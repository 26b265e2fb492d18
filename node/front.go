package node

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/edge"
	"github.com/edgeswarm/edgeswarm/wire"
)

// The HTTP/1.1 front below translates fasthttp's request into the edge's
// request form and its response back. Nothing else belongs here. HTTP/2
// and HTTP/3 use the edge's net/http front (edge.HTTPHandler).

// h1Error answers a request fasthttp could not read: 413 for a body over
// maxRequestBody, 431 for headers over the read buffer, 408 for a read
// that timed out, 400 for anything malformed. The connection is closed.
func h1Error(ctx *fasthttp.RequestCtx, err error) {
	var code int
	var msg string
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		code, msg = fasthttp.StatusRequestEntityTooLarge, "request body too large\n"
	case errors.As(err, &small) || errors.Is(err, fasthttp.ErrSmallReadBuffer):
		code, msg = fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large\n"
	default:
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			code, msg = fasthttp.StatusRequestTimeout, "request timeout\n"
		} else {
			code, msg = fasthttp.StatusBadRequest, "malformed request\n"
		}
	}
	ctx.Error(msg, code)
	ctx.SetConnectionClose()
}

type proto uint8

const (
	protoH1 proto = iota
	protoH3
	protoH2
	numProtos
)

func (p proto) String() string {
	switch p {
	case protoH3:
		return "h3"
	case protoH2:
		return "h2"
	}
	return "h1"
}

// netHTTPFront is the edge's net/http handler for front p (HTTP/2,
// HTTP/3) behind the viewers' beacon route, timing each answer up to its
// header as the HTTP/1.1 front does. The edge times it (a wrapping
// ResponseWriter would cost an allocation per request).
func (n *Node) netHTTPFront(p proto) http.Handler {
	h := edge.HTTPHandlerTimed(n.edge, maxRequestBody, n.observeFunc(p), func(d time.Duration) { n.stats.ObserveResponse(d) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wire.BeaconPath {
			n.beaconHTTP(w, r, p)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// observeFunc counts the answers of a net/http front (HTTP/2, HTTP/3).
func (n *Node) observeFunc(p proto) func(status int, sent int64) {
	return func(status int, sent int64) { n.metrics.observe(p, status, sent) }
}

// h1Headers lists a fasthttp request's headers for the edge.
type h1Headers fasthttp.RequestHeader

func (h *h1Headers) EachHeader(f func(name, value string)) {
	for k, v := range (*fasthttp.RequestHeader)(h).All() {
		f(b2s(k), b2s(v))
	}
}

var _ edge.HeaderLister = (*h1Headers)(nil)

// handleH1 is the fasthttp (HTTP/1.1) front.
func (n *Node) handleH1(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) == wire.SignalPath {
		// Before the upgrade answer goes out: the WebSocket frames that
		// follow it are not HTTP lines.
		stopLineChecks(ctx.Conn())
		n.hub.ServeWS(ctx)
		return
	}
	if string(ctx.Path()) == wire.BeaconPath {
		n.beaconH1(ctx)
		return
	}
	start := time.Now()
	x := edge.NewExchange()
	defer x.Release()
	h := &ctx.Request.Header
	// The strings alias fasthttp's buffers and live only for this handler:
	// the cache copies what it keeps (see cache.Request).
	req := &x.Req
	req.Method = b2s(ctx.Method())
	req.Path = b2s(ctx.URI().PathOriginal()) // raw: the origin side normalises it
	req.RawQuery = b2s(ctx.URI().QueryString())
	req.Host = b2s(ctx.Host())
	req.Headers = (*h1Headers)(h)
	if m := req.Method; m != fasthttp.MethodGet && m != fasthttp.MethodHead {
		req.Body = ctx.Request.Body()
	}
	// One pass over the headers instead of a lookup per name. fasthttp
	// has put every name in canonical form.
	for k, v := range h.All() {
		switch string(k) {
		case "Range":
			req.Range = b2s(v)
		case "If-Range":
			req.IfRange = b2s(v)
		case "If-None-Match":
			req.IfNoneMatch = b2s(v)
		case "If-Modified-Since":
			req.IfModifiedSince = b2s(v)
		case "Accept-Encoding":
			req.AcceptEncoding = b2s(v)
		case "Origin":
			req.Origin = b2s(v)
		case "Access-Control-Request-Headers":
			req.ACRHeaders = b2s(v)
		case "Authorization":
			req.Authorization = true
		}
	}
	// fasthttp's RequestCtx is a context that ends when the server shuts
	// down, which would cut in-flight responses short during the drain;
	// it never reports a viewer leaving either. A failed write ends a
	// stream instead, and fills have their own timeout.
	resp := n.edge.Serve(context.Background(), x)

	rh := &ctx.Response.Header
	if resp.Memo != nil {
		h, _ := resp.Memo.Front.Load().(*fasthttp.ResponseHeader)
		if h == nil {
			h = new(fasthttp.ResponseHeader)
			h.DisableNormalizing()
			h.SetStatusCode(resp.Status)
			for _, hd := range resp.Header {
				h.Add(hd.Name, hd.Value)
			}
			resp.Memo.Front.Store(h)
		}
		h.CopyTo(rh) // one copy instead of one header at a time
	} else {
		rh.DisableNormalizing() // the edge writes canonical names already
		ctx.SetStatusCode(resp.Status)
		for _, hd := range resp.Header {
			rh.Add(hd.Name, hd.Value)
		}
	}
	switch {
	case resp.NoBody:
		ctx.Response.SkipBody = true
		if resp.Length >= 0 {
			rh.SetContentLength(int(resp.Length))
		}
	case resp.Stream != nil:
		// A body still filling goes out chunked: fasthttp flushes each
		// chunk, so bytes reach the viewer as they reach the node (with a
		// fixed length it would hold small pieces in its write buffer).
		ctx.SetBodyStream(&countingReader{r: resp.Stream, m: n.metrics}, -1)
	default:
		ctx.Response.SetBodyRaw(resp.Body)
		n.metrics.bytesSent.Add(float64(len(resp.Body)))
	}
	n.metrics.observe(protoH1, resp.Status, 0)
	n.stats.ObserveResponse(time.Since(start))
}

// maxRequestBody bounds the body of a request passed to the origin
// (POST, PUT, PATCH); the HTTP/1.1 server enforces the same bound.
const maxRequestBody = 1 << 20

// b2s views b as a string without copying. The string is valid only while
// b is: for fasthttp, until the handler returns.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// countingReader counts streamed body bytes as they are sent.
type countingReader struct {
	r io.Reader
	m *metrics
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if k > 0 {
		c.m.bytesSent.Add(float64(k))
	}
	return k, err
}
