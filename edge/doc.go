// Package edge implements the node's transport-neutral HTTP edge: the
// request and response form the fronts translate to and from, and what is
// answered with it: serving from the cache (hits, fills, revalidation),
// ranges, conditional requests, CORS, Cache-Status, and the node's own
// assets.
//
// The HTTP/1.1 and HTTP/3 fronts in package node only translate their
// server's request into a Request and the Response back; nothing here
// knows a transport. The package opens no listener and starts no
// goroutine of its own beyond what the cache does for a fill.
//
// A hit on a plain GET must stay allocation-free: the Exchange is pooled
// and a prepared Memo is replayed (see Server.Serve).
package edge
