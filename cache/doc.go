// Package cache implements the node's in-memory object store.
//
// Live-window objects (segments referenced by a live playlist, live
// playlists themselves and every fill in flight) live in an always-admit
// store bounded by the playlists; everything else (VOD, DVR leftovers)
// lives in a ristretto cache with byte costs. One origin request per key:
// concurrent misses share one fill, and the fill's bytes stream to every
// waiter as they arrive.
//
// The cache never imports package origin; it defines the Fetcher it needs.
package cache
