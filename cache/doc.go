// Package cache implements the node's in-memory object store.
//
// Live-window objects (segments referenced by a live playlist, live
// playlists themselves and every fill in flight) live in an always-admit
// store bounded by the playlists; everything else (VOD, DVR leftovers)
// lives in a ristretto cache with byte costs. One origin request per key:
// concurrent misses share one fill, and the fill's bytes stream to every
// waiter as they arrive.
//
// The origin side decides what may be stored and for how long (RFC 9111);
// the cache acts on it: a stale stored object is revalidated in its key's
// one fill (a conditional request; a 304 keeps the body with updated
// headers), may be served while that runs or when the origin fails where
// the origin allowed it, and keeps each Vary variant under its own key. An answer that may not be
// stored passes through to the viewer that asked, hashed on the way, and
// is never shared with another viewer, not even one that joined its fill.
//
// Config.Size bounds the stores and the fills in flight together. A fill
// whose declared size does not fit is not kept either and goes the same
// way, and is not even buffered: its viewer reads the origin's body as it
// arrives (budget.go).
//
// The cache never imports package origin; it defines the Fetcher it needs.
package cache
