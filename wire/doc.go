// Package wire defines edgeswarm's two wire protocols and nothing else:
//
//   - signaling: versioned JSON messages exchanged over the WebSocket at
//     [SignalPath] between viewers (and the node's super-peer) and the
//     node's tracker (join, welcome, peers, relay, digests, stats, ...);
//   - peer: compact big-endian binary frames exchanged over one reliable,
//     ordered WebRTC DataChannel between two peers (hello, have, request,
//     data, chunk, done, cancel, absent, busy, and push from version 2).
//
// The package holds the Go types, their encoders and decoders, and every
// limit of both protocols as an exported constant. Decoders accept
// untrusted input: they enforce the size limits first, never panic, and
// report malformed input as a typed error ([*Error] with a [Code] for
// signaling, [*FrameError] for peer frames). Encoders validate too, so a
// component can never send what its peer would reject.
//
// The protocols are specified in docs/protocol.md; golden vectors in
// testdata/ pin the exact bytes, and the browser client checks the same
// files. Package wire performs no I/O, keeps no state and imports nothing
// of the project: transports, swarms and peers live elsewhere.
package wire
