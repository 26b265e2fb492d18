// Package seeder implements the node's super-peer: an always-on WebRTC
// peer (pion) that joins every swarm with viewers and seeds segments from
// the node's cache into it over DataChannels.
//
// The seeder joins a swarm through an in-process signaling connection
// (Signaling), speaking the same protocol as a browser; the tracker lists
// it to viewers with the seeder mark. It never offers: viewers offer and
// it answers, one peer connection per viewer, all sharing one UDP port
// (ICE UDP mux) and optionally one ICE-TCP port. It maps requests to
// segments through the digests of its signaling connection (sequence to
// content key) and reads the bytes from Source (the cache, which fills a
// miss through its single flight), checking them once against the digest.
//
// Seeding policy: when a new live segment enters the cache (NewSegment;
// the node fetches the newest ones as soon as a playlist refresh lists
// them, see Config.Prefetch), the seeder pushes it (peer protocol version
// 2) to well-connected viewers that upload and accept pushes, so the swarm
// holds it before anyone needs it; viewers pass it on. How many copies
// adapts to the swarm (policy.go): one per 32 viewers when all upload,
// more when a share is download-only, one more each time a segment spread
// to half the uploaders too slowly and one fewer when it spread fast, at
// most PushK, to the least backlogged viewers and among those the ones
// pushed to longest ago (so that no one home carries every first copy); a
// viewer that becomes ready just after a fill, while too few
// hold the live edge to pass it on and it has fewer copies than the
// policy wanted, gets it pushed (a catch-up push). When pushed copies
// land late (several other viewers announce a segment before the first
// pushed copy does: they fetched it over HTTP as soon as it was listed,
// very close to live), pushing pauses for a few segments and then probes
// again: the swarm starts from its own HTTP copies there, and a pushed
// one lowers no HTTP fetch but its receiver's. With push_start_grace_ms a viewer gets no push
// in its first moments, while its player starts over HTTP. The reference client never requests from the super-peer;
// for clients that do, a request for a segment that BusyHolders connected
// viewers already hold is answered busy, steering it to them; a segment
// nobody else holds is always served. Uploads obey per-peer and per-node
// budgets and the protocol's bufferedAmount flow control. Every byte it
// sends is seed traffic, never p2p.
//
// A viewer that breaks the peer protocol is dropped, and so is one that
// stops reading: answers are never queued past a small backlog, and a
// response waiting on a buffer that drains nothing for idle_timeout_ms
// ends the connection, so a hostile viewer costs bounded memory and one
// sender goroutine at most, and pushes go on to the others.
//
// Cost per byte: the ICE UDP mux's socket sends in batches (udpbatch.go:
// one system call per run of datagrams to one viewer, with UDP GSO on
// Linux), and a DataChannel may hold SendBuffer bytes, which SCTP counts
// until they are acknowledged, so one viewer's throughput is not capped
// at 1 MiB per round trip. Below it, the module uses changed copies of
// pion's DTLS and SCTP (third_party: no goroutine per DTLS record, one
// buffer per SCTP packet and per record), which cut pion's allocations
// per byte by more than a third.
//
// Its STUN server (stun.go) answers the Binding requests browsers gather
// with on a UDP socket of its own, never on the ICE port: Chromium hands
// every packet from a STUN server's address to its STUN client, so the
// super-peer's ICE answers from that address would never reach ICE.
//
// The seeder never opens listeners: the node passes the ICE and STUN
// sockets in Options and the seeder owns them from then on. It keeps
// nothing on disk.
package seeder
