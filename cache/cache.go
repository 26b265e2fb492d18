package cache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Config configures a Cache.
type Config struct {
	// Size bounds the bytes held by all stores together.
	Size int64
	// StaleGrace is how long an expired object may still be served when the
	// origin fails (stale-if-error).
	StaleGrace time.Duration
	// FillTimeout bounds one origin fill, from request to last byte.
	FillTimeout time.Duration
}

// DefaultConfig returns the defaults: 1 GiB, one minute of grace, 60 s fills.
func DefaultConfig() Config {
	return Config{Size: 1 << 30, StaleGrace: time.Minute, FillTimeout: 60 * time.Second}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Size < 1<<20:
		return fmt.Errorf("cache_size: %d bytes is too small (at least 1MiB)", c.Size)
	case c.StaleGrace < 0:
		return fmt.Errorf("cache.stale_grace: must not be negative")
	case c.FillTimeout <= 0:
		return fmt.Errorf("cache.fill_timeout: must be positive")
	}
	return nil
}

// Result says how a lookup was answered.
type Result uint8

const (
	// Hit: a fresh stored object.
	Hit Result = iota
	// Miss: fetched from the origin (possibly joining another viewer's fill).
	Miss
	// Stale: the origin failed and an expired copy within grace was served.
	Stale
)

func (r Result) String() string {
	switch r {
	case Hit:
		return "hit"
	case Miss:
		return "miss"
	default:
		return "stale"
	}
}

// Lookup describes how Get answered.
type Lookup struct {
	Result Result
	// Collapsed is set on a miss that joined a fill another request started.
	Collapsed bool
	// Stored is set on a miss whose object will be kept.
	Stored bool
	// Uncached is set on a miss whose fill streams through to this caller
	// because it does not fit in the byte budget: nothing is kept, and the
	// entry's body can be read once.
	Uncached bool
	// Revalidated is set on a miss the origin answered with 304: the
	// stored object was reused with updated headers.
	Revalidated bool
	// Revalidating is set on a Stale answer served while a revalidation
	// runs (stale-while-revalidate).
	Revalidating bool
	// Err is the origin error that made a Stale answer necessary.
	Err error
}

// OriginStatusError reports an origin 5xx answer when no stale copy could
// stand in for it.
type OriginStatusError struct{ Status int }

func (e *OriginStatusError) Error() string { return fmt.Sprintf("origin answered %d", e.Status) }

// FillInfo describes a completed fill, for observers (digest publishing).
type FillInfo struct {
	Key    string
	Kind   Kind
	Status int
	Size   int
	SHA256 [sha256.Size]byte
	// Header holds the request headers the fill forwarded to the origin
	// (the viewer's), for follow-up requests made on the viewer's behalf.
	Header []Header
	// Stored is set when the object was kept: an unstored one passed
	// through to its viewer and only its digest remains.
	Stored bool
}

// Options are the optional parts of a Cache.
type Options struct {
	Log   *slog.Logger
	Clock func() time.Time
	// OnFill, when set, is called once per completed, successful fill.
	OnFill func(FillInfo)
}

// Stats is a snapshot of what the stores hold.
type Stats struct {
	LiveBytes, LiveObjects int64
	RistrettoBytes         int64
	RistrettoObjects       int64
	// Flights is the number of origin fills in flight; Waiting the number
	// of requests waiting for one of them to answer.
	Flights, Waiting int64
	// FillBytes is what the bodies of fills in flight hold. LiveBytes,
	// RistrettoBytes and FillBytes together stay within Config.Size.
	FillBytes int64
	// Uncached counts fills that streamed through without being kept
	// because they did not fit in the budget.
	Uncached uint64
}

// liveRec is an object in the always-admit store.
type liveRec struct {
	e    *Entry
	cost int64
}

