package cache

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// entryOverhead is what an entry costs beyond its body and key: the struct,
// its headers and bookkeeping. It keeps the byte budget honest for many
// small objects.
const entryOverhead = 512

// ErrFillAborted is returned to a reader whose fill failed after the
// response had started: the viewer gets a truncated body, never a wrong one.
var ErrFillAborted = errors.New("cache: origin fill aborted")

// Entry is one cached object. Its metadata never changes once the entry is
// visible; its body grows while the fill runs and is immutable after.
type Entry struct {
	key     string
	ckey    string // content key (P2P identity)
	kind    Kind
	status  int
	header  []Header
	stored  time.Time
	expires time.Time
	ttl     time.Duration
	age     time.Duration // age when it arrived
	size    int64         // declared size, -1 when unknown
	store   bool
	swr     time.Duration
	sie     time.Duration
	noStale bool
	// vary names the request headers the entry varies on and varyVals
	// their normalised values in the request that filled it.
	vary, varyVals []string
	// partTarget and hints: see Object.
	partTarget time.Duration
	hints      []string

	mu      sync.Mutex
	body    []byte
	done    bool
	err     error
	changed chan struct{} // closed and replaced whenever body grows or the fill ends
	sum     [sha256.Size]byte
	hasher  hash.Hash

	gzOnce sync.Once
	gz     []byte
	etag   string

	aux atomic.Value

	// pass is set on an entry whose fill streams through (see budget.go):
	// the cache never holds its body, so it is read once, and the entry
	// completes only when Wait read it whole for its caller.
	pass *passBody
	// swarms names the swarms of a manifest with several (Object.Swarms).
	swarms []string
}

// Swarms returns the swarms of a manifest that holds several (a DASH MPD),
// nil for anything else.
func (e *Entry) Swarms() []string { return e.swarms }

// Aux is a slot for what a consumer derives from the entry and wants to
// keep as long as the entry lives (the HTTP front keeps prepared response
// headers there). The cache never reads it. Store one concrete type only.
func (e *Entry) Aux() *atomic.Value { return &e.aux }

func newEntry(req *Request, obj *Object, now time.Time) *Entry {
	e := &Entry{
		key:     req.Key,
		ckey:    req.ContentKey,
		kind:    obj.Kind,
		status:  obj.Status,
		header:  obj.Header,
		stored:  now,
		expires: now.Add(obj.TTL - obj.Age),
		ttl:     obj.TTL,
		age:     obj.Age,
		size:    obj.Size,
		store:   obj.Store,
		swr:     obj.StaleWhileRevalidate,
		sie:     obj.StaleIfError,
		noStale: obj.NoStale,
		changed: make(chan struct{}),
		// LL-HLS (see Object)
		partTarget: obj.PartTarget,
		hints:      obj.Hints,
		hasher:     sha256.New(),
	}
	if e.ckey == "" {
		e.ckey = e.key
	}
	for _, sw := range obj.Swarms {
		e.swarms = append(e.swarms, sw.Swarm)
	}
	if len(obj.Vary) > 0 {
		e.vary = obj.Vary
		e.varyVals = varyValues(obj.Vary, req.Header)
	}
	return e
}

// revalidated returns the entry that replaces old after a 304: old's body,
// digest and tag with the updated headers and freshness of obj.
func revalidated(old *Entry, req *Request, obj *Object, now time.Time) *Entry {
	e := newEntry(req, obj, now)
	e.status, e.kind = old.status, old.kind
	body, _ := old.Complete()
	e.body, e.size, e.sum, e.done, e.hasher = body, int64(len(body)), old.sum, true, nil
	if e.etag = e.HeaderValue("ETag"); e.etag == "" {
		e.etag = old.ETag()
	}
	close(e.changed)
	return e
}

// varyValues returns, for each name, the normalised value of that request
// header: every field line of it joined by ", ", with the whitespace
// around list commas removed (RFC 9111 4.1 allows this normalisation).
func varyValues(names []string, hs []Header) []string {
	out := make([]string, len(names))
	for i, n := range names {
		var b []byte
		for _, h := range hs {
			if !equalFold(h.Name, n) {
				continue
			}
			for part := range splitComma(h.Value) {
				if len(b) > 0 {
					b = append(b, ',')
				}
				b = append(b, part...)
			}
		}
		out[i] = string(b)
	}
	return out
}

