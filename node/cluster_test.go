package node

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/signal/natsbus"
	"github.com/edgeswarm/edgeswarm/wire"
)

const clusterSecret = "a-ticket-secret-shared-by-the-cluster"

// clusterNodes starts n nodes whose embedded NATS servers route to the
// first one's. The first serves the demo origin and runs the super-peer;
// the others use it as their origin (one stream, the same bytes
// everywhere) and run no super-peer, so that what their viewers get over
// WebRTC comes from viewers.
func clusterNodes(t *testing.T, n int) []*Node {
	t.Helper()
	netns.RequireLoopbackOnly(t)
	var nodes []*Node
	for i := range n {
		cfg := testConfig("")
		cfg.Signal.TicketSecret = clusterSecret
		cfg.Cluster.Name = string(rune('a' + i))
		cfg.Cluster.SignalURL = "ws://" + cfg.Cluster.Name + ".test" + wire.SignalPath
		cfg.Cluster.NATS.Listen = "127.0.0.1:0"
		cfg.Cluster.NATS.ClusterListen = "127.0.0.1:0"
		cfg.Seeder.Loopback = true
		cfg.SuperPeer = i == 0
		if i > 0 {
			cfg.Origin = "http://" + nodes[0].Addr()
			cfg.Cluster.NATS.Routes = []string{"nats-route://" + nodes[0].cluster.server.ClusterAddr().String()}
		}
		nodes = append(nodes, startNode(t, cfg, nil))
	}
	return nodes
}

// waitClusterNodes waits until every node's metrics count want nodes.
func waitClusterNodes(t *testing.T, ctx context.Context, nodes []*Node, want int) {
	t.Helper()
	for _, n := range nodes {
		for {
			changed := n.cluster.watch()
			if n.cluster.bus.Nodes() == want {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s sees %d nodes, want %d", n.cfg.Cluster.Name, n.cluster.bus.Nodes(), want)
			case <-changed:
			}
		}
	}
}

func TestClusterViewersOnDifferentNodesExchangeSegments(t *testing.T) {
	nodes := clusterNodes(t, 3)
	a, b := nodes[0], nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitClusterNodes(t, ctx, nodes, 3)

	_, _, swarm, ticketA := liveRendition(t, a)
	if _, _, swarmB, _ := liveRendition(t, b); swarmB != swarm {
		t.Fatalf("swarm on b %q, on a %q: one stream must be one swarm", swarmB, swarm)
	}
	holder := joinPeer(t, ctx, a, swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: ticketA})
	if _, err := holder.WaitReady(ctx, ""); err != nil {
		t.Fatal(err)
	}
	seq, httpBody := pushedSegment(t, ctx, a, holder)

	// A viewer on b, admitted with the ticket a signed, is offered the
	// viewer on a, connects to it through relays over the bus, and gets
	// the segment verified against the digest a published.
	other := joinPeer(t, ctx, b, swarm, testpeer.Options{Ticket: ticketA})
	if _, err := other.WaitReady(ctx, holder.ID()); err != nil {
		t.Fatalf("viewer-to-viewer connection across nodes: %v (holder: %v, other: %v)", err, holder.Err(), other.Err())
	}
	got, err := other.Fetch(ctx, holder.ID(), seq)
	if err != nil {
		t.Fatalf("fetch from the viewer on the other node: %v", err)
	}
	if !bytes.Equal(got, httpBody) {
		t.Fatal("segment from the viewer on a differs from HTTP")
	}
	if st := other.Stats(); st.P2PBytes != int64(len(httpBody)) || st.SeedBytes != 0 {
		t.Fatalf("bytes from a viewer must count as p2p: %+v", st)
	}
	for _, p := range []*testpeer.Peer{holder, other} {
		if err := p.Err(); err != nil {
			t.Fatalf("protocol error: %v", err)
		}
	}

	for _, n := range nodes {
		_, metrics := httpGet(t, "http://"+n.AdminAddr()+"/metrics")
		if !regexp.MustCompile(`(?m)^edgeswarm_cluster_nodes 3$`).Match(metrics) {
			t.Errorf("%s: edgeswarm_cluster_nodes is not 3", n.cfg.Cluster.Name)
		}
	}
	_, metrics := httpGet(t, "http://"+b.AdminAddr()+"/metrics")
	if m := regexp.MustCompile(`(?m)^edgeswarm_cluster_bus_sent_total\{kind="relay"\} (\d+)$`).FindSubmatch(metrics); len(m) < 2 || string(m[1]) == "0" {
		t.Errorf("b counted no relays sent over the bus")
	}
}

func TestClusterWithoutTicketSecretRefusesToStart(t *testing.T) {
	cfg := testConfig("")
	cfg.Cluster.NATS.Listen = "127.0.0.1:0"
	err := cfg.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "signal.ticket_secret: required in a cluster") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a cluster without a ticket secret: %v", err)
	}
	code, _, stderr := runMain(t, nil, "--nats-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "signal.ticket_secret: required in a cluster") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	cfg.Signal.TicketSecret = clusterSecret
	if err := cfg.Validate(); err != nil {
		t.Fatalf("with a secret: %v", err)
	}
}

