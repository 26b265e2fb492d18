package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// swarmGoPair counts one direction of a NAT pair: the connections that
// viewers of one home kind had with peers of another (or the super-peer),
// each end counting its own.
type swarmGoPair struct {
	Links    int            `json:"links"`
	Ready    int            `json:"ready"`
	Types    map[string]int `json:"types"` // local/remote candidate types of the connected ones
	Bytes    int64          `json:"bytes"` // verified bytes received over them
	Requests int            `json:"requests"`
	Failed   int            `json:"failed"`
	Busy     int            `json:"busy"`
	Absent   int            `json:"absent"`
	Late     int            `json:"late"`
}

// superPeerKind names the super-peer as the other end of a pair.
const superPeerKind = "super-peer"

// swarmGoPairs sums every viewer's links by pair "kind -> kind", where a
// kind is a home's "NAT kind" and the remote's kind is found by its id.
func swarmGoPairs(homes []swarmGoHome) map[string]*swarmGoPair {
	kindOf := map[string]string{}
	for _, h := range homes {
		for _, v := range h.Viewers {
			if v.ID != "" {
				kindOf[v.ID] = h.NAT + " " + h.Kind
			}
		}
	}
	out := map[string]*swarmGoPair{}
	for _, h := range homes {
		from := h.NAT + " " + h.Kind
		for _, v := range h.Viewers {
			for _, l := range v.Links {
				to := kindOf[l.ID]
				switch {
				case l.Seeder:
					to = superPeerKind
				case to == "":
					to = "unknown"
				}
				k := from + " -> " + to
				p := out[k]
				if p == nil {
					p = &swarmGoPair{Types: map[string]int{}}
					out[k] = p
				}
				p.Links++
				if l.Ready {
					p.Ready++
					p.Types[l.Local+"/"+l.Remote]++
				}
				p.Bytes += l.Bytes
				p.Requests += l.Requests
				p.Failed += l.Failed
				p.Busy += l.Busy
				p.Absent += l.Absent
				p.Late += l.Late
			}
		}
	}
	return out
}

// writeSwarmGoPairs is the connections table of one case.
func writeSwarmGoPairs(b *bytes.Buffer, c swarmGoCase) {
	if len(c.Pairs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s connections by pair (each end counts its own):\n\n", c.Scenario)
	fmt.Fprintln(b, "| from -> to | links | connected | candidate types | MiB received | requests | failed: busy / absent / late / other |")
	fmt.Fprintln(b, "|---|--:|--:|---|--:|--:|--:|")
	keys := make([]string, 0, len(c.Pairs))
	for k := range c.Pairs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := c.Pairs[k]
		var types []string
		for t, n := range p.Types {
			types = append(types, fmt.Sprintf("%s %d", t, n))
		}
		slices.Sort(types)
		fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %d | %d / %d / %d / %d |\n", k, p.Links, p.Ready, strings.Join(types, ", "), mibNum(p.Bytes), p.Requests,
			p.Busy, p.Absent, p.Late, p.Failed-p.Busy-p.Absent-p.Late)
	}
}
