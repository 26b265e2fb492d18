// Package node wires an edgeswarm node together and owns everything that
// touches the outside: configuration, listeners (HTTP/1.1 through fasthttp,
// HTTP/2 on the TLS port by ALPN through net/http (h2.go),
// HTTP/3 through quic-go, the admin port), TLS, metrics and shutdown.
//
// The HTTP edge (serving from the cache, ranges, conditionals, CORS) is
// package edge; the HTTP/1.1 front here (front.go) only translates
// fasthttp's request and response to and from its form, and HTTP/2 and
// HTTP/3 use the edge's net/http front. Only this package
// wires the others together, and only it opens listeners.
//
// A public connection has a minute to send each request and may sit idle a
// minute between requests; its deadlines may fire up to a second late, so
// that a busy keep-alive connection does not re-arm timers on every request
// (see lazyDeadlineConn). On Linux its socket is read and written without
// the runtime's blocking-syscall handoff, large writes take turns with
// other viewers, and the kernel holds at most 256 KiB of a response it has
// not sent yet (see directConn). The public listener retries accepts that
// fail for lack of file descriptors, caps connections per client address
// and sheds idle ones near the descriptor limit (see guardListener).
//
// The admin port carries the control API of package control (control.go
// mounts it behind the admin token); a reload (POST /api/v1/reload or
// SIGHUP) builds the parts that change live (the origin client, the edge)
// before it swaps them in, and changes nothing when the file is bad.
//
// Every start-up failure is an error naming what failed and the key or
// flag; Main prints it on one line. Only Main writes to the terminal.
package node