// Cache is the node's object store. It is safe for concurrent use.
type Cache struct {
	cfg   Config
	fetch Fetcher
	log   *slog.Logger
	now   func() time.Time
	onFil func(FillInfo)

	rist   *ristretto.Cache[string, *Entry]
	ristMu sync.RWMutex // excludes Close from the other ristretto calls
	closed bool

	mu      sync.RWMutex
	flights map[string]*flight
	// running counts the fills in flight, those in flights and those that
	// are not (a fill for its starter only, a joiner's own request).
	running int64
	budget  budget
	// live is the always-admit store: live playlists and every segment a
	// live playlist references, plus objects whose fill is in flight.
	live      map[string]liveRec
	liveBytes int64
	// windows maps a live playlist key to the segment keys it references;
	// refs counts, per segment key, how many windows reference it.
	windows map[string][]string
	refs    map[string]int
	// media indexes the media playlists in the stores (live and VOD): the
	// segments of each, and for each segment the swarms it belongs to.
	media  map[string]mediaList
	swarms map[string][]SwarmRef
	// sources maps a manifest with several swarms (Object.Swarms) to
	// the swarms it indexed.
	sources map[string][]string
	// ckeys maps a content key to the cache key last stored under it (the
	// two differ when the cache key keeps a query the content key drops).
	ckeys map[string]string
	// vary maps a cache key whose answers vary to the request header
	// names they vary on; each variant is stored under its own key (see
	// variantKey). varyN counts its entries, so that a cache without any
	// varying answer pays nothing on a hit.
	vary  map[string][]string
	varyN atomic.Int64
	// ristKeys tracks what was handed to ristretto, so the cache can keep
	// the total under Size even while live windows grow. It has its own
	// lock because ristretto reports exits from its own goroutine and from
	// inside Set and Del: lock order is mu, then rmu; rmu is never held
	// while calling into ristretto.
	rmu       sync.Mutex
	ristKeys  map[string]ristRec
	ristBytes int64
	ristSeq   uint64

	waiting atomic.Int64
}

// SwarmRef names a media playlist (a swarm) that lists a segment, and the
// segment's media sequence in it.
type SwarmRef struct {
	Swarm string
	Seq   uint64
	// Init: the key is an init segment of the swarm, with no sequence.
	Init bool
}

type mediaList struct {
	keys []string
	seq  uint64
	init []string
}

type ristRec struct {
	e    *Entry
	cost int64
	seq  uint64
}

type flight struct {
	ready       chan struct{} // closed when e or err is set
	e           *Entry        // set under Cache.mu
	err         error
	stale       *Entry
	revalidated bool // the origin answered 304: e is stale's body, updated
	invalidated bool // an unsafe method invalidated the key: do not store
	// alias is the variant key the fill also runs under once its answer
	// turned out to vary (set under Cache.mu); "" when none.
	alias string
}

