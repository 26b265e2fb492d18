package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafov/m3u8"
	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/internal/procstat"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/wire"
)

// The seeder benchmark's viewers run in a process of their own (the
// hidden "seeder-viewers" command), in a network namespace of their own
// behind the emulated link, so that the node's CPU and memory figures are
// the node's alone. The bench drives them over stdin and stdout, one JSON
// object a line: a command in, a reply out.

// svCommand is one command of the bench to its viewers.
type svCommand struct {
	// Cmd is "net" (configure the far end of the link), "warm" (fetch
	// the playlist and its newest segments once), "join" (connect the
	// viewers to the super-peer and open their HTTP connections), "open"
	// (count the viewers still connected), "dc" or "http" (every viewer
	// fetches Rounds times every segment from the super-peer, or over
	// HTTP) or "quit".
	Cmd    string `json:"cmd"`
	Rounds int    `json:"rounds,omitempty"`
}

// svReply is the viewers' answer to a command.
type svReply struct {
	Error        string  `json:"error,omitempty"`
	PCs          int     `json:"pcs,omitempty"`
	ConnectS     float64 `json:"connect_s,omitempty"`
	SegmentBytes int     `json:"segment_bytes,omitempty"`
	Segments     int     `json:"segments,omitempty"`
	// RTTms is the shortest TCP connect to the node: one round trip.
	RTTms   float64 `json:"rtt_ms,omitempty"`
	Bytes   int64   `json:"bytes,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	// Open is how many viewers still hold their connection to the
	// super-peer.
	Open int `json:"open,omitempty"`
	// Retries is how many viewers connected only at their second join.
	Retries int `json:"retries,omitempty"`
	// UDPDrops is the datagrams the viewers' namespace dropped for full
	// socket receive buffers during the command.
	UDPDrops int64 `json:"udp_drops,omitempty"`
}

type svOptions struct {
	Node     string // the node's public base URL
	Viewers  int
	Segments int
	Inflight int    // requests each viewer keeps going
	RWnd     int    // the viewers' SCTP receive buffer, bytes (0: pion's)
	Stream   string // media playlist path
	Iface    string // the far end of the emulated link, configured on "net"
	Addr     string // its address with prefix, e.g. 10.77.0.2/30
}

func runSeederViewers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o svOptions
	fs := flag.NewFlagSet("seeder-viewers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Node, "node", "", "the node's public base URL")
	fs.IntVar(&o.Viewers, "viewers", 1, "Go viewers")
	fs.IntVar(&o.Segments, "segments", 4, "segments fetched in turn")
	fs.IntVar(&o.Inflight, "inflight", 2, "requests each viewer keeps going")
	fs.IntVar(&o.RWnd, "rwnd", 0, "the viewers' SCTP receive buffer in bytes (0: pion's default)")
	fs.StringVar(&o.Stream, "stream", "/live/low/index.m3u8", "media playlist path on the node")
	fs.StringVar(&o.Iface, "iface", "", "network interface to configure on the net command")
	fs.StringVar(&o.Addr, "addr", "", "its address with prefix length")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Node == "" || o.Viewers < 1 || o.Segments < 1 || o.Inflight < 1 || o.Inflight > 16 {
		return errors.New("seeder-viewers: want --node, --viewers >= 1, --segments >= 1 and --inflight 1..16")
	}
	v := &svViewers{o: o}
	defer v.close()
	in := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(stdout)
	for in.Scan() {
		var c svCommand
		var r svReply
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			r.Error = "bad command: " + err.Error()
		} else if c.Cmd == "quit" {
			return enc.Encode(r)
		} else if err := v.do(ctx, c, &r); err != nil {
			r.Error = err.Error()
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return in.Err()
}

// svViewers is the viewers' state between commands.
type svViewers struct {
	o       svOptions
	peers   []*testpeer.Peer
	seeders []string
	clients []*http.Client
	swarm   string
	ticket  string
	urls    []string
	seqs    []uint64
	sums    []string
	size    int
}

func (v *svViewers) close() {
	var wg sync.WaitGroup
	for _, p := range v.peers {
		if p != nil {
			wg.Go(func() { _ = p.Close() })
		}
	}
	wg.Wait()
	for _, c := range v.clients {
		c.CloseIdleConnections()
	}
}

func (v *svViewers) do(ctx context.Context, c svCommand, r *svReply) error {
	switch c.Cmd {
	case "net":
		if v.o.Iface == "" {
			return nil
		}
		return configureFarEnd(v.o.Iface, v.o.Addr)
	case "warm":
		return v.warm(ctx, r)
	case "join":
		return v.join(ctx, r)
	case "dc", "http":
		if len(v.peers) == 0 {
			return errors.New("join first")
		}
		t0, drops0 := time.Now(), procstat.UDPRcvbufErrors()
		n := c.Rounds * len(v.seqs)
		// Each viewer keeps Inflight requests going, as the client does
		// (max_inflight); request k of viewer i is k%Inflight's turn.
		lanes := v.o.Inflight
		err := forEachViewer(len(v.peers)*lanes, n/lanes, func(w, k int) error {
			i, j := w/lanes, (w+k*lanes)%len(v.seqs)
			if c.Cmd == "http" {
				return fetchVerified(ctx, v.clients[i], v.urls[j], v.sums[j])
			}
			fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			_, err := v.peers[i].Fetch(fctx, v.seeders[i], v.seqs[j])
			return err
		})
		r.Seconds = time.Since(t0).Seconds()
		r.UDPDrops = procstat.UDPRcvbufErrors() - drops0
		r.Bytes = int64(len(v.peers)) * int64(n/lanes*lanes) * int64(v.size)
		r.Open = v.open()
		return err
	case "open":
		r.Open = v.open()
		return nil
	}
	return fmt.Errorf("unknown command %q", c.Cmd)
}

// open counts the viewers whose connection to the super-peer is up.
func (v *svViewers) open() int {
	n := 0
	for _, p := range v.peers {
		if p.Err() != nil {
			continue
		}
		// Ready now: WaitReady checks before it waits.
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		if _, err := p.WaitReady(ctx, ""); err == nil {
			n++
		}
		cancel()
	}
	return n
}

// warm reads the media playlist and fetches its newest segments once
// over HTTP, so that the node caches them and publishes their digests
// before the viewers join (and before the bench reads the node's memory).
func (v *svViewers) warm(ctx context.Context, r *svReply) error {
	hc := &http.Client{Timeout: 30 * time.Second}
	base, err := url.Parse(v.o.Node)
	if err != nil {
		return err
	}
	resp, err := hc.Get(v.o.Node + v.o.Stream)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	swarm, ticket := resp.Header.Get(wire.SwarmHeader), resp.Header.Get(wire.TicketHeader)
	pl, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MEDIA || swarm == "" {
		return fmt.Errorf("%s: not a media playlist with a swarm (%v, swarm %q)", v.o.Stream, err, swarm)
	}
	media := pl.(*m3u8.MediaPlaylist)
	segs := liveSegments(media)
	if len(segs) < v.o.Segments {
		return fmt.Errorf("%s lists %d segments, want %d", v.o.Stream, len(segs), v.o.Segments)
	}
	// The newest segments: fetching each once caches it on the node,
	// which publishes its digest to the swarm.
	first := len(segs) - v.o.Segments
	for i, s := range segs[first:] {
		u := resolveURL(v.o.Node+v.o.Stream, s.URI)
		b, err := getBytes(ctx, hc, u)
		if err != nil {
			return err
		}
		if v.size == 0 {
			v.size = len(b)
		} else if len(b) != v.size {
			return fmt.Errorf("segment %s: %d bytes, the others %d", u, len(b), v.size)
		}
		v.urls = append(v.urls, u)
		v.seqs = append(v.seqs, media.SeqNo+uint64(first+i))
	}
	v.swarm, v.ticket = swarm, ticket
	r.SegmentBytes, r.Segments = v.size, len(v.seqs)
	r.RTTms = minConnectRTT(base.Host)
	return nil
}

// join connects the viewers to the super-peer and opens their HTTP
// connections.
func (v *svViewers) join(ctx context.Context, r *svReply) error {
	if len(v.seqs) == 0 {
		return errors.New("warm first")
	}
	base, err := url.Parse(v.o.Node)
	if err != nil {
		return err
	}
	swarm, ticket := v.swarm, v.ticket
	t0 := time.Now()
	var retries atomic.Int64
	defer func() { r.Retries = int(retries.Load()) }()
	v.peers = make([]*testpeer.Peer, v.o.Viewers)
	v.seeders = make([]string, v.o.Viewers)
	ws := "ws://" + base.Host + wire.SignalPath
	bind := localAddrTo(base.Host)
	if err := forEachViewer(min(v.o.Viewers, 32), 1, func(w, _ int) error {
		for i := w; i < v.o.Viewers; i += min(v.o.Viewers, 32) {
			p, id, err := joinSeeder(ctx, ws, swarm, ticket, bind, v.o.RWnd)
			if err != nil && ctx.Err() == nil {
				// As a client does: leave and join again, once.
				if p != nil {
					_ = p.Close()
				}
				retries.Add(1)
				p, id, err = joinSeeder(ctx, ws, swarm, ticket, bind, v.o.RWnd)
			}
			v.peers[i], v.seeders[i] = p, id
			if err != nil {
				return fmt.Errorf("viewer %d: %w", i, err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	r.ConnectS, r.PCs = time.Since(t0).Seconds(), len(v.peers)
	for _, seq := range v.seqs {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		d, err := v.peers[0].Digest(dctx, seq)
		cancel()
		if err != nil {
			return fmt.Errorf("digest of segment %d: %w", seq, err)
		}
		v.sums = append(v.sums, d.SHA256)
	}
	v.clients = make([]*http.Client, v.o.Viewers)
	for i := range v.clients {
		v.clients[i] = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: v.o.Inflight, DisableCompression: true}}
	}
	return forEachViewer(v.o.Viewers, 1, func(i, _ int) error {
		return fetchVerified(ctx, v.clients[i], v.o.Node+v.o.Stream, "")
	})
}

// joinSeeder joins swarm as a viewer that offers only to the super-peer
// and takes no pushes, with a UDP socket of its own on bind, and waits
// until their DataChannel is ready.
func joinSeeder(ctx context.Context, ws, swarm, ticket string, bind net.IP, rwnd int) (*testpeer.Peer, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	api, mux, err := viewerAPI(bind, rwnd)
	if err != nil {
		return nil, "", err
	}
	conn, err := wsclient.Dial(ctx, ws)
	if err != nil {
		mux.Close()
		return nil, "", err
	}
	p, err := testpeer.Join(ctx, conn, swarm, testpeer.Options{API: api, OnlySeeders: true, Ticket: ticket})
	if err != nil {
		conn.Close()
		mux.Close()
		return nil, "", err
	}
	id, err := p.WaitReady(ctx, "")
	if err != nil {
		return p, "", fmt.Errorf("connecting to the super-peer: %w (%v)", err, p.Err())
	}
	return p, id, nil
}

// viewerAPI is a pion API whose connections use one UDP socket on ip, as
// one viewer's browser does, with an SCTP receive buffer of rwnd bytes
// (0: pion's). The socket closes with the mux.
func viewerAPI(ip net.IP, rwnd int) (*webrtc.API, io.Closer, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip})
	if err != nil {
		return nil, nil, err
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(ip.IsLoopback())
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if rwnd > 0 {
		se.SetSCTPMaxReceiveBufferSize(uint32(rwnd))
	}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	se.LoggerFactory = quiet
	mux := webrtc.NewICEUDPMux(quiet.NewLogger("ice"), c)
	se.SetICEUDPMux(mux)
	return webrtc.NewAPI(webrtc.WithSettingEngine(se)), mux, nil
}

// localAddrTo is the local address this host uses to reach hostport.
func localAddrTo(hostport string) net.IP {
	c, err := net.Dial("udp4", hostport)
	if err != nil {
		return net.IPv4(127, 0, 0, 1)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP
}

// minConnectRTT is the shortest of a few TCP connects to hostport, in
// milliseconds: a SYN and its SYN-ACK, one round trip of the link.
func minConnectRTT(hostport string) float64 {
	best := time.Duration(0)
	for range 5 {
		t := time.Now()
		c, err := net.DialTimeout("tcp", hostport, 5*time.Second)
		if err != nil {
			continue
		}
		d := time.Since(t)
		c.Close()
		if best == 0 || d < best {
			best = d
		}
	}
	return float64(best.Microseconds()) / 1000
}

// forEachViewer runs fetch(i, k) for k in [0, rounds) one after another,
// for every i in [0, workers) at once, and returns the first error.
func forEachViewer(workers, rounds int, fetch func(i, k int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			for k := range rounds {
				if err := fetch(i, k); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func getBytes(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return b, err
}

// fetchVerified GETs u and, when sum is not empty, checks the body's
// SHA-256, as the DataChannel viewers check theirs.
func fetchVerified(ctx context.Context, c *http.Client, u, sum string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	if sum != "" && !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), sum) {
		return fmt.Errorf("GET %s: body does not match its digest", u)
	}
	return nil
}
