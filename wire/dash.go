package wire

import (
	"errors"
	"fmt"
	"strings"
)

// DASH swarms (docs/protocol.md section 3.1). A DASH manifest holds several
// swarms, one per Representation: the node names them from the manifest's
// content key and the Representation's id, and lists them with their
// tickets in one header on the manifest response.

// SwarmsHeader is the response header carrying, on a DASH manifest, the
// swarms of its Representations and a ticket for each.
const SwarmsHeader = "Edgeswarm-Swarms"

// MaxSwarmsPerManifest bounds the swarms one SwarmsHeader lists.
const MaxSwarmsPerManifest = 64

// RepresentationSwarm returns the swarm of one Representation: the content
// key of its manifest, "#", and Representation@id with every byte outside
// A-Z a-z 0-9 - . _ ~ written %XX (upper-case hex).
func RepresentationSwarm(manifestKey, id string) string {
	var b strings.Builder
	b.Grow(len(manifestKey) + 1 + len(id))
	b.WriteString(manifestKey)
	b.WriteByte('#')
	for i := 0; i < len(id); i++ {
		c := id[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// SwarmTicket is one entry of SwarmsHeader: a swarm and its ticket ("" when
// swarms are open).
type SwarmTicket struct {
	Swarm  string `json:"swarm"`
	Ticket string `json:"ticket,omitempty"`
}

// FormatSwarms encodes SwarmsHeader: the entries joined by ", ", each the
// swarm with '%', ',', ';', and bytes outside 0x21..0x7e written %XX, then
// ";ticket=" and the ticket when there is one.
func FormatSwarms(list []SwarmTicket) string {
	var b strings.Builder
	for i, st := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		for j := 0; j < len(st.Swarm); j++ {
			c := st.Swarm[j]
			if c <= 0x20 || c >= 0x7f || c == '%' || c == ',' || c == ';' {
				b.WriteByte('%')
				b.WriteByte(upperHex[c>>4])
				b.WriteByte(upperHex[c&15])
				continue
			}
			b.WriteByte(c)
		}
		if st.Ticket != "" {
			b.WriteString(";ticket=")
			b.WriteString(st.Ticket)
		}
	}
	return b.String()
}

// ParseSwarms decodes SwarmsHeader. Every swarm must be a valid content key
// and every ticket valid as in join; anything else is an error that says
// what is wrong.
func ParseSwarms(v string) ([]SwarmTicket, error) {
	var out []SwarmTicket
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	for entry := range strings.SplitSeq(v, ",") {
		entry = strings.Trim(entry, " \t")
		if entry == "" {
			return nil, errors.New("swarms header: empty entry")
		}
		if len(out) == MaxSwarmsPerManifest {
			return nil, fmt.Errorf("swarms header: more than %d swarms", MaxSwarmsPerManifest)
		}
		enc, params, _ := strings.Cut(entry, ";")
		swarm, err := unescapeHeader(enc)
		if err != nil {
			return nil, fmt.Errorf("swarms header: %w", err)
		}
		if err := checkKey("swarm", swarm); err != nil {
			return nil, fmt.Errorf("swarms header: swarm %q: %w", enc, err)
		}
		st := SwarmTicket{Swarm: swarm}
		if params != "" {
			t, ok := strings.CutPrefix(strings.TrimSpace(params), "ticket=")
			if !ok {
				return nil, fmt.Errorf("swarms header: unknown parameter %q", params)
			}
			if err := checkHeaderTicket(t); err != nil {
				return nil, fmt.Errorf("swarms header: ticket: %w", err)
			}
			st.Ticket = t
		}
		out = append(out, st)
	}
	return out, nil
}

func unescapeHeader(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) || fromHex(s[i+1]) < 0 || fromHex(s[i+2]) < 0 {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b = append(b, byte(fromHex(s[i+1])<<4|fromHex(s[i+2])))
		i += 2
	}
	return string(b), nil
}

func fromHex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func checkHeaderTicket(t string) error {
	if len(t) == 0 || len(t) > MaxTicketLen {
		return fmt.Errorf("length %d is not 1..%d", len(t), MaxTicketLen)
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x21 || t[i] > 0x7e || t[i] == ',' || t[i] == ';' {
			return fmt.Errorf("byte %#x at %d is not allowed", t[i], i)
		}
	}
	return nil
}