func splitComma(v string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(v) > 0 {
			i := 0
			for i < len(v) && v[i] != ',' {
				i++
			}
			part := trimOWS(v[:i])
			if part != "" && !yield(part) {
				return
			}
			if i == len(v) {
				return
			}
			v = v[i+1:]
		}
	}
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// matches reports whether the entry may answer a request with these
// headers (its Vary values agree).
func (e *Entry) matches(hs []Header) bool {
	got := varyValues(e.vary, hs)
	for i := range got {
		if got[i] != e.varyVals[i] {
			return false
		}
	}
	return true
}

// ContentKey returns the P2P identity of the object.
func (e *Entry) ContentKey() string { return e.ckey }

// Age returns the object's age at now: its age on arrival plus the time
// the node has held it (RFC 9111 4.2.3).
func (e *Entry) Age(now time.Time) time.Duration { return e.age + max(now.Sub(e.stored), 0) }

// Stores reports whether the object may be reused for other requests.
func (e *Entry) Stores() bool { return e.store }

// keep is how long past its freshness a stored object is kept: for
// revalidation (when it has validators), stale-while-revalidate,
// stale-if-error and the node's own grace.
func (e *Entry) keep(grace time.Duration) time.Duration {
	k := max(grace, e.swr, e.sie)
	if e.HeaderValue("ETag") != "" || e.HeaderValue("Last-Modified") != "" {
		k = max(k, revalidateKeep)
	}
	return k
}

// revalidateKeep is how long a stale object with validators is kept for a
// conditional request after it expired.
const revalidateKeep = 10 * time.Minute

// Key returns the HTTP cache key.
func (e *Entry) Key() string { return e.key }

// Kind returns the object's kind.
func (e *Entry) Kind() Kind { return e.kind }

// Status returns the origin's status code.
func (e *Entry) Status() int { return e.status }

// Header returns the stored response headers. Callers must not modify them.
func (e *Entry) Header() []Header { return e.header }

// HeaderValue returns the first stored header named name (case-insensitive).
func (e *Entry) HeaderValue(name string) string {
	for _, h := range e.header {
		if equalFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// Stored returns when the entry was stored.
func (e *Entry) Stored() time.Time { return e.stored }

// Expires returns when the entry stops being fresh.
func (e *Entry) Expires() time.Time { return e.expires }

// TTL returns the freshness lifetime the entry was stored with.
func (e *Entry) TTL() time.Duration { return e.ttl }

// Size returns the body length: the final one when complete, else the
// declared one (-1 when the origin did not say).
func (e *Entry) Size() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done && e.err == nil {
		return int64(len(e.body))
	}
	return e.size
}

// Complete returns the whole body once the fill has finished successfully.
// The slice is shared and immutable: callers must not write to it.
func (e *Entry) Complete() ([]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done && e.err == nil {
		return e.body, true
	}
	return nil, false
}

// Digest returns the SHA-256 of the body once the fill has finished.
func (e *Entry) Digest() ([sha256.Size]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sum, e.done && e.err == nil
}

// ETag returns the entity tag of a complete entry: the origin's, or one
// derived from the body's digest for 200 answers. "" while filling.
func (e *Entry) ETag() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.etag
}

