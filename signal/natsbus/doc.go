// Package natsbus implements signal.Cluster over NATS, so that the swarms
// of several nodes are one: a viewer on node A is offered viewers on node
// B of the same swarm, and the WebRTC signals between them cross the bus.
//
// Each node announces on the bus (subjects under Config.Subject): a
// heartbeat with its signaling URL, region and counts; every join and
// departure of its viewers, numbered, so that a node that missed some
// asks for a snapshot; the digests it computed, so that viewers can
// verify segments whatever node fetched them (once per segment: nodes
// that hashed it together defer to one another, see digest.go); and
// messages for one peer,
// sent to the node that holds it. A node not heard of for
// Config.NodeTimeout is gone and its viewers leave every swarm. While the
// bus is down each node goes on alone; when it is back the nodes see
// each other's heartbeats again and resynchronize.
//
// For small clusters the node embeds nats-server ([StartServer]); for
// large ones it connects to an external NATS cluster. The super-peer of a
// node is never announced: it seeds that node's viewers only.
//
// The package trusts no message from the bus: every one is decoded
// strictly and bounded. It never blocks the hub (announcements are
// queued), keeps no global state, and opens no listener except the
// embedded server's, which nats-server opens itself.
package natsbus
