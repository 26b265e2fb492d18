package testpeer

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// LinkInfo is what a peer knows of its connections to one other peer,
// for reports: which connections came up, over which candidates, and how
// many verified bytes each peer gave.
type LinkInfo struct {
	ID     string `json:"id"`
	Seeder bool   `json:"seeder,omitempty"`
	// Offerer: this side offered (the last attempt).
	Offerer  bool `json:"offerer"`
	Attempts int  `json:"attempts"`
	// Ready: the hellos were exchanged on some attempt.
	Ready bool `json:"ready"`
	// Local and Remote are the candidate types (host, srflx, prflx,
	// relay) of the selected pair when the connection came up.
	Local  string `json:"local,omitempty"`
	Remote string `json:"remote,omitempty"`
	// Bytes are the verified segment bytes received from the peer.
	Bytes int64 `json:"bytes,omitempty"`
	// Requests counts our requests to it, Failed those that brought no
	// verified segment: Busy and Absent answers, Late (given up by the
	// requester before the last byte) and the rest (closed, bad digest).
	Requests int `json:"requests,omitempty"`
	Failed   int `json:"failed,omitempty"`
	Busy     int `json:"busy,omitempty"`
	Absent   int `json:"absent,omitempty"`
	Late     int `json:"late,omitempty"`
}

// Links lists every peer this one opened or answered a connection with
// since it joined, by id.
func (p *Peer) Links() []LinkInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]LinkInfo, 0, len(p.infos))
	for id, li := range p.infos {
		c := *li
		c.Seeder = p.seeders[id]
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b LinkInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// infoLocked returns the record of id, made on first use; the caller
// holds p.mu.
func (p *Peer) infoLocked(id string) *LinkInfo {
	li := p.infos[id]
	if li == nil {
		li = &LinkInfo{ID: id}
		p.infos[id] = li
	}
	return li
}

// attempted records a new connection to id.
func (p *Peer) attempted(id string, offerer bool) {
	p.mu.Lock()
	li := p.infoLocked(id)
	li.Attempts++
	li.Offerer = offerer
	p.mu.Unlock()
}

// requested records the end of a request to id: err is nil, ErrBusy,
// ErrAbsent, a context error (given up) or another.
func (p *Peer) requested(id string, err error) {
	p.mu.Lock()
	li := p.infoLocked(id)
	li.Requests++
	if err != nil {
		li.Failed++
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrBusy):
		li.Busy++
	case errors.Is(err, ErrAbsent):
		li.Absent++
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		li.Late++
	}
	p.mu.Unlock()
}

// cameUp records that the connection l exchanged hellos, with the
// candidate types of its selected pair.
func (l *link) cameUp() {
	local, remote := l.pairTypes()
	l.p.mu.Lock()
	li := l.p.infoLocked(l.id)
	li.Ready = true
	if local != "" {
		li.Local, li.Remote = local, remote
	}
	l.p.mu.Unlock()
}

// pairTypes are the candidate types of the selected pair ("" when none).
func (l *link) pairTypes() (local, remote string) {
	pair, err := l.ice.GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return "", ""
	}
	return pair.Local.Typ.String(), pair.Remote.Typ.String()
}
