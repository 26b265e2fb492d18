// Package origin is the node's upstream side: it maps public paths to the
// configured origins (and to nothing else: never an open proxy), fetches
// objects with the viewer's end-to-end headers (and revalidates stored ones
// with conditional requests), decides from the origin's headers whether an
// answer may be stored and how long it stays fresh (RFC 9111, RFC 9213,
// RFC 5861; ttl.go; Cacheability tells tools the same decision),
// understands HLS playlists well enough to classify them, bound their
// freshness and list the segments of a live window, and computes the two
// keys: the HTTP cache key (what may be served to whom) and the content
// key (what bytes are the same for a swarm).
//
// It satisfies cache.Fetcher; it never imports the cache's internals.
package origin