// New returns a cache that fills misses through f.
func New(cfg Config, f Fetcher, opt Options) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	c := &Cache{
		cfg:      cfg,
		fetch:    f,
		log:      opt.Log,
		now:      opt.Clock,
		onFil:    opt.OnFill,
		flights:  make(map[string]*flight),
		live:     make(map[string]liveRec),
		windows:  make(map[string][]string),
		refs:     make(map[string]int),
		media:    make(map[string]mediaList),
		swarms:   make(map[string][]SwarmRef),
		sources:  make(map[string][]string),
		ckeys:    make(map[string]string),
		vary:     make(map[string][]string),
		ristKeys: make(map[string]ristRec),
		budget:   budget{filling: make(map[*Entry]struct{})},
	}
	// About ten counters per expected object; objects are assumed to be
	// at least 16 KiB on average for sizing the admission sketch.
	counters := max(cfg.Size/(16<<10)*10, 1000)
	rist, err := ristretto.NewCache(&ristretto.Config[string, *Entry]{
		NumCounters:        counters,
		MaxCost:            cfg.Size,
		BufferItems:        64,
		IgnoreInternalCost: true,
		OnExit:             c.ristExit,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c.rist = rist
	return c, nil
}

// Close releases the ristretto goroutines. In-flight fills finish on their own.
func (c *Cache) Close() {
	c.ristMu.Lock()
	defer c.ristMu.Unlock()
	if !c.closed {
		c.closed = true
		c.rist.Close()
	}
}

// The ristretto calls go through these: ristretto must not be used while
// or after it closes, and fills may still be running when the node shuts
// down. After Close the store acts empty.

func (c *Cache) ristGet(key string) (*Entry, bool) {
	c.ristMu.RLock()
	defer c.ristMu.RUnlock()
	if c.closed {
		return nil, false
	}
	return c.rist.Get(key)
}

func (c *Cache) ristSet(e *Entry, cost int64, ttl time.Duration) bool {
	c.ristMu.RLock()
	defer c.ristMu.RUnlock()
	return !c.closed && c.rist.SetWithTTL(e.key, e, cost, ttl)
}

func (c *Cache) ristDel(key string) {
	c.ristMu.RLock()
	defer c.ristMu.RUnlock()
	if !c.closed {
		c.rist.Del(key)
	}
}

func (c *Cache) ristWait() {
	c.ristMu.RLock()
	defer c.ristMu.RUnlock()
	if !c.closed {
		c.rist.Wait()
	}
}

func (c *Cache) ristMaxCost(n int64) {
	c.ristMu.RLock()
	defer c.ristMu.RUnlock()
	if !c.closed {
		c.rist.UpdateMaxCost(n)
	}
}

// Get returns the object for req.Key, from the stores when fresh, else
// from one origin fill shared by every concurrent caller. A stored object
// that is stale is revalidated (a conditional request) in that fill. The
// returned entry may still be filling: read it with NewReader or Wait.
//
// An answer that is not kept, because the origin did not let the node
// store it or because it does not fit in the byte budget, is never shared:
// a caller that joined such a fill makes its own request.
func (c *Cache) Get(ctx context.Context, req *Request) (*Entry, Lookup, error) {
	now := req.Now
	if now.IsZero() {
		now = c.now()
	}
	if vk := c.variantKey(req); vk != req.Key {
		r := *req
		r.Key = vk
		req = &r
	}
	stale := c.lookup(req.Key)
	if stale != nil && len(stale.vary) > 0 && !stale.matches(requestHeaders(req)) {
		stale = nil // another variant: fetched, and replaces it
	}
	if stale != nil && stale.fresh(now) {
		return stale, Lookup{Result: Hit}, nil
	}
	if stale != nil && stale.servableWhileRevalidating(now) && !stale.filling() {
		c.mu.Lock()
		if f, running := c.flights[req.Key]; !running || f.e == stale {
			// (A flight that landed this very entry is not a revalidation.)
			c.startLocked(req, stale)
		}
		c.mu.Unlock()
		return stale, Lookup{Result: Stale, Revalidating: true}, nil
	}

	c.mu.Lock()
	f, joined := c.flights[req.Key]
	if joined && f.e != nil && !f.e.filling() {
		// The fill has landed and is only being put away.
		if f.e.fresh(now) && f.e.store && (len(f.e.vary) == 0 || f.e.matches(requestHeaders(req))) {
			e := f.e
			c.mu.Unlock()
			return e, Lookup{Result: Hit}, nil
		}
		joined = false // landed, but not reusable: start anew
		if f.e.store {
			stale = f.e // it may not be put away yet
			if stale.servableWhileRevalidating(now) {
				c.startLocked(req, stale)
				c.mu.Unlock()
				return stale, Lookup{Result: Stale, Revalidating: true}, nil
			}
		}
	}
	if !joined {
		// Re-check inside the flight lock: a fill may have just landed.
		if e := c.lookupLocked(req.Key); e != nil && e != stale && (len(e.vary) == 0 || e.matches(requestHeaders(req))) {
			if e.fresh(now) {
				c.mu.Unlock()
				return e, Lookup{Result: Hit}, nil
			}
			stale = e
		}
		f = c.startLocked(req, stale)
	}
	c.mu.Unlock()
	e, lk, err := c.wait(ctx, f, joined, now)
	if err == nil && joined && (!e.store || len(e.vary) > 0 && !e.matches(requestHeaders(req))) {
		// Not shareable (private, Set-Cookie, an authorized request, over
		// the budget...) or another variant: this viewer asks the origin
		// itself.
		f := &flight{ready: make(chan struct{})}
		c.mu.Lock()
		c.goFillLocked(f, cloneRequest(req))
		c.mu.Unlock()
		return c.wait(ctx, f, false, now)
	}
	return e, lk, err
}

// startLocked starts a fill for req, revalidating stale when it has
// validators.
func (c *Cache) startLocked(req *Request, stale *Entry) *flight {
	f := &flight{ready: make(chan struct{}), stale: stale}
	fr := cloneRequest(req)
	if stale != nil && !stale.filling() && (stale.HeaderValue("ETag") != "" || stale.HeaderValue("Last-Modified") != "") {
		fr.StoredHeader = stale.header
		fr.StoredBody, _ = stale.Complete()
		fr.StoredStatus = stale.status
	}
	c.flights[fr.Key] = f
	c.goFillLocked(f, fr)
	return f
}

// goFillLocked runs f's fill, counted in Stats.Flights until it has ended.
func (c *Cache) goFillLocked(f *flight, req *Request) {
	c.running++
	go func() {
		c.fill(f, req)
		c.mu.Lock()
		c.running--
		c.mu.Unlock()
	}()
}

// wait waits for f's answer.
func (c *Cache) wait(ctx context.Context, f *flight, joined bool, now time.Time) (*Entry, Lookup, error) {
	c.waiting.Add(1)
	select {
	case <-f.ready:
		c.waiting.Add(-1)
	case <-ctx.Done():
		c.waiting.Add(-1)
		return nil, Lookup{}, ctx.Err()
	}
	if f.err != nil {
		if f.stale != nil && f.stale.servableOnError(now, c.cfg.StaleGrace) {
			return f.stale, Lookup{Result: Stale, Err: f.err}, nil
		}
		return nil, Lookup{Result: Miss, Collapsed: joined}, f.err
	}
	return f.e, Lookup{Result: Miss, Collapsed: joined, Stored: f.e.store, Uncached: f.e.pass != nil, Revalidated: f.revalidated}, nil
}

// variantKey returns the key req's variant is stored under: the cache key
// itself, or, when its answers vary, the key, a NUL and the request's
// normalised values of the Vary headers joined by NULs (normalised keys
// never hold a NUL).
func (c *Cache) variantKey(req *Request) string {
	if c.varyN.Load() == 0 {
		return req.Key
	}
	c.mu.RLock()
	names := c.vary[req.Key]
	c.mu.RUnlock()
	if len(names) == 0 {
		return req.Key
	}
	return joinVariant(req.Key, varyValues(names, requestHeaders(req)))
}

func joinVariant(key string, vals []string) string {
	return key + "\x00" + strings.Join(vals, "\x00")
}

// primaryKey returns the cache key of a variant key.
func primaryKey(key string) string {
	if i := strings.IndexByte(key, 0); i >= 0 {
		return key[:i]
	}
	return key
}

// setVaryLocked records what the answers for a cache key vary on.
func (c *Cache) setVaryLocked(key string, names []string) {
	_, had := c.vary[key]
	switch {
	case len(names) > 0 && !had:
		c.varyN.Add(1)
		c.vary[key] = names
	case len(names) > 0:
		c.vary[key] = names
	case had:
		c.varyN.Add(-1)
		delete(c.vary, key)
	}
}

// requestHeaders returns the viewer's headers of req (for Vary).
func requestHeaders(req *Request) []Header {
	if req.Forward != nil {
		return req.Forward.ForwardHeaders()
	}
	return req.Header
}

// cloneRequest copies what the fill needs: the caller's strings may alias
// buffers that its HTTP server reuses once the handler returns.
func cloneRequest(r *Request) *Request {
	hs := r.Header
	if r.Forward != nil {
		hs = r.Forward.ForwardHeaders()
	}
	ckey := r.ContentKey
	if ks, ok := r.Forward.(ContentKeySource); ok && ckey == "" {
		ckey = ks.ContentKey()
	}
	cp := &Request{
		Key:        strings.Clone(r.Key),
		ContentKey: strings.Clone(ckey),
		Path:       strings.Clone(r.Path),
		RawQuery:   strings.Clone(r.RawQuery),
		Header:     make([]Header, len(hs)),
		Authorized: r.Authorized,
	}
	if cp.ContentKey == "" {
		cp.ContentKey = cp.Key
	}
	for i, h := range hs {
		cp.Header[i] = Header{Name: strings.Clone(h.Name), Value: strings.Clone(h.Value)}
	}
	return cp
}

func (c *Cache) lookup(key string) *Entry {
	c.mu.RLock()
	e := c.lookupLocked(key)
	c.mu.RUnlock()
	return e
}

func (c *Cache) lookupLocked(key string) *Entry {
	if r, ok := c.live[key]; ok {
		return r.e
	}
	if e, ok := c.ristGet(key); ok {
		return e
	}
	return nil
}

// fill runs one origin request and publishes its entry to the flight's
// waiters as soon as the headers are known, then streams the body in.
func (c *Cache) fill(f *flight, req *Request) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.FillTimeout)
	defer cancel()

	obj, err := c.fetch.Fetch(ctx, req)
	if err == nil && obj.Status >= 500 && f.stale != nil && f.stale.servableOnError(c.now(), c.cfg.StaleGrace) {
		// A stale copy may stand in; otherwise the origin's error passes
		// through to the viewer as it is.
		if obj.Body != nil {
			obj.Body.Close()
		}
		err = &OriginStatusError{Status: obj.Status}
	}
	if err != nil {
		c.endFlight(f, req.Key)
		f.err = err
		close(f.ready)
		return
	}
	if obj.Status == 304 && f.stale != nil && req.StoredHeader != nil {
		if obj.Body != nil {
			obj.Body.Close()
		}
		c.landRevalidated(f, req, obj)
		return
	}
	if obj.Body == nil {
		obj.Body = io.NopCloser(strings.NewReader(""))
	}
	defer obj.Body.Close()

	er, primary := req, primaryKey(req.Key)
	varies := len(obj.Vary) > 0 || req.Key != primary
	if varies {
		vk := primary
		if len(obj.Vary) > 0 {
			vk = joinVariant(primary, varyValues(obj.Vary, req.Header))
		}
		if vk != req.Key {
			// Stored under its variant's key; the flight keeps its own.
			r := *req
			r.Key = vk
			er = &r
		}
	}
	e := newEntry(er, obj, c.now())
	// The entry becomes visible to the flight's waiters right away. One
	// that may be shared is visible to new lookups through the flight map
	// too, which keeps it until the fill ends. One that is for its starter
	// only leaves the map at once: later requests start a fill that can be
	// shared, and those that had joined this one make their own (Get). A
	// fill that buffers its body counts against the byte budget; one whose
	// declared size does not fit is not kept and streams through
	// (budget.go).
	var reserved int64
	c.mu.Lock()
	switch {
	case obj.Size <= 0: // unknown (charged as it grows) or empty
		c.budget.filling[e] = struct{}{}
	case c.reserveFillLocked(obj.Size):
		reserved = obj.Size
		e.body = make([]byte, 0, obj.Size)
		c.budget.filling[e] = struct{}{}
	default:
		e.pass = newPassBody(obj.Body, obj.Size)
		e.store, e.hasher = false, nil
		c.budget.uncached++
	}
	f.e = e
	if varies {
		c.setVaryLocked(primary, obj.Vary)
	}
	switch {
	case !e.store:
		c.leaveFlightsLocked(f, req.Key)
	case varies && e.key != req.Key && !f.invalidated:
		// From now on lookups ask for the variant's key, and the entry is
		// stored under it only once the body is complete: until then the
		// flight must be found under that key too, else a viewer a moment
		// behind finds neither and fetches the object again.
		if _, running := c.flights[e.key]; !running {
			c.flights[e.key] = f
			f.alias = e.key
		}
	}
	c.mu.Unlock()
	close(f.ready)

	var size int
	var sum [sha256.Size]byte
	fits := true
	if p := e.pass; p != nil {
		if !passThrough(ctx, p) {
			return
		}
		p.mu.Lock()
		size, sum = int(p.n), p.sum
		p.mu.Unlock()
	} else {
		var err error
		fits, err = copyInto(e, obj.Body, func() bool { return c.chargeFill(e, &reserved) })
		if err != nil {
			// Leave the flight first so that nobody joins a failed fill.
			c.endFlight(f, req.Key)
			e.finish(err)
			c.mu.Lock()
			c.releaseFillLocked(e, reserved)
			c.mu.Unlock()
			c.log.Warn("origin fill aborted", "key", req.Key, "err", err)
			return
		}
		e.finish(nil)
		body, _ := e.Complete()
		size = len(body)
		sum, _ = e.Digest()
	}
	stored := false
	c.mu.Lock()
	if e.pass == nil {
		c.releaseFillLocked(e, reserved)
	}
	if e.store && fits && !f.invalidated && e.cost() <= c.cfg.Size {
		c.placeLocked(e, obj)
		stored = true
	} else if obj.Kind == KindLivePlaylist || obj.Kind == KindVODPlaylist {
		// Not stored, but its swarm is still known: segments that pass
		// through are hashed and their digests published to it.
		c.setSourceLocked(e.ckey, obj)
	}
	c.mu.Unlock()
	// Ristretto applies sets asynchronously; the flight stays findable until
	// the entry is, so no request falls between the two and refetches.
	c.ristWait()
	if c.onFil != nil && obj.Status == 200 {
		// After placement, so that observers see the playlist index updated.
		// A fill that was not kept is hashed all the same, so that its
		// swarm can share it.
		c.onFil(FillInfo{Key: e.ckey, Kind: e.kind, Status: e.status, Size: size, SHA256: sum, Header: req.Header, Stored: stored})
	}
	c.endFlight(f, req.Key)
}

