package natsbus

import (
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Member is a node of the cluster as its heartbeats describe it.
type Member struct {
	// Name and Region are the node's labels (Options.Name, .Region).
	Name, Region string
	// SignalURL is where its viewers signal.
	SignalURL string
	// Swarms and Viewers count the swarms it has viewers in and its
	// viewers (its super-peer not included), as of its latest heartbeat.
	Swarms, Viewers int
	// Self marks this node.
	Self bool
}

// Members lists the nodes this one sees, itself first, then the others
// by name.
func (b *Bus) Members() []Member {
	b.mu.Lock()
	self := Member{Name: b.opt.Name, Region: b.opt.Region, Swarms: len(b.swarms), Viewers: len(b.mine), Self: true}
	b.mu.Unlock()
	b.pubMu.Lock()
	self.SignalURL = b.signalURL
	b.pubMu.Unlock()
	b.loopMu.Lock()
	others := make([]Member, 0, len(b.nodes))
	for _, st := range b.nodes {
		others = append(others, Member{Name: st.name, Region: st.region, SignalURL: st.url, Swarms: st.swarms, Viewers: st.viewers})
	}
	b.loopMu.Unlock()
	slices.SortFunc(others, func(x, y Member) int { return strings.Compare(x.Name+x.SignalURL, y.Name+y.SignalURL) })
	return append([]Member{self}, others...)
}

// memberCollector exports Members as edgeswarm_cluster_node_viewers and
// edgeswarm_cluster_node_swarms, labelled by node name and region: one
// series per node of the cluster.
type memberCollector struct {
	b              *Bus
	viewers, swarm *prometheus.Desc
}

func newMemberCollector(b *Bus) *memberCollector {
	labels := []string{"node", "region"}
	return &memberCollector{b: b,
		viewers: prometheus.NewDesc("edgeswarm_cluster_node_viewers", "Viewers of each node of the cluster (this one included), from its heartbeats.", labels, nil),
		swarm:   prometheus.NewDesc("edgeswarm_cluster_node_swarms", "Swarms each node of the cluster (this one included) has viewers in, from its heartbeats.", labels, nil),
	}
}

func (c *memberCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.viewers
	ch <- c.swarm
}

func (c *memberCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]int{}
	for _, m := range c.b.Members() {
		// Two nodes of one name (a host name used twice) stay apart.
		name := m.Name
		if seen[name]++; seen[name] > 1 {
			name += "#" + strconv.Itoa(seen[name])
		}
		ch <- prometheus.MustNewConstMetric(c.viewers, prometheus.GaugeValue, float64(m.Viewers), name, m.Region)
		ch <- prometheus.MustNewConstMetric(c.swarm, prometheus.GaugeValue, float64(m.Swarms), name, m.Region)
	}
}

var _ prometheus.Collector = (*memberCollector)(nil)
