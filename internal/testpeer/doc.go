// Package testpeer is a viewer written in Go, for tests and benchmarks:
// the client side of both edgeswarm protocols (signaling and peer frames
// over a pion WebRTC DataChannel). It joins a swarm over any signaling
// connection that satisfies Conn (an in-process fake, the node's tracker,
// or a WebSocket adapter), offers to the peers the tracker lists, fetches
// segments by sequence or key, accepts pushes, verifies every segment
// against the digests the tracker published and counts verified bytes as
// seed or p2p like the browser client does. It can also serve what it
// holds to other peers.
//
// It is a test tool: simple and strict (any protocol error closes the
// connection and is reported by Err), not a production client. It never
// opens listeners of its own besides the ICE sockets of its pion API.
package testpeer