// landRevalidated replaces the flight's stale entry after a 304.
func (c *Cache) landRevalidated(f *flight, req *Request, obj *Object) {
	e := revalidated(f.stale, req, obj, c.now())
	c.mu.Lock()
	f.e, f.revalidated = e, true
	if obj.Store && !f.invalidated {
		c.placeLocked(e, obj)
	} else {
		c.dropLocked(req.Key)
	}
	c.mu.Unlock()
	close(f.ready)
	c.ristWait()
	if c.onFil != nil && e.status == 200 && e.kind.IsPlaylist() {
		// The playlist's swarm gets the digests of its cached segments.
		c.onFil(FillInfo{Key: e.ckey, Kind: e.kind, Status: e.status, Size: len(e.body), SHA256: e.sum, Header: req.Header, Stored: obj.Store})
	}
	c.endFlight(f, req.Key)
}

func (c *Cache) endFlight(f *flight, key string) {
	c.mu.Lock()
	c.leaveFlightsLocked(f, key)
	c.mu.Unlock()
}

func (c *Cache) leaveFlightsLocked(f *flight, key string) {
	for _, k := range [2]string{key, f.alias} {
		if c.flights[k] == f {
			delete(c.flights, k)
		}
	}
}

// copyInto reads the origin body into e, calling charge after each write;
// it reports whether every charge fit in the budget.
func copyInto(e *Entry, r io.Reader, charge func() bool) (bool, error) {
	buf := make([]byte, 32<<10)
	fits := true
	for {
		n, err := r.Read(buf)
		if n > 0 {
			e.write(buf[:n])
			fits = charge() && fits
		}
		if errors.Is(err, io.EOF) {
			if e.size >= 0 && int64(len(e.body)) != e.size {
				return fits, fmt.Errorf("origin sent %d of %d bytes", len(e.body), e.size)
			}
			return fits, nil
		}
		if err != nil {
			return fits, err
		}
	}
}

