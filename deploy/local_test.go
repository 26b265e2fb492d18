package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grafov/m3u8"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/wire"
)

func TestMain(m *testing.M) { os.Exit(netns.Run(m)) }

// localNode is one node of deploy/local/run.sh, as its output names it.
type localNode struct {
	name, base, metrics, log string
}

// startLocalCluster runs deploy/local/run.sh (in the test's private
// network namespace, so its fixed ports are the test's own) until the
// end of the test, and returns the three nodes it printed.
func startLocalCluster(t *testing.T) []localNode {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "edgeswarm.yaml")
	// The super-peers offer loopback candidates: the namespace has no
	// other address.
	if err := os.WriteFile(cfg, []byte("seeder:\n  loopback: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "local/run.sh")
	cmd.Env = append(os.Environ(), "EDGESWARM_CONFIG="+cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		// Ctrl-C, as the script says: it stops its nodes and exits.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("run.sh did not stop on SIGINT")
		}
	})
	line := regexp.MustCompile(`^(node\d): (http://\S+)/  metrics (http://\S+)  log (\S+)$`)
	var nodes []localNode
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			nodes = append(nodes, localNode{m[1], m[2], m[3], m[4]})
		}
		if strings.HasPrefix(sc.Text(), "cluster running") {
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, out)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// Before the script stops (and removes its directory): the
		// nodes' logs of a failed test.
		if !t.Failed() {
			return
		}
		for _, n := range nodes {
			b, _ := os.ReadFile(n.log)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s log (tail):\n%s", n.name, b)
		}
	})
	if len(nodes) != 3 {
		t.Fatalf("run.sh printed %d nodes, want 3; stderr:\n%s", len(nodes), stderr.String())
	}
	return nodes
}

// metric returns the value of an unlabelled metric of a node, -1 while
// the node does not answer.
func (n localNode) metric(name string) float64 {
	resp, err := http.Get(n.metrics)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// until polls cond (a node's API: the processes tell nothing else) until it
// holds, failing the test when ctx ends first.
func until(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// newest returns the live edge of a node's low rendition: the newest
// segment's sequence number and URL, the swarm and the ticket.
func newest(t *testing.T, n localNode) (seq uint64, segURL, swarm, ticket string) {
	t.Helper()
	base := n.base + "/live/low/"
	resp, body := get(t, base+"index.m3u8")
	p, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MEDIA {
		t.Fatalf("%s: media playlist: %v", n.name, err)
	}
	media := p.(*m3u8.MediaPlaylist)
	last := media.Segments[media.Count()-1]
	return media.SeqNo + uint64(media.Count()-1), base + last.URI, resp.Header.Get(wire.SwarmHeader), resp.Header.Get(wire.TicketHeader)
}

func joinLocal(t *testing.T, ctx context.Context, n localNode, swarm string, opt testpeer.Options) *testpeer.Peer {
	t.Helper()
	conn, err := wsclient.Dial(ctx, "ws"+strings.TrimPrefix(n.base, "http")+wire.SignalPath)
	if err != nil {
		t.Fatal(err)
	}
	opt.API = testpeer.LoopbackAPI()
	p, err := testpeer.Join(ctx, conn, swarm, opt)
	if err != nil {
		conn.Close()
		t.Fatalf("join %s: %v", n.name, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// TestLocalClusterRunsThreeNodes runs the one command of deploy/local: three
// node processes on their embedded NATS cluster. Go viewers on two of them
// exchange a segment, admitted with a ticket the other node signed; a node
// killed without a goodbye is gone from the others, with its viewers,
// within 5 s.
func TestLocalClusterRunsThreeNodes(t *testing.T) {
	netns.RequireLoopbackOnly(t)
	// The script builds the binary first, as long as that takes; the
	// cluster then has 90 s for the test.
	nodes := startLocalCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, n := range nodes {
		until(t, ctx, n.name+" to see 3 nodes", func() bool { return n.metric("edgeswarm_cluster_nodes") == 3 })
	}
	n2, n3 := nodes[1], nodes[2]

	// A viewer of node2 gets segments pushed by node2's super-peer.
	_, _, swarm, ticket2 := newest(t, n2)
	if _, _, swarm3, _ := newest(t, n3); swarm3 != swarm || ticket2 == "" {
		t.Fatalf("swarm on node3 %q, on node2 %q (ticket %q): one stream must be one swarm", swarm3, swarm, ticket2)
	}
	holder := joinLocal(t, ctx, n2, swarm, testpeer.Options{Upload: true, AcceptPush: true, Ticket: ticket2})
	if _, err := holder.WaitReady(ctx, ""); err != nil {
		t.Fatal(err)
	}
	var seq uint64
	var body []byte
	for {
		s, segURL, _, _ := newest(t, n2)
		resp, b := get(t, segURL)
		if resp.StatusCode != 200 {
			t.Fatalf("segment over HTTP: %d", resp.StatusCode)
		}
		wait, wcancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := holder.Segment(wait, s)
		wcancel()
		if err == nil {
			seq, body = s, b
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no segment pushed to the viewer of node2: %v", err)
		}
	}

	// A viewer of node3, with node2's ticket, connects to it across the bus
	// and gets the segment, verified against a digest node3 has.
	other := joinLocal(t, ctx, n3, swarm, testpeer.Options{Ticket: ticket2})
	if _, err := other.WaitReady(ctx, holder.ID()); err != nil {
		t.Fatalf("viewer on node3 to viewer on node2: %v", err)
	}
	got, err := other.Fetch(ctx, holder.ID(), seq)
	if err != nil {
		t.Fatalf("fetch across nodes: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Fatal("the segment from node2's viewer differs from HTTP")
	}
	if st := other.Stats(); st.P2PBytes != int64(len(body)) {
		t.Errorf("viewer on node3: %+v, want %d p2p bytes", st, len(body))
	}
	if n := n3.metric("edgeswarm_cluster_remote_peers"); n < 1 {
		t.Fatalf("node3 knows %v remote peers, want node2's viewer", n)
	}

	// node2 dies without a goodbye: node1 and node3 drop it and its viewer.
	pid, err := os.ReadFile(filepath.Join(filepath.Dir(n2.log), "node2.pid"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// node1 knows node3's viewer still; node3 knows no other node's.
	for _, c := range []struct {
		n      localNode
		remote float64
	}{{nodes[0], 1}, {n3, 0}} {
		until(t, ctx, c.n.name+" to drop node2 and its viewer", func() bool {
			return c.n.metric("edgeswarm_cluster_nodes") == 2 && c.n.metric("edgeswarm_cluster_remote_peers") == c.remote
		})
	}
	el := time.Since(killed)
	if el > 5*time.Second {
		t.Errorf("node2's viewer removed %v after node2 was killed, want within 5 s", el)
	}
	t.Logf("node2 and its viewer gone from node1 and node3 %v after the kill", el.Round(time.Millisecond))
	// The others play on.
	if resp, _ := get(t, n3.base+"/live/low/index.m3u8"); resp.StatusCode != 200 {
		t.Errorf("node3's playlist after node2 died: %d", resp.StatusCode)
	}
}
