package node

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/wire"
)

// The two fronts below translate their server's request into the node's
// request form and its response back. Nothing else belongs here.

// maxRequestBody is the largest request body the HTTP/1.1 front reads:
// viewers send none, a preflight or a stray POST a few bytes.
const maxRequestBody = 4 << 10

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

// handleH1 is the fasthttp (HTTP/1.1) front.
func (n *Node) handleH1(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) == wire.SignalPath {
		// Before the upgrade answer goes out: the WebSocket frames that
		// follow it are not HTTP lines.
		stopLineChecks(ctx.Conn())
		n.hub.ServeWS(ctx)
		return
	}
	x := exchanges.Get().(*exchange)
	defer x.release()
	h := &ctx.Request.Header
	// The strings alias fasthttp's buffers and live only for this handler:
	// the cache copies what it keeps (see cache.Request).
	req := &x.req
	req.method = b2s(ctx.Method())
	req.path = b2s(ctx.URI().PathOriginal()) // raw: the origin side normalises it
	req.rawQuery = b2s(ctx.URI().QueryString())
	req.host = b2s(ctx.Host())
	req.proto = protoH1
	req.h1 = h
	// One pass over the headers instead of a lookup per name. fasthttp
	// has put every name in canonical form.
	for k, v := range h.All() {
		switch string(k) {
		case "Range":
			req.rangeHdr = b2s(v)
		case "If-Range":
			req.ifRange = b2s(v)
		case "If-None-Match":
			req.ifNoneMatch = b2s(v)
		case "If-Modified-Since":
			req.ifModifiedSince = b2s(v)
		case "Accept-Encoding":
			req.acceptEncoding = b2s(v)
		case "Origin":
			req.origin = b2s(v)
		case "Access-Control-Request-Headers":
			req.acrHeaders = b2s(v)
		}
	}
	// fasthttp's RequestCtx is a context that ends when the server shuts
	// down, which would cut in-flight responses short during the drain;
	// it never reports a viewer leaving either. A failed write ends a
	// stream instead, and fills have their own timeout.
	resp := n.serve(context.Background(), x)

	rh := &ctx.Response.Header
	if resp.memo != nil {
		h := resp.memo.h1.Load()
		if h == nil {
			h = new(fasthttp.ResponseHeader)
			h.DisableNormalizing()
			h.SetStatusCode(resp.status)
			for _, hd := range resp.header {
				h.Add(hd.Name, hd.Value)
			}
			resp.memo.h1.Store(h)
		}
		h.CopyTo(rh) // one copy instead of one header at a time
	} else {
		rh.DisableNormalizing() // the node writes canonical names already
		ctx.SetStatusCode(resp.status)
		for _, hd := range resp.header {
			rh.Add(hd.Name, hd.Value)
		}
	}
	switch {
	case resp.noBody:
		ctx.Response.SkipBody = true
		if resp.length >= 0 {
			rh.SetContentLength(int(resp.length))
		}
	case resp.stream != nil:
		// A body still filling goes out chunked: fasthttp flushes each
		// chunk, so bytes reach the viewer as they reach the node (with a
		// fixed length it would hold small pieces in its write buffer).
		ctx.SetBodyStream(&countingReader{r: resp.stream, m: n.metrics}, -1)
	default:
		ctx.Response.SetBodyRaw(resp.body)
		n.metrics.bytesSent.Add(float64(len(resp.body)))
	}
	n.metrics.observe(protoH1, resp.status, 0)
}

// handleH3 is the quic-go (HTTP/3) front.
func (n *Node) handleH3(w http.ResponseWriter, r *http.Request) {
	x := exchanges.Get().(*exchange)
	defer x.release()
	x.req = request{
		method:          r.Method,
		path:            r.URL.EscapedPath(),
		rawQuery:        r.URL.RawQuery,
		host:            r.Host,
		proto:           protoH3,
		rangeHdr:        r.Header.Get("Range"),
		ifRange:         r.Header.Get("If-Range"),
		ifNoneMatch:     r.Header.Get("If-None-Match"),
		ifModifiedSince: r.Header.Get("If-Modified-Since"),
		acceptEncoding:  r.Header.Get("Accept-Encoding"),
		origin:          r.Header.Get("Origin"),
		acrHeaders:      r.Header.Get("Access-Control-Request-Headers"),
		h3:              r,
	}
	resp := n.serve(r.Context(), x)
	h := w.Header()
	for _, hd := range resp.header {
		h.Add(hd.Name, hd.Value)
	}
	if resp.length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.length, 10))
	}
	w.WriteHeader(resp.status)
	var sent int64
	switch {
	case resp.noBody:
	case resp.stream != nil:
		sent, _ = io.Copy(w, resp.stream)
	default:
		m, _ := w.Write(resp.body)
		sent = int64(m)
	}
	n.metrics.observe(protoH3, resp.status, sent)
}

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