// placeLocked stores a completed entry in the store its kind calls for.
func (c *Cache) placeLocked(e *Entry, obj *Object) {
	defer func() {
		if obj.Kind == KindLivePlaylist || obj.Kind == KindVODPlaylist {
			c.setSourceLocked(e.ckey, obj)
		}
	}()
	switch {
	case obj.Kind == KindLivePlaylist:
		c.setWindowLocked(e.ckey, obj.Window)
		c.putLiveLocked(e)
	case obj.Kind.IsPlaylist():
		// Playlists are tiny and hot: TinyLFU admission must never turn one
		// away, so all of them live in the always-admit store until expiry.
		c.putLiveLocked(e)
	case c.refs[e.ckey] > 0:
		c.putLiveLocked(e)
	default:
		c.putRistLocked(e)
	}
}

// byContentLocked returns the cache key of what is stored under a content key.
func (c *Cache) byContentLocked(ckey string) string {
	if k, ok := c.ckeys[ckey]; ok {
		return k
	}
	return ckey
}

func (c *Cache) putLiveLocked(e *Entry) {
	c.dropLocked(e.key)
	c.ckeys[e.ckey] = e.key
	cost := e.cost()
	c.makeRoomLocked(cost)
	c.live[e.key] = liveRec{e: e, cost: cost}
	c.liveBytes += cost
}

