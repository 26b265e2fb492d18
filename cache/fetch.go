package cache

import (
	"context"
	"io"
	"time"
)

// Kind says what an object is, as far as caching is concerned. The fetcher
// decides it (it understands playlists); the cache only acts on it.
type Kind uint8

const (
	// KindOther is anything that is neither a playlist nor a media segment.
	KindOther Kind = iota
	// KindSegment is a media segment (or init segment, key, subtitle chunk).
	KindSegment
	// KindMasterPlaylist is an HLS multivariant playlist.
	KindMasterPlaylist
	// KindLivePlaylist is a media playlist without ENDLIST: it slides.
	KindLivePlaylist
	// KindVODPlaylist is a media playlist with ENDLIST: it never changes.
	KindVODPlaylist
)

func (k Kind) String() string {
	switch k {
	case KindSegment:
		return "segment"
	case KindMasterPlaylist:
		return "master"
	case KindLivePlaylist:
		return "live"
	case KindVODPlaylist:
		return "vod"
	default:
		return "other"
	}
}

// IsPlaylist reports whether k is any kind of playlist.
func (k Kind) IsPlaylist() bool {
	return k == KindMasterPlaylist || k == KindLivePlaylist || k == KindVODPlaylist
}

// Header is one response or request header field. A slice keeps order and
// duplicates and costs one allocation.
type Header struct {
	Name, Value string
}

// Request is what the cache asks its Fetcher for on a miss.
type Request struct {
	// Method is the request method; "" means GET. Only the edge sends
	// others (unsafe methods passed through, never through the cache).
	Method string
	// Body is the request body of an unsafe method.
	Body []byte
	// Key is the content key: the identity of the object in the cache.
	Key string
	// Path is the request path as the viewer sent it (not the key).
	Path string
	// RawQuery is the viewer's query string, forwarded unchanged.
	RawQuery string
	// Header holds the viewer's end-to-end request headers (Authorization,
	// Cookie, ...), forwarded unchanged. Hop-by-hop headers are already gone.
	Header []Header
	// Forward, when set, produces Header. The cache asks it only when it
	// starts a fill, so hits never pay for collecting headers.
	Forward HeaderSource
	// ContentKey is the P2P identity of the object (what bytes are the
	// same for a swarm); "" means Key, or what Forward says when it is a
	// ContentKeySource. Swarm indexes and digests use it.
	ContentKey string
	// Now, when set, is the time of the lookup as the caller's clock (the
	// cache's own) read it: a caller that needs the time anyway saves the
	// cache a clock read on the hit path.
	Now time.Time
	// Authorized is set when the viewer's request carries Authorization:
	// its answer is stored only when the origin allows it (Object.Store).
	Authorized bool

	// Set by the cache on a revalidation: the stored object's headers and
	// body. The Fetcher sends a conditional request from the validators
	// in StoredHeader and, on 304, answers with Status 304 and the stored
	// headers updated from the 304's (RFC 9111 4.3.4).
	StoredHeader []Header
	StoredBody   []byte
	StoredStatus int
}

// HeaderSource produces the request headers to forward on a miss.
type HeaderSource interface {
	ForwardHeaders() []Header
}

// ContentKeySource, when a HeaderSource also implements it, produces
// Request.ContentKey on a miss (when it is empty), so that hits never pay
// for computing it.
type ContentKeySource interface {
	ContentKey() string
}

// Object is the origin's answer. Body streams: the cache copies it into the
// entry as it arrives and lets every waiter read what has arrived so far.
type Object struct {
	// Status is the origin's HTTP status code.
	Status int
	// Header holds the response headers worth replaying to viewers
	// (Content-Type, ETag, Last-Modified, Cache-Control, ...).
	Header []Header
	// Kind classifies the object (see Kind).
	Kind Kind
	// Store says whether the object may be kept and reused (RFC 9111 3).
	Store bool
	// TTL is the freshness lifetime. A stored object with TTL 0 (or less
	// than Age) is stale at once: it is revalidated before each reuse.
	TTL time.Duration
	// Age is the object's age when it arrived (the origin's Age header).
	Age time.Duration
	// StaleWhileRevalidate and StaleIfError are how long past freshness
	// the object may be served while a revalidation runs, or when the
	// origin fails (RFC 5861). NoStale forbids serving it stale at all
	// (no-cache, must-revalidate, proxy-revalidate, s-maxage).
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	NoStale              bool
	// Vary lists the request header names (lower case) the answer varies
	// on: a stored object is reused only for requests whose values of
	// them match the request that filled it.
	Vary []string
	// Window lists, for a live media playlist, the content keys of the
	// segments it references: they stay in the always-admit live store
	// while any live playlist references them.
	Window []string
	// Media lists, for any media playlist (live or VOD), the content keys
	// of its media segments in order: Media[i] has media sequence
	// MediaSequence+i. It names the segments of the playlist's swarm.
	Media         []string
	MediaSequence uint64
	// Swarms, when set, replaces Media for a manifest that holds several
	// swarms (a DASH MPD: one per Representation). Each names its swarm
	// and lists its segments as Media does, and its init segments.
	Swarms []SwarmMedia
	// PartTarget is a live LL-HLS media playlist's part target: the edge
	// holds a blocking reload of it for at most three times that.
	PartTarget time.Duration
	// Hints lists a live LL-HLS media playlist's preload hints (public
	// references, query included): objects the origin serves next.
	Hints []string
	// Size is the body length when known, else -1.
	Size int64
	// Body is the body; the cache closes it.
	Body io.ReadCloser
}

// SwarmMedia is one swarm of a manifest: its name (a content key), its
// media segments in order (Media[i] has sequence MediaSequence+i) and its
// init segments.
type SwarmMedia struct {
	Swarm         string
	Media         []string
	MediaSequence uint64
	Init          []string
}

// Fetcher fills the cache on a miss. It is defined here, by its consumer;
// package origin satisfies it.
type Fetcher interface {
	Fetch(ctx context.Context, req *Request) (*Object, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, req *Request) (*Object, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context, req *Request) (*Object, error) { return f(ctx, req) }
