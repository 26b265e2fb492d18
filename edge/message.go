package edge

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/edgeswarm/edgeswarm/cache"
)

// Request is the transport-neutral form of a viewer request. The fronts
// (fasthttp for HTTP/1.1, net/http for HTTP/2 and HTTP/3) fill it; the proxy logic
// exists once, here. The strings may alias the front's buffers and need
// to live only until the front has sent the response: the cache copies
// what it keeps.
type Request struct {
	Method   string
	Path     string // raw, as sent: the origin side normalises it
	RawQuery string
	Host     string

	Range           string
	IfRange         string
	IfNoneMatch     string
	IfModifiedSince string
	AcceptEncoding  string
	Origin          string
	ACRHeaders      string // Access-Control-Request-Headers (preflight)
	Authorization   bool   // an Authorization header is present

	// Headers yields every request header, for the end-to-end headers sent
	// to the origin on a miss (collected only then: hits do not pay).
	Headers HeaderLister
	// Body is the request body of an unsafe method (POST, PUT, ...),
	// already bounded by the front.
	Body []byte

	router Router // set by Serve, for ContentKey
}

var _ cache.ContentKeySource = (*Request)(nil)

// ContentKey returns the request's content key (asked for on a miss only).
func (r *Request) ContentKey() string { return r.router.Key(r.Host, r.Path, r.RawQuery) }

// HeaderLister lists a front's request headers; f is called once per field.
type HeaderLister interface {
	EachHeader(f func(name, value string))
}

var _ cache.HeaderSource = (*Request)(nil)

// ForwardHeaders returns the viewer's end-to-end headers, plus Host (never
// sent upstream; the origin side reads it for keys when keep_host is on).
func (r *Request) ForwardHeaders() []cache.Header {
	out := []cache.Header{{Name: "Host", Value: r.Host}}
	if r.Headers == nil {
		return out
	}
	conn := ""
	r.Headers.EachHeader(func(name, value string) {
		if strings.EqualFold(name, "Connection") {
			conn += value + ","
		}
	})
	r.Headers.EachHeader(func(name, value string) {
		if forwardable(name, conn) {
			out = append(out, cache.Header{Name: name, Value: value})
		}
	})
	return out
}

// Response is the transport-neutral answer. Exactly one of Body and Stream
// is used; Body is shared and immutable (fronts send it without copying).
type Response struct {
	Status int
	Header []cache.Header
	Body   []byte
	Stream io.Reader
	Length int64 // Content-Length; -1 for unknown (chunked)
	NoBody bool  // HEAD: headers (with length) only
	// Memo, when set, is the prepared answer this response replays; the
	// front may keep its own form of it there (see Memo.Front).
	Memo *Memo

	entry   *cache.Entry
	lookupR cache.Result
}

// Memo is a prepared answer to the common request: a plain GET or HEAD
// hit on a complete 200 object. Headers change only once a second (Age),
// so each entry keeps one per variant and second, and a hit replays it
// instead of building its headers again.
type Memo struct {
	sec    int64
	Header []cache.Header // read-only
	body   []byte
	// Front is the front's own form of Header, built on first use (one
	// concrete type per front).
	Front atomic.Value
}

// memoSet is what an entry's Aux slot holds: one memo per variant.
type memoSet struct {
	plain, gzip atomic.Pointer[Memo]
}

func (m *memoSet) slot(gz bool) *atomic.Pointer[Memo] {
	if gz {
		return &m.gzip
	}
	return &m.plain
}

func memoSetOf(e *cache.Entry) *memoSet {
	aux := e.Aux()
	if m, ok := aux.Load().(*memoSet); ok {
		return m
	}
	aux.CompareAndSwap(nil, &memoSet{})
	return aux.Load().(*memoSet)
}

func (r *Response) add(name, value string) {
	r.Header = append(r.Header, cache.Header{Name: name, Value: value})
}

// Exchange is one request's working state, pooled: a hit allocates
// nothing of its own.
type Exchange struct {
	Req  Request
	creq cache.Request
	resp Response
}

var exchanges = sync.Pool{New: func() any { return new(Exchange) }}

// NewExchange returns a pooled, empty exchange.
func NewExchange() *Exchange { return exchanges.Get().(*Exchange) }

// Release returns x to the pool once its front has sent the response.
// Nothing it holds outlives that: the cache copies the request it keeps,
// a memo owns its header slice, and a streamed body has its own reader.
func (x *Exchange) Release() {
	*x = Exchange{}
	exchanges.Put(x)
}

// notForwarded are the headers that never cross a proxy (RFC 9110 7.6.1),
// plus those the node handles itself and must not forward.
var notForwarded = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "proxy-authenticate": true,
	"proxy-authorization": true, "te": true, "trailer": true, "transfer-encoding": true,
	"upgrade": true, "host": true, "range": true, "if-range": true, "if-none-match": true,
	"if-modified-since": true, "if-match": true, "if-unmodified-since": true,
	"accept-encoding": true, "content-length": true,
}

// forwardable reports whether a request header goes to the origin;
// connection lists the tokens of the request's Connection headers.
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
const exposeHeaders = "Age, Cache-Status, Content-Length, Content-Range, ETag, Edgeswarm-Swarm, Edgeswarm-Ticket, Edgeswarm-Swarms"