func (c *Cache) putRistLocked(e *Entry) {
	c.dropLocked(e.key)
	c.ckeys[e.ckey] = e.key
	cost := e.cost()
	ttl := e.expires.Sub(c.now()) + e.keep(c.cfg.StaleGrace)
	if ttl <= 0 {
		return
	}
	c.makeRoomLocked(cost)
	c.rmu.Lock()
	c.ristSeq++
	c.ristKeys[e.key] = ristRec{e: e, cost: cost, seq: c.ristSeq}
	c.ristBytes += cost
	c.rmu.Unlock()
	if !c.ristSet(e, cost, ttl) {
		c.untrackRist(e)
	}
}

// dropLocked removes key from both stores.
func (c *Cache) dropLocked(key string) {
	if r, ok := c.live[key]; ok {
		delete(c.live, key)
		c.liveBytes -= r.cost
		if r.e.kind == KindLivePlaylist || r.e.kind == KindVODPlaylist {
			c.setSourceLocked(r.e.ckey, &Object{})
		}
	}
	if e := c.ristEntry(key); e != nil {
		c.untrackRist(e)
		c.ristDel(key)
	}
}

func (c *Cache) ristEntry(key string) *Entry {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.ristKeys[key].e
}

func (c *Cache) untrackRist(e *Entry) {
	c.rmu.Lock()
	if r, ok := c.ristKeys[e.key]; ok && r.e == e {
		delete(c.ristKeys, e.key)
		c.ristBytes -= r.cost
	}
	c.rmu.Unlock()
}

