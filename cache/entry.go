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
	kind    Kind
	status  int
	header  []Header
	stored  time.Time
	expires time.Time
	ttl     time.Duration
	size    int64 // declared size, -1 when unknown

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
	// its body is never held, so it is read once and never completes.
	pass *passBody
}

// Aux is a slot for what a consumer derives from the entry and wants to
// keep as long as the entry lives (the HTTP front keeps prepared response
// headers there). The cache never reads it. Store one concrete type only.
func (e *Entry) Aux() *atomic.Value { return &e.aux }

func newEntry(key string, obj *Object, now time.Time) *Entry {
	e := &Entry{
		key:     key,
		kind:    obj.Kind,
		status:  obj.Status,
		header:  obj.Header,
		stored:  now,
		expires: now.Add(obj.TTL),
		ttl:     obj.TTL,
		size:    obj.Size,
		changed: make(chan struct{}),
		hasher:  sha256.New(),
	}
	return e
}

// Key returns the content key.
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

// Wait blocks until the fill has finished and returns the whole body.
func (e *Entry) Wait(ctx context.Context) ([]byte, error) {
	if e.pass != nil {
		// The caller needs it whole: it holds the bytes, the cache does not.
		body, err := io.ReadAll(e.pass.reader())
		if err != nil {
			return nil, ErrFillAborted
		}
		return body, nil
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
		e.gz = b.Bytes()
	})
	return e.gz
}

// NewReader returns a reader of the body from its start. While the fill
// runs it blocks for bytes that have not arrived yet; it returns io.EOF
// after the last byte, or ErrFillAborted when the fill failed. The body of
// an entry that streams through (Lookup.Uncached) can be read only once.
func (e *Entry) NewReader(ctx context.Context) io.Reader {
	if e.pass != nil {
		return e.pass.reader()
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
		if e.etag = e.HeaderValue("ETag"); e.etag == "" && e.status == 200 {
			e.etag = `"` + hex.EncodeToString(e.sum[:12]) + `"`
		}
	}
	e.hasher = nil
	e.done = true
	e.err = err
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
