// Package edge implements the node's transport-neutral HTTP edge: the
// request and response form the fronts translate to and from, and what is
// answered with it: serving from the cache (hits, fills, revalidation),
// ranges, conditional requests, CORS, Cache-Status, and the node's own
// assets.
//
// The fronts only translate their server's request into a Request and the
// Response back. HTTP/1.1 is fasthttp's front in package node. HTTP/2 and
// HTTP/3 share the net/http front here (Server.HTTPHandler): quic-go's
// HTTP/3 server takes a net/http handler, and HTTP/2 is net/http's own
// server (golang.org/x/net/http2 is deprecated in its favour), given the
// TLS port's connections that chose h2 by ALPN (see node/h2.go). Nothing
// else here knows a transport. The package opens no listener and starts no
// goroutine of its own beyond what the cache does for a fill.
//
// A hit on a plain GET must stay allocation-free: the Exchange is pooled
// and a prepared Memo is replayed (see Server.Serve).
package edge