// ristExit is ristretto's OnExit: a value left it (evicted, rejected,
// replaced or deleted).
func (c *Cache) ristExit(e *Entry) {
	if e != nil {
		c.untrackRist(e)
	}
}

// setSourceLocked replaces the swarm index of one playlist or manifest:
// its own swarm (Object.Media) or the several it holds (Object.Swarms).
func (c *Cache) setSourceLocked(source string, obj *Object) {
	old, had := c.sources[source]
	if len(obj.Swarms) == 0 {
		for _, sw := range old {
			c.setMediaLocked(sw, mediaList{})
		}
		delete(c.sources, source)
		c.setMediaLocked(source, mediaList{keys: obj.Media, seq: obj.MediaSequence})
		return
	}
	if !had {
		c.setMediaLocked(source, mediaList{})
	}
	names := make([]string, 0, len(obj.Swarms))
	for _, sw := range obj.Swarms {
		names = append(names, sw.Swarm)
	}
	for _, sw := range old {
		if !slices.Contains(names, sw) {
			c.setMediaLocked(sw, mediaList{})
		}
	}
	for _, sw := range obj.Swarms {
		c.setMediaLocked(sw.Swarm, mediaList{keys: sw.Media, seq: sw.MediaSequence, init: sw.Init})
	}
	c.sources[source] = names
}

// setMediaLocked replaces the segment index of one swarm.
func (c *Cache) setMediaLocked(playlist string, ml mediaList) {
	old := c.media[playlist]
	for _, k := range slices.Concat(old.keys, old.init) {
		refs := c.swarms[k][:0]
		for _, r := range c.swarms[k] {
			if r.Swarm != playlist {
				refs = append(refs, r)
			}
		}
		if len(refs) == 0 {
			delete(c.swarms, k)
		} else {
			c.swarms[k] = refs
		}
	}
	if len(ml.keys) == 0 && len(ml.init) == 0 {
		delete(c.media, playlist)
		return
	}
	c.media[playlist] = ml
	for i, k := range ml.keys {
		c.swarms[k] = append(c.swarms[k], SwarmRef{Swarm: playlist, Seq: ml.seq + uint64(i)})
	}
	for _, k := range ml.init {
		c.swarms[k] = append(c.swarms[k], SwarmRef{Swarm: playlist, Init: true})
	}
}

// SwarmsIn returns the swarms of a manifest that holds several (a DASH
// MPD in the stores), nil for anything else.
func (c *Cache) SwarmsIn(source string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.sources[source]...)
}

// InitOf returns the init segment keys of a swarm in the stores.
func (c *Cache) InitOf(swarm string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.media[swarm].init...)
}

// SwarmsOf returns the media playlists (swarms) in the stores that list the
// segment key, with its media sequence in each.
func (c *Cache) SwarmsOf(key string) []SwarmRef {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]SwarmRef(nil), c.swarms[key]...)
}

// MediaOf returns the segment keys of a media playlist in the stores and
// the media sequence of the first.
func (c *Cache) MediaOf(playlist string) ([]string, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ml := c.media[playlist]
	return append([]string(nil), ml.keys...), ml.seq
}

// setWindowLocked records the segments a live playlist references now.
// Segments that entered a window move into the live store; segments that
// left every window move out of it, to ristretto (DVR and late viewers).
func (c *Cache) setWindowLocked(playlist string, window []string) {
	old := c.windows[playlist]
	for _, k := range window {
		c.refs[k]++
	}
	if len(window) > 0 {
		c.windows[playlist] = append([]string(nil), window...)
	} else {
		delete(c.windows, playlist)
	}
	for _, k := range old {
		c.refs[k]--
		if c.refs[k] <= 0 {
			delete(c.refs, k)
			if r, ok := c.live[c.byContentLocked(k)]; ok && !r.e.kind.IsPlaylist() {
				c.putRistLocked(r.e)
			}
		}
	}
	for _, k := range window {
		k = c.byContentLocked(k)
		if _, ok := c.live[k]; ok {
			continue
		}
		if e := c.ristEntry(k); e != nil {
			c.putLiveLocked(e)
		}
	}
}

