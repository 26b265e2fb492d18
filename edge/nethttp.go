package edge

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The net/http front: HTTP/2 (net/http's server on the node's TLS
// connections that chose h2) and HTTP/3 (quic-go) both hand the edge a
// net/http request, so one translation serves both. The HTTP/1.1 front is
// fasthttp's, in package node.

// httpHeaders lists a net/http request's headers for the edge.
type httpHeaders http.Request

func (r *httpHeaders) EachHeader(f func(name, value string)) {
	for name, vs := range r.Header {
		for _, v := range vs {
			f(name, v)
		}
	}
}

var _ HeaderLister = (*httpHeaders)(nil)

// HTTPHandler returns the edge as a net/http handler. A request body over
// maxBody bytes (POST, PUT, PATCH to the origin) is answered 413. observe,
// when set, is told every answer's status and the body bytes sent.
func (s *Server) HTTPHandler(maxBody int64, observe func(status int, sent int64)) http.Handler {
	return HTTPHandler(s, maxBody, observe)
}

// Servant is what the net/http front serves with: a Server, or something
// that hands each exchange to one (a server swapped by a reload).
type Servant interface {
	Serve(ctx context.Context, x *Exchange) *Response
}

var _ Servant = (*Server)(nil)

// HTTPHandler is Server.HTTPHandler over any Servant.
func HTTPHandler(s Servant, maxBody int64, observe func(status int, sent int64)) http.Handler {
	return HTTPHandlerTimed(s, maxBody, observe, nil)
}

// HTTPHandlerTimed is HTTPHandler that also tells header, when set, how
// long each answer took from the handler's start to its header. Timing
// here rather than in a wrapping ResponseWriter saves the front an
// allocation per request: a wrapper handed to net/http as an interface
// escapes to the heap.
func HTTPHandlerTimed(s Servant, maxBody int64, observe func(status int, sent int64), header func(time.Duration)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var start time.Time
		if header != nil {
			start = time.Now()
		}
		x := NewExchange()
		defer x.Release()
		x.Req = Request{
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
			Headers:         (*httpHeaders)(r),
		}
		if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil || int64(len(body)) > maxBody {
				if header != nil {
					header(time.Since(start))
				}
				http.Error(w, "request body too large or cut short", http.StatusRequestEntityTooLarge)
				if observe != nil {
					observe(http.StatusRequestEntityTooLarge, 0)
				}
				return
			}
			x.Req.Body = body
		}
		resp := s.Serve(r.Context(), x)
		h := w.Header()
		for _, hd := range resp.Header {
			h.Add(hd.Name, hd.Value)
		}
		if resp.Length >= 0 {
			h.Set("Content-Length", strconv.FormatInt(resp.Length, 10))
		}
		if _, ok := h["Content-Type"]; !ok {
			h["Content-Type"] = nil // as from the origin: none, not a sniffed one
		}
		if header != nil {
			header(time.Since(start))
		}
		w.WriteHeader(resp.Status)
		var sent int64
		switch {
		case resp.NoBody:
		case resp.Stream != nil:
			var err error
			if sent, err = copyFlushing(w, resp.Stream); err != nil {
				if observe != nil {
					observe(resp.Status, sent)
				}
				// The fill failed after the answer had started: reset the
				// stream, so the viewer sees a cut, never a short body
				// that looks whole.
				panic(http.ErrAbortHandler)
			}
		default:
			m, _ := w.Write(resp.Body)
			sent = int64(m)
		}
		if observe != nil {
			observe(resp.Status, sent)
		}
	})
}

// copyFlushing sends a body that is still filling: each piece as soon as
// it reaches the node, as the HTTP/1.1 front does with chunks (net/http
// would hold small pieces in its write buffer). The error is the body's,
// nil at its end; a viewer gone is not one.
func copyFlushing(w http.ResponseWriter, r io.Reader) (int64, error) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	var sent int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			m, werr := w.Write(buf[:k])
			sent += int64(m)
			if werr != nil {
				return sent, nil
			}
			_ = rc.Flush()
		}
		if err == io.EOF {
			return sent, nil
		}
		if err != nil {
			return sent, err
		}
	}
}