func TestWelcomeListsTheClusterSignalURLs(t *testing.T) {
	nodes := clusterNodes(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitClusterNodes(t, ctx, nodes, 2)
	_, _, swarm, ticket := liveRendition(t, nodes[1])
	p := joinPeer(t, ctx, nodes[1], swarm, testpeer.Options{Ticket: ticket})
	got := strings.Join(p.Config().SignalURLs, " ")
	if got != "ws://b.test/swarm ws://a.test/swarm" {
		t.Fatalf("welcome on b lists %q, want b's URL then a's", got)
	}
}

func TestNodeBehindNodeSendsOneSwarmAndTicket(t *testing.T) {
	// A node whose origin is another node (a cache tier) answers with its
	// own swarm and ticket headers only: a browser would join the comma-
	// joined pair of both and fail.
	a := startNode(t, testConfig(""), nil)
	cfg := testConfig("http://" + a.Addr())
	b := startNode(t, cfg, nil)
	resp, _ := httpGet(t, "http://"+b.Addr()+"/live/low/index.m3u8")
	if got := resp.Header.Values(wire.SwarmHeader); len(got) != 1 || got[0] != "/live/low/index.m3u8" {
		t.Errorf("%s: %q, want one", wire.SwarmHeader, got)
	}
	if got := resp.Header.Values(wire.TicketHeader); len(got) != 1 {
		t.Errorf("%s: %q, want one (b's)", wire.TicketHeader, got)
	}
}

func TestClusterBusKilledAndRestarted(t *testing.T) {
	netns.RequireLoopbackOnly(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// An external NATS cluster of two servers that the test kills and
	// restarts on the same addresses.
	startBus := func(listen, cluster []string) []*natsbus.Server {
		var out []*natsbus.Server
		for i := range listen {
			cfg := natsbus.DefaultConfig()
			cfg.Listen, cfg.ClusterListen = listen[i], cluster[i]
			for j := range cluster {
				if j != i && cluster[j] != "127.0.0.1:0" {
					cfg.Routes = append(cfg.Routes, "nats-route://"+cluster[j])
				}
			}
			s, err := natsbus.StartServer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
			listen[i], cluster[i] = s.Addr().String(), s.ClusterAddr().String()
		}
		return out
	}
	listen, cluster := []string{"127.0.0.1:0", "127.0.0.1:0"}, []string{"127.0.0.1:0", "127.0.0.1:0"}
	bus := startBus(listen, cluster)
	defer func() {
		for _, s := range bus {
			s.Close()
		}
	}()
	url := "nats://" + listen[0] + ",nats://" + listen[1]
	var nodes []*Node
	for i := range 2 {
		cfg := testConfig("")
		cfg.Signal.TicketSecret = clusterSecret
		cfg.Cluster.Name = string(rune('a' + i))
		cfg.Cluster.NATS.URL = url
		cfg.Seeder.Loopback = true
		cfg.SuperPeer = i == 0
		if i > 0 {
			cfg.Origin = "http://" + nodes[0].Addr()
		}
		nodes = append(nodes, startNode(t, cfg, nil))
	}
	a, b := nodes[0], nodes[1]
	for _, n := range nodes {
		if err := n.WaitClusterNodes(ctx, 2); err != nil {
			t.Fatal(err)
		}
	}
	_, _, swarm, ticket := liveRendition(t, a)
	holder := joinPeer(t, ctx, a, swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: ticket})
	if _, err := holder.WaitReady(ctx, ""); err != nil {
		t.Fatal(err)
	}

	// The bus dies: each node goes on alone, and its viewers play on over
	// HTTP and with its super-peer.
	for _, s := range bus {
		s.Close()
	}
	for _, n := range nodes {
		if err := n.WaitClusterNodes(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	pushedSegment(t, ctx, a, holder)
	if r, body := httpGet(t, "http://"+b.Addr()+"/live/low/index.m3u8"); r.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("b's playlist while the bus is down: %d", r.StatusCode)
	}

	// The bus comes back: the cluster re-forms, and a viewer of b is
	// offered a's viewer again and gets a segment from it.
	bus = startBus(listen, cluster)
	for _, n := range nodes {
		if err := n.WaitClusterNodes(ctx, 2); err != nil {
			t.Fatal(err)
		}
	}
	other := joinPeer(t, ctx, b, swarm, testpeer.Options{Ticket: ticket})
	if _, err := other.WaitReady(ctx, holder.ID()); err != nil {
		t.Fatalf("across nodes after the bus came back: %v", err)
	}
	// A segment hashed once the bus was back: its digest reached b (those
	// hashed while the bus was down or re-forming did not, and b's viewers
	// fetch them over HTTP).
	var seq uint64
	var httpBody []byte
	for {
		seq, httpBody = pushedSegment(t, ctx, a, holder)
		dctx, dcancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := other.Digest(dctx, seq)
		dcancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no digest of a segment a hashed reached b after the bus came back")
		}
	}
	got, err := other.Fetch(ctx, holder.ID(), seq)
	if err != nil || !bytes.Equal(got, httpBody) {
		t.Fatalf("fetch across nodes after the bus came back: %v", err)
	}
}
