package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/edgeswarm/edgeswarm/wire"
)

// runSignal is "bench signal": the tracker alone (no media, no WebRTC)
// with Go WebSocket viewers, one node beside a three-node cluster over
// embedded NATS, in one run. The nodes run in processes of their own (this
// binary's hidden signal-node command), so that their memory is theirs;
// the viewers run here. Per case: the node memory per connected viewer, a
// join storm paced over a set time on top of them, and relay latency
// within a node and across nodes.
func runSignal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench signal", flag.ContinueOnError)
	fs.SetOutput(stdout)
	viewers := fs.Int("viewers", 2000, "viewers connected and joined before the storm, spread over the nodes (the issue's target: 100000 with the storm)")
	storm := fs.Int("storm", 2000, "joins of the join storm, on top of the connected viewers (the issue's storm: 10000)")
	stormFor := fs.Duration("storm-for", 2*time.Second, "the storm's joins start evenly spread over this time (the issue's storm: 10s)")
	swarms := fs.Int("swarms", 20, "swarms the viewers are spread over")
	relays := fs.Int("relays", 2000, "relays timed per case and kind (within a node, across nodes), one at a time")
	nodeList := fs.String("nodes", "1,3", "cluster sizes to measure, one after the other")
	heapProf := fs.String("heap-profile", "", "write each case's first node's heap profile, with the viewers joined, to this path (its name gets the cluster size)")
	cpuProf := fs.String("cpu-profile", "", "write each node's CPU profile of the join storm to this path (its name gets the cluster size and the node)")
	sources := fs.Int("sources", 0, "loopback source addresses (127.0.0.2 on) the viewers dial from, so that ports do not run out (0: one per 16000 viewers)")
	pollerList := fs.String("pollers", "", "signal.pollers of the nodes, a comma-separated list measured one after the other for each cluster size (0: a goroutine per connection; empty: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pollers := []int{-1} // -1: the node's default
	if *pollerList != "" {
		pollers = nil
		for f := range strings.SplitSeq(*pollerList, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 {
				return fmt.Errorf("--pollers: %q is not a list of poller counts", *pollerList)
			}
			pollers = append(pollers, n)
		}
	}
	var sizes []int
	for f := range strings.SplitSeq(*nodeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16 {
			return fmt.Errorf("--nodes: %q is not a list of cluster sizes from 1 to 16", *nodeList)
		}
		sizes = append(sizes, n)
	}
	if *viewers < 2 || *storm < 0 || *swarms < 1 || *relays < 0 || *stormFor <= 0 {
		return errors.New("--viewers must be at least 2, --swarms at least 1, --storm, --relays and --storm-for not negative")
	}
	total := *viewers + *storm
	if *sources <= 0 {
		*sources = max(1, (total+15999)/16000)
	}
	if *sources > 250 {
		return errors.New("--sources: at most 250 (127.0.0.2 to 127.0.0.251)")
	}
	// A node holds one descriptor per viewer of its own, a viewer
	// process one per viewer it holds; they inherit this limit.
	perNode := uint64(total/slices.Min(sizes)) + 1024
	lim, err := raiseFDLimit(max(perNode, viewerChunk+1024))
	if err != nil {
		return fmt.Errorf("open files: %w", err)
	}
	if lim < perNode {
		return fmt.Errorf("open files: the limit is %d, below the %d viewers of one node (a process without CAP_SYS_RESOURCE cannot raise its hard limit: raise it first, or spread fewer viewers over more --nodes)", lim, perNode-1024)
	}
	if lim < viewerChunk+256 {
		return fmt.Errorf("open files: the limit is %d, below %d viewers per viewer process", lim, viewerChunk)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "edgeswarm-bench-signal-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(stdout, "bench signal: %d viewers, then a storm of %d joins over %s, in %d swarms; %d relays per kind; viewers from %d loopback addresses; GOMAXPROCS %d, %d CPUs\n\n",
		*viewers, *storm, *stormFor, *swarms, *relays, *sources, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintln(stdout, "| nodes | viewers | node heap+stacks / viewer | node RSS / viewer | storm: joins, time | failed | join p50 / p99 | relay same node p50 / p99 | relay across nodes p50 / p99 | host CPU busy | signal.pollers |")
	fmt.Fprintln(stdout, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, n := range sizes {
		for _, np := range pollers {
			if err := runSignalCase(ctx, stdout, stderr, self, tmp, &signalCase{nodes: n, viewers: *viewers, storm: *storm, stormFor: *stormFor, swarms: *swarms, relays: *relays, sources: *sources, log: stderr, pollers: np, cpuProfile: *cpuProf}, *heapProf); err != nil {
				return err
			}
		}
	}
	return nil
}

// runSignalCase measures one case and prints its row.
func runSignalCase(ctx context.Context, stdout, stderr io.Writer, self, tmp string, c *signalCase, heapProf string) error {
	n := c.nodes
	if heapProf != "" {
		c.heapProfile = fmt.Sprintf("%s.%dnodes", heapProf, n)
		if c.pollers >= 0 {
			c.heapProfile += fmt.Sprintf(".pollers%d", c.pollers)
		}
	}
	r, err := c.run(ctx, self, tmp)
	if err != nil {
		return fmt.Errorf("%d node(s): %w", n, err)
	}
	across := "n/a"
	if n > 1 {
		across = fmt.Sprintf("%s / %s", ms(r.across[0]), ms(r.across[1]))
	}
	connected := strconv.Itoa(r.connected)
	if r.heldFailed > 0 {
		connected += fmt.Sprintf(" (%d failed)", r.heldFailed)
	}
	if r.lost > 0 {
		across += fmt.Sprintf(" (%d relays lost)", r.lost)
	}
	np := "default"
	if c.pollers >= 0 {
		np = strconv.Itoa(c.pollers)
	}
	fmt.Fprintf(stdout, "| %d | %s | %s | %s | %d in %s | %d | %s / %s | %s / %s | %s | %s | %s |\n", n, connected,
		kib(r.heapPer), kib(r.rssPer), c.storm, r.storm.Round(time.Millisecond), r.failed,
		ms(r.join[0]), ms(r.join[1]), ms(r.within[0]), ms(r.within[1]), across, r.busy, np)
	return nil
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

func kib(b float64) string { return strconv.FormatFloat(b/1024, 'f', 1, 64) + " KiB" }

type signalCase struct {
	nodes, viewers, storm, swarms, relays, sources int
	stormFor                                       time.Duration
	log                                            io.Writer
	heapProfile                                    string
	pollers                                        int // signal.pollers of the nodes; -1: the default
	cpuProfile                                     string
}

type signalResult struct {
	connected       int     // viewers joined when the nodes' memory was read
	heldFailed      int     // viewers that could not join before the storm
	lost            int     // relays that never arrived
	heapPer, rssPer float64 // node bytes per viewer
	storm           time.Duration
	failed          int
	join            [2]time.Duration // storm joins, dial to welcome: p50, p99
	within, across  [2]time.Duration
	busy            string
}

func (c *signalCase) run(ctx context.Context, self, tmp string) (*signalResult, error) {
	ns, err := startSignalNodes(ctx, self, tmp, c.nodes, c.pollers)
	if err != nil {
		return nil, err
	}
	var kids []*viewerProc
	var held []*sigViewer
	defer func() {
		// The nodes go first: a node that sees every viewer leave tells
		// each swarm of each departure, work no case measures.
		for _, n := range ns {
			n.p.stop()
		}
		for _, k := range kids {
			_ = k.in.Close()
		}
		for _, v := range held {
			v.close()
		}
		for _, k := range kids {
			k.p.stop()
		}
	}()
	before, err := memOf(ns)
	if err != nil {
		return nil, err
	}
	// This process holds the viewers the relays are timed between; the
	// others are held by viewer processes of at most viewerChunk each (a
	// process may not raise its open-file limit past the hard one).
	local := min(c.viewers, localViewers)
	var addrs []string
	for _, n := range ns {
		addrs = append(addrs, n.addr)
	}
	spawn := func(first, count, stormFirst, stormCount int) error {
		k, err := startViewerProc(ctx, self, tmp, len(kids), c, addrs, first, count, stormFirst, stormCount)
		if err == nil {
			kids = append(kids, k)
		}
		return err
	}
	for first := local; first < c.viewers; first += viewerChunk {
		if err := spawn(first, min(viewerChunk, c.viewers-first), 0, 0); err != nil {
			return nil, err
		}
	}
	stormKids := len(kids)
	for first := c.viewers; first < c.viewers+c.storm; first += viewerChunk {
		if err := spawn(0, 0, first, min(viewerChunk, c.viewers+c.storm-first)); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(c.log, "bench signal: %d node(s): connecting %d viewers (%d viewer processes beside this one)\n", c.nodes, c.viewers, stormKids)
	held, _, failed := c.joinMany(ctx, addrs, 0, local, 0)
	connected := len(held)
	for _, k := range kids {
		l, err := k.line("JOINED")
		if err != nil {
			return nil, err
		}
		var ok, bad int
		if _, err := fmt.Sscan(l, &ok, &bad); err != nil {
			return nil, fmt.Errorf("viewers: %q: %w", l, err)
		}
		connected += ok
		failed += bad
	}
	if failed > 0 {
		fmt.Fprintf(c.log, "bench signal: %d node(s): %d of %d viewers could not join before the storm\n", c.nodes, failed, c.viewers)
	}
	if connected == 0 {
		return nil, errors.New("no viewer joined")
	}
	after, err := memOf(ns)
	if err != nil {
		return nil, err
	}
	if c.heapProfile != "" {
		if _, err := fmt.Fprintf(ns[0].in, "heap %s\n", c.heapProfile); err != nil {
			return nil, err
		}
		if _, err := ns[0].line("HEAP"); err != nil {
			return nil, err
		}
	}
	r := &signalResult{connected: connected, heldFailed: failed}
	per := func(a, b int64) float64 { return float64(a-b) / float64(connected) }
	r.heapPer = per(after.heap+after.stacks, before.heap+before.stacks)
	r.rssPer = per(after.rss, before.rss)
	fmt.Fprintf(c.log, "bench signal: %d node(s): %d viewers joined; node heap %.0f + stacks %.0f B/viewer, RSS %.0f B/viewer, %d goroutines; the storm: %d joins over %s\n",
		c.nodes, connected, per(after.heap, before.heap), per(after.stacks, before.stacks), r.rssPer, after.goroutines, c.storm, c.stormFor)

	if c.cpuProfile != "" {
		for i, n := range ns {
			path := fmt.Sprintf("%s.%dnodes.node%d", c.cpuProfile, c.nodes, i)
			if c.pollers >= 0 {
				path += fmt.Sprintf(".pollers%d", c.pollers)
			}
			if _, err := fmt.Fprintf(n.in, "cpu %s\n", path); err != nil {
				return nil, err
			}
			if _, err := n.line("CPU"); err != nil {
				return nil, err
			}
		}
	}
	host0, ok0 := hostBusy()
	t0 := time.Now()
	for _, k := range kids[stormKids:] {
		if _, err := io.WriteString(k.in, "storm\n"); err != nil {
			return nil, err
		}
	}
	var lat []time.Duration
	for _, k := range kids[stormKids:] {
		l, err := k.line("STORM")
		if err != nil {
			return nil, err
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			return nil, fmt.Errorf("viewers: %q", l)
		}
		bad, _ := strconv.Atoi(f[0])
		r.failed += bad
		for _, x := range f[1:] {
			us, _ := strconv.ParseInt(x, 10, 64)
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
	}
	r.storm = time.Since(t0)
	host1, ok1 := hostBusy()
	if c.cpuProfile != "" {
		for _, n := range ns {
			if _, err := io.WriteString(n.in, "cpustop\n"); err != nil {
				return nil, err
			}
			if _, err := n.line("CPUSTOP"); err != nil {
				return nil, err
			}
		}
	}
	r.join = latPct(lat)
	r.busy = "n/a"
	if ok0 && ok1 {
		r.busy = fmt.Sprintf("%.0f%% of %d", 100*float64(host1-host0)/float64(r.storm)/float64(runtime.NumCPU()), runtime.NumCPU())
	}

	// Relays between viewers of one swarm: viewer i is on node i%nodes
	// in swarm i%swarms, so i and i+swarms*nodes share both, and i and
	// i+swarms share the swarm on another node (with several nodes).
	var within, across []time.Duration
	step := c.swarms * c.nodes
	for k := 0; k+step < len(held) && (len(within) < c.relays || c.nodes > 1 && len(across) < c.relays); k++ {
		for _, o := range []int{k + step, k + c.swarms} {
			a, b := held[k], held[o]
			same := k%c.nodes == o%c.nodes
			if same && len(within) >= c.relays || !same && len(across) >= c.relays {
				continue
			}
			d, err := a.relayTo(ctx, b)
			if err != nil {
				// Counted, not timed: a viewer the node disconnected
				// (a send queue that filled, a late pong on a saturated
				// machine) loses its relays.
				if r.lost++; r.lost == 1 {
					fmt.Fprintf(c.log, "bench signal: %d node(s): a relay was lost (the first; others are counted): %v\n", c.nodes, err)
				}
				if ctx.Err() != nil || r.lost > max(10, c.relays/10) {
					return nil, fmt.Errorf("%d relays lost: %w", r.lost, err)
				}
				continue
			}
			if same {
				within = append(within, d)
			} else {
				across = append(across, d)
			}
		}
	}
	r.within, r.across = latPct(within), latPct(across)
	return r, nil
}

// joinMany connects n viewers numbered from first, the i-th on node
// i%nodes in swarm i%swarms: at once (512 dials in flight) when over is 0,
// else starting evenly spread over that time. It returns the viewers that
// joined, the latency of each (dial to welcome), and how many failed.
func (c *signalCase) joinMany(ctx context.Context, addrs []string, first, n int, over time.Duration) ([]*sigViewer, []time.Duration, int) {
	vs := make([]*sigViewer, n)
	lat := make([]time.Duration, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 512)
	start := time.Now()
	var logged atomic.Bool
	for j := range n {
		i := first + j
		if over > 0 {
			at := start.Add(time.Duration(int64(over) * int64(j) / int64(n)))
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		} else {
			sem <- struct{}{}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if over == 0 {
				defer func() { <-sem }()
			}
			t := time.Now()
			v, err := dialViewer(ctx, addrs[i%len(addrs)], c.source(i), fmt.Sprintf("/live/s%d/index.m3u8", i%c.swarms))
			if err != nil {
				failed.Add(1)
				if !logged.Swap(true) {
					fmt.Fprintf(c.log, "bench signal: a join failed (the first; others are counted): %v\n", err)
				}
				return
			}
			vs[j], lat[j] = v, time.Since(t)
		}()
	}
	wg.Wait()
	var ok []*sigViewer
	var ls []time.Duration
	for j, v := range vs {
		if v != nil {
			ok = append(ok, v)
			ls = append(ls, lat[j])
		}
	}
	return ok, ls, int(failed.Load())
}

// source is the loopback address viewer i dials from.
func (c *signalCase) source(i int) net.IP { return net.IPv4(127, 0, 0, byte(2+i%c.sources)) }

func latPct(ds []time.Duration) [2]time.Duration {
	if len(ds) == 0 {
		return [2]time.Duration{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return [2]time.Duration{s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]}
}

// sigViewer is a lean signaling client: small buffers and one goroutine
// that reads (answering the node's pings) and hands relays over.
type sigViewer struct {
	ws     *websocket.Conn
	id     string
	wmu    sync.Mutex
	relays chan *wire.Relay
}

// sigBufs are the viewers' write buffers, used only while one writes.
var sigBufs sync.Pool

// dialViewer connects from source to a node's /swarm and joins swarm; it
// returns when the welcome arrived.
func dialViewer(ctx context.Context, addr string, source net.IP, swarm string) (*sigViewer, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: source}}
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, NetDialContext: nd.DialContext,
		ReadBufferSize: 1024, WriteBufferSize: 1024, WriteBufferPool: &sigBufs}
	ws, _, err := d.DialContext(ctx, "ws://"+addr+wire.SignalPath, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(wire.MaxMessageSize + 1024)
	v := &sigViewer{ws: ws, relays: make(chan *wire.Relay, 1)}
	if err := v.send(&wire.Join{Swarm: swarm, Caps: wire.Caps{Upload: true}}); err != nil {
		_ = ws.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.SetReadDeadline(dl)
	}
	for {
		m, err := v.recv()
		if err != nil {
			_ = ws.Close()
			return nil, fmt.Errorf("join: %w", err)
		}
		if w, ok := m.(*wire.Welcome); ok {
			v.id = w.PeerID
			break
		}
		if e, ok := m.(*wire.Error); ok {
			_ = ws.Close()
			return nil, fmt.Errorf("join: %s: %s", e.Code, e.Message)
		}
	}
	_ = ws.SetReadDeadline(time.Time{})
	go v.read()
	return v, nil
}

func (v *sigViewer) recv() (wire.Message, error) {
	typ, data, err := v.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if typ != websocket.TextMessage {
		return nil, errors.New("a binary message from the node")
	}
	return wire.DecodeFromServer(data)
}

// read runs until the connection closes, keeping the latest relay.
func (v *sigViewer) read() {
	for {
		m, err := v.recv()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) || errors.Is(err, net.ErrClosed) {
				return
			}
			if _, ok := err.(*wire.Error); ok {
				continue
			}
			return
		}
		if r, ok := m.(*wire.Relay); ok {
			select {
			case v.relays <- r:
			default:
			}
		}
	}
}

func (v *sigViewer) send(m wire.Message) error {
	data, err := wire.Encode(m)
	if err != nil {
		return err
	}
	v.wmu.Lock()
	defer v.wmu.Unlock()
	_ = v.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return v.ws.WriteMessage(websocket.TextMessage, data)
}

func (v *sigViewer) close() { _ = v.ws.Close() }

// relayTo times one offer from v to o, until o has it.
func (v *sigViewer) relayTo(ctx context.Context, o *sigViewer) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for len(o.relays) > 0 {
		<-o.relays
	}
	start := time.Now()
	if err := v.send(&wire.Relay{To: o.id, Session: "bench", Kind: wire.KindOffer, SDP: "v=0\r\n"}); err != nil {
		return 0, err
	}
	for {
		select {
		case r := <-o.relays:
			if r.From == v.id {
				return time.Since(start), nil
			}
		case <-ctx.Done():
			return 0, fmt.Errorf("relay %s -> %s: %w", v.id, o.id, ctx.Err())
		}
	}
}

// signalNode is a node process of the bench.
type signalNode struct {
	p    *proc
	addr string // public address
	in   io.WriteCloser
	out  *bufio.Scanner
}

type signalMem struct {
	heap, stacks, rss int64 // heap in use after a collection, goroutine stacks, resident set
	goroutines        int
}

// startSignalNodes starts n node processes, clustered over their embedded
// nats-servers (routes to the first) when n > 1, and waits until each
// sees all of them.
func startSignalNodes(ctx context.Context, self, dir string, n, pollers int) ([]*signalNode, error) {
	var ns []*signalNode
	fail := func(err error) ([]*signalNode, error) {
		for _, s := range ns {
			s.p.stop()
		}
		return nil, err
	}
	route := ""
	for i := range n {
		args := []string{"signal-node", "--nodes", strconv.Itoa(n), "--name", "n" + strconv.Itoa(i)}
		if route != "" {
			args = append(args, "--route", route)
		}
		if pollers >= 0 {
			args = append(args, "--pollers", strconv.Itoa(pollers))
		}
		cmd := exec.CommandContext(ctx, self, args...)
		in, err := cmd.StdinPipe()
		if err != nil {
			return fail(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return fail(err)
		}
		p, err := startPiped(dir, fmt.Sprintf("signal-node-%d", i), cmd)
		if err != nil {
			return fail(err)
		}
		s := &signalNode{p: p, in: in, out: bufio.NewScanner(out)}
		ns = append(ns, s)
		line, err := s.line("ROUTE")
		if err != nil {
			return fail(err)
		}
		if route == "" && n > 1 {
			route = line
		}
	}
	for _, s := range ns {
		addr, err := s.line("READY")
		if err != nil {
			return fail(err)
		}
		s.addr = addr
	}
	return ns, nil
}

// line reads the node's next line that starts with word and returns the rest.
func (s *signalNode) line(word string) (string, error) {
	for s.out.Scan() {
		if t := s.out.Text(); t == word {
			return "", nil
		} else if rest, ok := strings.CutPrefix(t, word+" "); ok {
			return rest, nil
		}
	}
	return "", s.p.failure(fmt.Errorf("no %s line", word))
}

// memOf returns the nodes' memory, summed.
func memOf(ns []*signalNode) (signalMem, error) {
	var sum signalMem
	for _, s := range ns {
		if _, err := io.WriteString(s.in, "mem\n"); err != nil {
			return sum, err
		}
		l, err := s.line("MEM")
		if err != nil {
			return sum, err
		}
		var m signalMem
		if _, err := fmt.Sscan(l, &m.heap, &m.stacks, &m.rss, &m.goroutines); err != nil {
			return sum, fmt.Errorf("node memory %q: %w", l, err)
		}
		sum.heap += m.heap
		sum.stacks += m.stacks
		sum.rss += m.rss
		sum.goroutines += m.goroutines
	}
	return sum, nil
}

// startPiped starts cmd, whose stdout its caller reads through a pipe, as
// startCmd does otherwise: stderr to dir/<name>.log, its own process group.
func startPiped(dir, name string, cmd *exec.Cmd) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// localViewers is how many viewers the bench process holds itself: the
// relays are timed between them.
const localViewers = 2000

// viewerChunk bounds the viewers of one viewer process, below the open
// file limit of 20000 that many systems give a process.
const viewerChunk = 16000

// viewerProc is a viewer process of bench signal (signal-viewers).
type viewerProc struct {
	p   *proc
	in  io.WriteCloser
	out *bufio.Scanner
}

func startViewerProc(ctx context.Context, self, dir string, i int, c *signalCase, addrs []string, first, count, stormFirst, stormCount int) (*viewerProc, error) {
	cmd := exec.CommandContext(ctx, self, "signal-viewers", "--nodes", strings.Join(addrs, ","),
		"--first", strconv.Itoa(first), "--count", strconv.Itoa(count),
		"--storm-first", strconv.Itoa(stormFirst), "--storm", strconv.Itoa(stormCount), "--storm-for", c.stormFor.String(),
		"--swarms", strconv.Itoa(c.swarms), "--sources", strconv.Itoa(c.sources))
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := startPiped(dir, fmt.Sprintf("signal-viewers-%d-%d", c.nodes, i), cmd)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // a storm's latencies are one line
	return &viewerProc{p: p, in: in, out: sc}, nil
}

func (k *viewerProc) line(word string) (string, error) {
	for k.out.Scan() {
		if rest, ok := strings.CutPrefix(k.out.Text(), word+" "); ok {
			return rest, nil
		}
	}
	return "", k.p.failure(fmt.Errorf("no %s line", word))
}

// runSignalViewers is the hidden "signal-viewers" command: viewers of bench
// signal in a process of their own. It joins --count viewers numbered from
// --first and prints "JOINED ok failed"; at a "storm" line on stdin it
// joins --storm more numbered from --storm-first, spread over --storm-for,
// and prints "STORM failed" and each join's latency in microseconds. It
// holds every viewer until stdin ends.
func runSignalViewers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signal-viewers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.String("nodes", "", "the nodes' public addresses, comma-separated")
	first := fs.Int("first", 0, "number of the first viewer")
	count := fs.Int("count", 0, "viewers to join at once")
	stormFirst := fs.Int("storm-first", 0, "number of the storm's first viewer")
	storm := fs.Int("storm", 0, "viewers of the storm")
	stormFor := fs.Duration("storm-for", time.Second, "the storm's joins start spread over this time")
	swarms := fs.Int("swarms", 20, "swarms")
	sources := fs.Int("sources", 1, "loopback source addresses")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addrs := strings.Split(*nodes, ",")
	if *nodes == "" || *swarms < 1 || *sources < 1 || *stormFor <= 0 {
		return errors.New("signal-viewers: --nodes, --swarms, --sources and --storm-for are needed")
	}
	c := &signalCase{nodes: len(addrs), swarms: *swarms, sources: *sources, log: stderr}
	held, _, failed := c.joinMany(ctx, addrs, *first, *count, 0)
	defer func() {
		for _, v := range held {
			v.close()
		}
	}()
	fmt.Fprintf(stdout, "JOINED %d %d\n", len(held), failed)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() != "storm" {
			continue
		}
		stormed, lat, failed := c.joinMany(ctx, addrs, *stormFirst, *storm, *stormFor)
		held = append(held, stormed...)
		var b strings.Builder
		fmt.Fprintf(&b, "STORM %d", failed)
		for _, d := range lat {
			b.WriteString(" ")
			b.WriteString(strconv.FormatInt(d.Microseconds(), 10))
		}
		fmt.Fprintln(stdout, b.String())
	}
	return nil
}
