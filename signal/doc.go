// Package signal implements the node's built-in tracker: the signaling
// server of docs/protocol.md section 4 at wire.SignalPath.
//
// A [Hub] groups peers into swarms (one swarm per rendition), assigns
// peer ids, offers each joining viewer up to K candidate sources plus
// the node's super-peer, relays WebRTC offers, answers and ICE candidates
// between peers of the same swarm, and publishes the SHA-256 digest of
// every cached segment to its swarm so that clients can verify every
// byte they get over P2P.
//
// Connections: browsers connect over WebSocket ([Hub.ServeWS], a fasthttp
// handler the node routes; the hub opens no listener). The node's
// super-peer connects in process ([Hub.Connect]) and speaks the same
// protocol through the same state machine, without a network hop. Both
// are sessions with a bounded send queue: a client that does not keep up
// is disconnected, never buffered for.
//
// Memory and CPU per idle WebSocket peer are kept small, since a node
// holds tens of thousands: the socket is detached from fasthttp after the
// handshake (releasing the server's read buffer and request context); on
// Linux a few pollers (Config.Pollers) read all sockets, each waiting on
// an epoll set of many, so that a message costs one read and an idle
// peer holds no goroutine (elsewhere, and with
// pollers 0, one goroutine with a shallow stack reads each socket); the
// writer goroutine, at most one per connection, runs only while the send
// queue holds something (pings are queued by a timer). Swarm logic hands messages for
// other peers to a [Bus]; the in-process bus is the default and a bus
// spanning nodes can replace it.
//
// Candidates: only peers that upload and are not mobile are offered;
// among them the least offered first (then the most advanced by their
// have summaries), from a bounded random sample, so load spreads; up to
// half of them are sources that joined from the viewer's own source
// address (behind the same NAT, reachable over their LAN even when the
// NAT is symmetric), which a random sample of a large swarm misses; a new
// source is also pushed to the viewers that received the fewest
// candidates. The super-peer is offered, marked seeder, to every viewer
// in addition to the K viewer candidates (it does not count against K),
// and is itself never sent candidates: viewers offer, it answers.
//
// Authorization: unless Config.Open, a join needs a ticket from
// [Hub.IssueTicket] (HMAC-SHA256 over the swarm and an expiry), which the
// HTTP front attaches to media playlists the origin authorized.
//
// Claims: what clients say is checked against what the hub knows. A
// report against a peer counts only when the swarm's digests bear it out
// (the reporter sends the hash or size it got), once per source address
// however many peer ids or connections it uses, weighed by the reporter's
// standing; stats that decrease, grow faster than a link could carry, or
// claim more than the swarm's published segments are rejected and
// counted.
//
// The package must never trust client input (every message is decoded
// by wire's strict decoder, size- and rate-limited), never block on a
// client, never hold a lock while calling out (OnSwarm, the bus), and
// never open listeners or touch global state (metrics go to the
// registerer it is given).
package signal