// makeRoomLocked keeps the stores under Size before cost more bytes are
// added. Ristretto runs with an eighth of headroom below what the live
// store leaves it, so it normally evicts by its own policy; objects are
// dropped here, oldest first, only when live windows grow into that room.
// Live segments themselves are trimmed only when live windows alone
// exceed Size: a misconfiguration, logged.
func (c *Cache) makeRoomLocked(cost int64) {
	for c.liveBytes+c.budget.fills+cost > c.cfg.Size-c.ristTotal() {
		if victim := c.oldestRist(); victim != nil {
			c.untrackRist(victim)
			c.ristDel(victim.key)
			continue
		}
		if c.liveBytes+cost <= c.cfg.Size {
			break // over only by fills in flight, which end on their own
		}
		var victim *Entry
		for _, r := range c.live {
			if !r.e.kind.IsPlaylist() && (victim == nil || r.e.stored.Before(victim.stored)) {
				victim = r.e
			}
		}
		if victim == nil {
			break
		}
		c.log.Warn("live windows exceed the cache size; evicting a live segment", "key", victim.key, "live_bytes", c.liveBytes, "size", c.cfg.Size)
		c.dropLocked(victim.key)
	}
	budget := c.cfg.Size - c.liveBytes - c.budget.fills - cost
	c.ristMaxCost(max(budget-budget/8, 1))
}

func (c *Cache) ristTotal() int64 {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.ristBytes
}

// oldestRist returns the object handed to ristretto longest ago.
func (c *Cache) oldestRist() *Entry {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	var victim ristRec
	for _, r := range c.ristKeys {
		if victim.e == nil || r.seq < victim.seq {
			victim = r
		}
	}
	return victim.e
}

// Sweep drops live-store objects that expired longer ago than the stale
// grace, and the windows of such playlists. The node calls it periodically.
func (c *Cache) Sweep() {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, r := range c.live {
		if !now.After(r.e.expires.Add(r.e.keep(c.cfg.StaleGrace))) {
			continue
		}
		if r.e.kind == KindLivePlaylist {
			c.setWindowLocked(r.e.ckey, nil)
		}
		if cur, ok := c.live[k]; ok && cur.e == r.e {
			c.dropLocked(k)
		}
	}
	for ck, k := range c.ckeys {
		if _, ok := c.live[k]; !ok && c.ristEntry(k) == nil {
			delete(c.ckeys, ck)
		}
	}
}

// Stats returns what the stores hold now.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return Stats{
		LiveBytes:        c.liveBytes,
		LiveObjects:      int64(len(c.live)),
		RistrettoBytes:   c.ristBytes,
		RistrettoObjects: int64(len(c.ristKeys)),
		Flights:          c.running,
		Waiting:          c.waiting.Load(),
		FillBytes:        c.fillBytesLocked(),
		Uncached:         c.budget.uncached,
	}
}

// PeekContent is Peek by content key (the P2P identity).
func (c *Cache) PeekContent(ckey string) (*Entry, bool) {
	c.mu.RLock()
	key := c.byContentLocked(ckey)
	c.mu.RUnlock()
	return c.Peek(key)
}

// Invalidate drops what is stored under a cache key and every variant of
// it (RFC 9111 4.4), and keeps fills in flight for them from storing what
// they fetched.
func (c *Cache) Invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, f := range c.flights {
		if primaryKey(k) == key {
			f.invalidated = true
			delete(c.flights, k)
		}
	}
	c.dropLocked(key)
	if _, varies := c.vary[key]; !varies {
		return
	}
	var keys []string
	for k := range c.live {
		if primaryKey(k) == key {
			keys = append(keys, k)
		}
	}
	c.rmu.Lock()
	for k := range c.ristKeys {
		if primaryKey(k) == key {
			keys = append(keys, k)
		}
	}
	c.rmu.Unlock()
	for _, k := range keys {
		c.dropLocked(k)
	}
}

// Peek returns a stored, complete entry without filling, fresh or not.
func (c *Cache) Peek(key string) (*Entry, bool) {
	e := c.lookup(key)
	if e == nil || e.filling() {
		return nil, false
	}
	return e, true
}
