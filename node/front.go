package node

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/edge"
	"github.com/edgeswarm/edgeswarm/wire"
)

// The two fronts below translate their server's request into the edge's
// request form and its response back. Nothing else belongs here.

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
	numProtos
)

func (p proto) String() string {
	if p == protoH3 {
		return "h3"
	}
	return "h1"
}

// h1Headers lists a fasthttp request's headers for the edge.
type h1Headers fasthttp.RequestHeader

func (h *h1Headers) EachHeader(f func(name, value string)) {
	for k, v := range (*fasthttp.RequestHeader)(h).All() {
		f(b2s(k), b2s(v))
	}
}

// h3Headers lists a net/http request's headers for the edge.
type h3Headers http.Request

func (r *h3Headers) EachHeader(f func(name, value string)) {
	for name, vs := range r.Header {
		for _, v := range vs {
			f(name, v)
		}
	}
}

var (
	_ edge.HeaderLister = (*h1Headers)(nil)
	_ edge.HeaderLister = (*h3Headers)(nil)
)

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

// handleH3 is the quic-go (HTTP/3) front.
func (n *Node) handleH3(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == wire.BeaconPath {
		n.beaconH3(w, r)
		return
	}
	start := time.Now()
	x := edge.NewExchange()
	defer x.Release()
	x.Req = edge.Request{
		Method:          r.Method,
		Path:            r.URL.EscapedPath(),
		RawQuery:        r.URL.RawQuery,
		Host:            r.Host,
		Range:           r.Header.Get("Range"),
		IfRange:         r.Header.Get("If-Range"),
		IfNoneMatch:     r.Header.Get("If-None-Match"),
		IfModifiedSince: r.Header.Get("If-Modified-Since"),
		AcceptEncoding:  r.Header.Get("Accept-Encoding"),
		Origin:          r.Header.Get("Origin"),
		ACRHeaders:      r.Header.Get("Access-Control-Request-Headers"),
		Authorization:   r.Header.Get("Authorization") != "",
		Headers:         (*h3Headers)(r),
	}
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil || len(body) > maxRequestBody {
			http.Error(w, "request body too large or cut short", http.StatusRequestEntityTooLarge)
			return
		}
		x.Req.Body = body
	}
	resp := n.edge.Serve(r.Context(), x)
	h := w.Header()
	for _, hd := range resp.Header {
		h.Add(hd.Name, hd.Value)
	}
	if resp.Length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.Length, 10))
	}
	w.WriteHeader(resp.Status)
	n.stats.ObserveResponse(time.Since(start))
	var sent int64
	switch {
	case resp.NoBody:
	case resp.Stream != nil:
		sent, _ = io.Copy(w, resp.Stream)
	default:
		m, _ := w.Write(resp.Body)
		sent = int64(m)
	}
	n.metrics.observe(protoH3, resp.Status, sent)
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
