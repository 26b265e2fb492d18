// Package turn implements the node's optional TURN relay (RFC 8656, with
// pion/turn): viewers whose NATs keep them from reaching each other
// directly (two symmetric NATs) relay their peer connections through it.
//
// It accepts only the time-limited TURN REST credentials that package
// signal mints for each join from the shared secret (username
// EXPIRY:PEER_ID, credential base64(HMAC-SHA1(secret, username)), see
// wire.TURNCredential): no user list, no long-lived password. Quotas are
// per viewer (the PEER_ID of the username): allocations at once, relayed
// bytes per second and relayed bytes in all; packets over a viewer's
// budget are dropped, as a congested link drops them. Every relayed byte
// is node egress and is counted (relayed_bytes_total), never as P2P.
//
// The relay lives in its own package rather than in seeder: it serves
// viewers whether or not the node runs a super-peer, it has its own port
// and port range, and its quotas follow viewers, not swarms.
//
// The package never opens its listener: the node passes the UDP socket
// in Options. It opens relay sockets (one per allocation) inside the
// configured port range, as TURN requires.
package turn
