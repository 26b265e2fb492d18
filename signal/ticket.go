package signal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A ticket is "v1.<expiry>.<mac>": expiry in Unix seconds, mac the
// unpadded base64url HMAC-SHA256, under the node's secret, of
// "edgeswarm-ticket\x00v1\x00<expiry>\x00<swarm>". The swarm itself is not
// in the ticket (a join names it), which keeps tickets short whatever the
// length of the swarm's key. Clients treat tickets as opaque, so the
// format may change without a protocol change.
const ticketPrefix = "v1."

// Ticket verification failures; the join is refused with ticket_invalid
// and the error's text as message.
var (
	errTicketMissing   = errors.New("a ticket is required: fetch the media playlist and send its Edgeswarm-Ticket header in join")
	errTicketMalformed = errors.New("malformed ticket: send the Edgeswarm-Ticket header unchanged")
	errTicketExpired   = errors.New("ticket expired: fetch the media playlist again for a new one")
	errTicketForged    = errors.New("ticket is not valid for this swarm")
)

type ticketer struct {
	// key and ttl are replaced by rekey (a reload), under mu; prev, the
	// key before, still admits joins until prevUntil (one TTL after the
	// change: the tickets it signed have expired by then).
	key       []byte
	ttl       time.Duration
	prev      []byte
	prevUntil time.Time

	// recent holds the last ticket issued per swarm. Tickets are issued on
	// every media playlist response, which for a popular swarm is many per
	// second; within a tenth of the TTL the same ticket is handed out again
	// instead of computing a new HMAC. The map is swept when it grows.
	mu     sync.Mutex
	recent map[string]issued
}

type issued struct {
	ticket string
	at     time.Time
}

// maxRecentTickets bounds the reuse map; past it, stale entries go.
const maxRecentTickets = 4096

func (t *ticketer) mac(swarm string, exp int64) []byte { return macWith(t.key, swarm, exp) }

func macWith(key []byte, swarm string, exp int64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("edgeswarm-ticket\x00v1\x00"))
	m.Write(strconv.AppendInt(nil, exp, 10))
	m.Write([]byte{0})
	m.Write([]byte(swarm))
	return m.Sum(nil)
}

// issue returns a ticket for swarm valid until at least now+ttl*9/10.
func (t *ticketer) issue(swarm string, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	reuse := t.ttl / 10
	if r, ok := t.recent[swarm]; ok && !now.Before(r.at) && now.Sub(r.at) < reuse {
		return r.ticket
	}
	exp := now.Add(t.ttl).Unix()
	tk := ticketPrefix + strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(t.mac(swarm, exp))
	if t.recent == nil {
		t.recent = make(map[string]issued)
	}
	if len(t.recent) >= maxRecentTickets {
		for k, r := range t.recent {
			if now.Sub(r.at) >= reuse || now.Before(r.at) {
				delete(t.recent, k)
			}
		}
		if len(t.recent) >= maxRecentTickets {
			clear(t.recent)
		}
	}
	t.recent[strings.Clone(swarm)] = issued{ticket: tk, at: now}
	return tk
}

// verify checks that ticket admits a join of swarm at now.
func (t *ticketer) verify(ticket, swarm string, now time.Time) error {
	if ticket == "" {
		return errTicketMissing
	}
	rest, ok := strings.CutPrefix(ticket, ticketPrefix)
	if !ok {
		return errTicketMalformed
	}
	expS, macS, ok := strings.Cut(rest, ".")
	if !ok || expS == "" || len(expS) > 12 || len(macS) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return errTicketMalformed
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil || exp < 0 || strconv.FormatInt(exp, 10) != expS {
		return errTicketMalformed
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(macS)
	if err != nil {
		return errTicketMalformed
	}
	// Check the MAC before the expiry, so that a forged ticket is never
	// reported as merely expired.
	t.mu.Lock()
	key, prev := t.key, t.prev
	if !now.Before(t.prevUntil) {
		prev = nil
	}
	t.mu.Unlock()
	if !hmac.Equal(got, macWith(key, swarm, exp)) && (prev == nil || !hmac.Equal(got, macWith(prev, swarm, exp))) {
		return errTicketForged
	}
	if now.Unix() > exp {
		return errTicketExpired
	}
	return nil
}

// rekey replaces the secret and the TTL. Tickets signed with the previous
// secret still admit joins for one (previous) TTL.
func (t *ticketer) rekey(key []byte, ttl time.Duration, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !hmac.Equal(key, t.key) {
		t.prev, t.prevUntil = t.key, now.Add(t.ttl)
		clear(t.recent)
	}
	t.key, t.ttl = key, ttl
}