// Wait blocks until the fill has finished and returns the whole body. The
// body of an entry that streams through (Lookup.Uncached) is read from the
// origin here, and the entry holds it from then on.
func (e *Entry) Wait(ctx context.Context) ([]byte, error) {
	if p := e.pass; p != nil {
		switch by, ok := p.take(passWhole); {
		case ok:
			// The caller needs it whole: it holds the bytes, the cache
			// does not (no store has this entry).
			body, err := io.ReadAll(p)
			e.keepWhole(body, err)
		case by == passStream:
			return nil, ErrFillAborted
		}
	}
	for {
		e.mu.Lock()
		done, err, body, ch := e.done, e.err, e.body, e.changed
		e.mu.Unlock()
		if done {
			if err != nil {
				return nil, err
			}
			return body, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Gzip returns the body gzip-compressed, computed once. Only for complete
// entries; callers decide whether it is worth it (playlists).
func (e *Entry) Gzip() []byte {
	body, ok := e.Complete()
	if !ok {
		return nil
	}
	e.gzOnce.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, _ = zw.Write(body)
		_ = zw.Close()
		e.mu.Lock() // cost reads it while the entry is put away
		e.gz = b.Bytes()
		e.mu.Unlock()
	})
	return e.gz
}

// NewReader returns a reader of the body from its start. While the fill
// runs it blocks for bytes that have not arrived yet; it returns io.EOF
// after the last byte, or ErrFillAborted when the fill failed. The body of
// an entry that streams through (Lookup.Uncached) can be read only once,
// unless Wait read it.
func (e *Entry) NewReader(ctx context.Context) io.Reader {
	if p := e.pass; p != nil {
		switch by, ok := p.take(passStream); {
		case ok:
			return p
		case by == passStream:
			return errReader{errPassTaken}
		}
		// Wait has it: read what it keeps in the entry.
	}
	return &entryReader{e: e, ctx: ctx}
}

type entryReader struct {
	e   *Entry
	ctx context.Context
	off int
}

func (r *entryReader) Read(p []byte) (int, error) {
	for {
		r.e.mu.Lock()
		body, done, err, ch := r.e.body, r.e.done, r.e.err, r.e.changed
		r.e.mu.Unlock()
		if r.off < len(body) {
			n := copy(p, body[r.off:])
			r.off += n
			return n, nil
		}
		if done {
			if err != nil {
				return 0, ErrFillAborted
			}
			return 0, io.EOF
		}
		select {
		case <-ch:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

// write appends fill bytes and wakes readers.
func (e *Entry) write(p []byte) {
	e.hasher.Write(p)
	e.mu.Lock()
	e.body = append(e.body, p...)
	ch := e.changed
	e.changed = make(chan struct{})
	e.mu.Unlock()
	close(ch)
}

// finish ends the fill. On success the body is trimmed to its length so
// the byte budget counts what is really held.
func (e *Entry) finish(err error) {
	e.mu.Lock()
	if err == nil {
		if cap(e.body)-len(e.body) > len(e.body)/8 {
			e.body = append([]byte(nil), e.body...)
		}
		e.hasher.Sum(e.sum[:0])
		e.setETagLocked()
	}
	e.hasher = nil
	e.done = true
	e.err = err
	ch := e.changed
	e.mu.Unlock()
	close(ch)
}

// setETagLocked sets the entity tag of a completed body: the origin's, or
// one derived from the digest for 200 answers.
func (e *Entry) setETagLocked() {
	if e.etag = e.HeaderValue("ETag"); e.etag == "" && e.status == 200 {
		e.etag = `"` + hex.EncodeToString(e.sum[:12]) + `"`
	}
}

// keepWhole completes a streamed-through entry with the body Wait read
// from the origin for its caller (err when that failed): the entry then
// answers Complete, Digest, ETag and Gzip like a completed one, for as
// long as that caller keeps it. No store holds it.
func (e *Entry) keepWhole(body []byte, err error) {
	p := e.pass
	p.mu.Lock()
	sum := p.sum
	p.mu.Unlock()
	e.mu.Lock()
	if err != nil {
		e.err = ErrFillAborted
	} else {
		e.body, e.sum = body, sum
		e.setETagLocked()
	}
	e.hasher = nil
	e.done = true
	ch := e.changed
	e.mu.Unlock()
	close(ch)
}

func (e *Entry) filling() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.done
}

// held is what the body holds now (its capacity).
func (e *Entry) held() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return int64(cap(e.body))
}

// cost is what the entry counts against the byte budget.
func (e *Entry) cost() int64 {
	e.mu.Lock()
	n := int64(cap(e.body)) + int64(len(e.gz))
	e.mu.Unlock()
	return n + int64(len(e.key)) + entryOverhead
}

func (e *Entry) fresh(now time.Time) bool { return now.Before(e.expires) }

// servableWhileRevalidating reports whether the stale entry may be served
// while a revalidation runs (stale-while-revalidate).
func (e *Entry) servableWhileRevalidating(now time.Time) bool {
	return !e.noStale && e.swr > 0 && now.Before(e.expires.Add(e.swr))
}

// servableOnError reports whether the stale entry may stand in for a
// failed origin: within stale-if-error or the node's grace, unless the
// origin forbade stale answers.
func (e *Entry) servableOnError(now time.Time, grace time.Duration) bool {
	return !e.noStale && now.Before(e.expires.Add(max(e.sie, grace)))
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
