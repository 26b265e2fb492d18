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
	sources := fs.Int("sources", 0, "loopback source addresses (127.0.0.2 on) the viewers dial from, so that ports do not run out (0: one per 16000 viewers)")
	if err := fs.Parse(args); err != nil {
		return err
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
	// One descriptor per viewer here and per viewer in a node, with room
	// for the rest.
	lim, err := raiseFDLimit(uint64(total) + 1024)
	if err != nil {
		return fmt.Errorf("open files: %w", err)
	}
	if lim < uint64(total)+256 {
		return fmt.Errorf("open files: the limit is %d, below %d viewers (run as root, or raise ulimit -n)", lim, total)
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
	fmt.Fprintln(stdout, "| nodes | viewers | node heap+stacks / viewer | node RSS / viewer | storm: joins, time | failed | join p50 / p99 | relay same node p50 / p99 | relay across nodes p50 / p99 | host CPU busy |")
	fmt.Fprintln(stdout, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, n := range sizes {
		c := &signalCase{nodes: n, viewers: *viewers, storm: *storm, stormFor: *stormFor, swarms: *swarms, relays: *relays, sources: *sources, log: stderr}
		if *heapProf != "" {
			c.heapProfile = fmt.Sprintf("%s.%dnodes", *heapProf, n)
		}
		r, err := c.run(ctx, self, tmp)
		if err != nil {
			return fmt.Errorf("%d node(s): %w", n, err)
		}
		across := "n/a"
		if n > 1 {
			across = fmt.Sprintf("%s / %s", ms(r.across[0]), ms(r.across[1]))
		}
		fmt.Fprintf(stdout, "| %d | %d | %s | %s | %d in %s | %d | %s / %s | %s / %s | %s | %s |\n", n, r.connected,
			kib(r.heapPer), kib(r.rssPer), *storm, r.storm.Round(time.Millisecond), r.failed,
			ms(r.join[0]), ms(r.join[1]), ms(r.within[0]), ms(r.within[1]), across, r.busy)
	}
	return nil
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

func kib(b float64) string { return strconv.FormatFloat(b/1024, 'f', 1, 64) + " KiB" }

type signalCase struct {
	nodes, viewers, storm, swarms, relays, sources int
	stormFor                                       time.Duration
	log                                            io.Writer
	heapProfile                                    string
}

type signalResult struct {
	connected       int     // viewers joined when the nodes' memory was read
	heapPer, rssPer float64 // node bytes per viewer
	storm           time.Duration
	failed          int
	join            [2]time.Duration // storm joins, dial to welcome: p50, p99
	within, across  [2]time.Duration
	busy            string
}

func (c *signalCase) run(ctx context.Context, self, tmp string) (*signalResult, error) {
	ns, err := startSignalNodes(ctx, self, tmp, c.nodes)
	if err != nil {
		return nil, err
	}
	var all []*sigViewer
	defer func() {
		// The nodes go first: a node that sees every viewer leave tells
		// each swarm of each departure, work no case measures.
		for _, n := range ns {
			n.p.stop()
		}
		for _, v := range all {
			v.close()
		}
	}()
	before, err := memOf(ns)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.log, "bench signal: %d node(s): connecting %d viewers\n", c.nodes, c.viewers)
	held, lat, failed := c.joinMany(ctx, ns, 0, c.viewers, 0)
	all = append(all, held...)
	if failed > 0 {
		return nil, fmt.Errorf("%d of %d viewers could not join before the storm (join p99 %s)", failed, c.viewers, ms(latPct(lat)[1]))
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
	r := &signalResult{connected: len(held)}
	per := func(a, b int64) float64 { return float64(a-b) / float64(len(held)) }
	r.heapPer = per(after.heap+after.stacks, before.heap+before.stacks)
	r.rssPer = per(after.rss, before.rss)
	fmt.Fprintf(c.log, "bench signal: %d node(s): %d viewers joined; node heap %.0f + stacks %.0f B/viewer, RSS %.0f B/viewer, %d goroutines; the storm: %d joins over %s\n",
		c.nodes, len(held), per(after.heap, before.heap), per(after.stacks, before.stacks), r.rssPer, after.goroutines, c.storm, c.stormFor)

	host0, ok0 := hostBusy()
	t0 := time.Now()
	stormed, lat, failed := c.joinMany(ctx, ns, c.viewers, c.storm, c.stormFor)
	r.storm = time.Since(t0)
	host1, ok1 := hostBusy()
	all = append(all, stormed...)
	r.failed, r.join = failed, latPct(lat)
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
				return nil, err
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
func (c *signalCase) joinMany(ctx context.Context, ns []*signalNode, first, n int, over time.Duration) ([]*sigViewer, []time.Duration, int) {
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
			v, err := dialViewer(ctx, ns[i%len(ns)].addr, c.source(i), fmt.Sprintf("/live/s%d/index.m3u8", i%c.swarms))
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
func startSignalNodes(ctx context.Context, self, dir string, n int) ([]*signalNode, error) {
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
