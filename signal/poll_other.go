//go:build !linux

package signal

// pollers read many connections per goroutine where the platform has
// epoll (poll_linux.go); elsewhere a goroutine reads each connection.
type pollers struct{}

// pconn is a connection the pollers read; there is none here.
type pconn struct{}

func (h *Hub) pollers() *pollers                        { return nil }
func (ps *pollers) prepare(*session, *idleTimer) *pconn { return nil }
func (ps *pollers) close()                              {}
func (pc *pconn) register() bool                        { return false }
func (pc *pconn) cut()                                  {}
func (pc *pconn) idleCut()                              {}
