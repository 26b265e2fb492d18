// Package origin is the node's upstream side: it maps public paths to the
// configured origins (and to nothing else: never an open proxy), fetches
// objects with the viewer's end-to-end headers, understands HLS playlists
// well enough to classify them, derive their TTL and list the segments of a
// live window, and computes content keys.
//
// It satisfies cache.Fetcher; it never imports the cache's internals.
package origin
