package edge

import (
	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/wire"
)

// swarmsHeader is the Edgeswarm-Swarms value of a DASH manifest: its
// Representations' swarms, each with a fresh ticket, the analogue of a
// media playlist's Edgeswarm-Swarm and Edgeswarm-Ticket. At most
// wire.MaxSwarmsPerManifest are listed (the first, in document order).
func (s *Server) swarmsHeader(e *cache.Entry) string {
	names := e.Swarms()
	list := make([]wire.SwarmTicket, 0, min(len(names), wire.MaxSwarmsPerManifest))
	for _, sw := range names[:min(len(names), wire.MaxSwarmsPerManifest)] {
		list = append(list, wire.SwarmTicket{Swarm: sw, Ticket: s.hub.IssueTicket(sw)})
	}
	return wire.FormatSwarms(list)
}
