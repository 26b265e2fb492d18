// Package analytics implements the node's viewer analytics: it takes the
// telemetry viewers send (stats over signaling, beacons over HTTP), adds
// it up per stream (master playlist), per rendition (swarm) and per node
// in bounded memory, and serves it as Prometheus series, read-only JSON
// under /api/v1 and the dashboard at / of the admin port.
//
// Telemetry is a claim, not a fact. The signaling hub checks what arrives
// over signaling against the swarm's digests before it reaches Observe;
// beacons are checked here (size, rate per source address, counters that
// decrease or grow faster than a link could carry). A stream or a
// rendition gets its own figures only when the node served its playlist
// (AddPlaylist); any other name a viewer claims counts under "other".
//
// The package keeps no viewer identity: a report is added to time points
// and forgotten. Only a beacon session's last report is kept, for a few
// intervals, to compare the next one with. It never opens a listener: the
// node mounts its handlers.
package analytics
