package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/seeder"
	"github.com/edgeswarm/edgeswarm/signal"
	"github.com/edgeswarm/edgeswarm/wire"
)

// This file wires the P2P side: the signaling hub, the super-peer, and the
// flow of segment digests from the cache to the swarms.

// setupSwarms builds the hub and, when enabled, the super-peer.
func (n *Node) setupSwarms(cfg Config) error {
	scfg := cfg.Signal
	if !scfg.Open && scfg.TicketSecret == "" {
		// A single node can sign its own tickets; several nodes behind one
		// name must share signal.ticket_secret.
		var b [32]byte
		_, _ = rand.Read(b[:])
		scfg.TicketSecret = hex.EncodeToString(b[:])
		n.log.Info("signal.ticket_secret not set: generated one for this process (set it when several nodes serve the same viewers)")
	}
	n.ctl.generatedSecret = scfg.TicketSecret
	client := wire.DefaultClientConfig()
	client.StatsIntervalMs = int(cfg.Analytics.Interval.Milliseconds())
	client.Keys = wire.KeyRules{KeepHost: cfg.Upstream.Key.KeepHost, KeepQuery: cfg.Upstream.Key.KeepQuery}
	for _, r := range cfg.Upstream.Key.Rewrites {
		client.Keys.Rewrites = append(client.Keys.Rewrites, wire.Rewrite{Match: r.Match, Replace: r.Replace})
	}
	if err := client.Validate(); err != nil {
		return fmt.Errorf("upstream.key: not expressible to clients: %w", err)
	}
	var onSwarm func(string, int)
	if cfg.SuperPeer {
		onSwarm = func(swarm string, viewers int) {
			if n.seeder != nil {
				n.seeder.SetViewers(swarm, viewers)
			}
		}
	}
	// The super-peer's sockets come first: its STUN server's address
	// heads the ICE servers of every welcome.
	opt := seeder.Options{Log: n.log, Clock: n.now, Registerer: n.metrics.reg, PushFraction: n.pushFraction}
	if cfg.SuperPeer {
		if err := openICESockets(cfg.Seeder, &opt); err != nil {
			return err
		}
		if err := openSTUN(cfg, &opt); err != nil {
			closeICESockets(opt)
			return err
		}
		if e, ok := stunEntry(cfg, udpAddr(opt.STUN), ""); ok {
			client.ICEServers = append(client.ICEServers, e)
		}
	}
	if err := n.setupTURN(cfg, &scfg, &client); err != nil {
		closeICESockets(opt)
		return err
	}
	bus, err := n.newClusterBus(cfg)
	if err != nil {
		closeICESockets(opt)
		return err
	}
	sopt := signal.Options{Log: n.log, Clock: n.now, Registerer: n.metrics.reg, OnSwarm: onSwarm, OnStats: n.stats.Observe, Policy: n.hubPolicy(), SignalURLs: n.signalURLs()}
	if bus != nil {
		sopt.Bus = bus
	}
	hub, err := signal.New(scfg, client, sopt)
	if err != nil {
		closeICESockets(opt)
		return err
	}
	n.hub = hub
	if err := n.startCluster(hub); err != nil {
		return err
	}
	if !cfg.SuperPeer {
		return nil
	}
	if n.seeder, err = seeder.New(cfg.Seeder, hubSignaling{hub}, cacheSource{n.cache}, opt); err != nil {
		closeICESockets(opt)
		return fmt.Errorf("seeder: %w", err)
	}
	return nil
}

// openICESockets opens the super-peer's ICE UDP socket and ICE-TCP
// listener into opt.
func openICESockets(cfg seeder.Config, opt *seeder.Options) (err error) {
	if cfg.ICEUDP != "" {
		if opt.UDP, err = net.ListenPacket("udp", cfg.ICEUDP); err != nil {
			return fmt.Errorf("seeder.ice_udp: %w", err)
		}
	}
	if cfg.ICETCP != "" {
		if opt.TCP, err = net.Listen("tcp", cfg.ICETCP); err != nil {
			closeICESockets(*opt)
			return fmt.Errorf("seeder.ice_tcp: %w", err)
		}
	}
	return nil
}

func closeICESockets(opt seeder.Options) {
	if opt.UDP != nil {
		_ = opt.UDP.Close()
	}
	if opt.TCP != nil {
		_ = opt.TCP.Close()
	}
	if opt.STUN != nil {
		_ = opt.STUN.Close()
	}
}

func udpAddr(c net.PacketConn) net.Addr {
	if c == nil {
		return nil
	}
	return c.LocalAddr()
}

// onFill publishes digests: a segment's to every swarm that lists it, and
// for a media playlist, those of its segments already cached (a segment
// may be filled before the playlist that lists it). A segment the node
// could not store (no-store, private) passed through to its viewer: its
// digest is published all the same, so that viewers share it, but the
// super-peer, which has no copy, does not seed it.
func (n *Node) onFill(fi cache.FillInfo) {
	n.notePlaylist(fi)
	n.prefetchHints(fi) // LL-HLS: llhls.go
	if n.hub == nil {
		return
	}
	switch fi.Kind {
	case cache.KindSegment:
		for _, ref := range n.cache.SwarmsOf(fi.Key) {
			if ref.Init {
				n.publishInit(ref.Swarm, fi.Key, fi.Size, fi.SHA256)
				continue
			}
			n.publish(ref.Swarm, fi.Key, ref.Seq, fi.Size, fi.SHA256, fi.Stored)
		}
	case cache.KindLivePlaylist, cache.KindVODPlaylist:
		if swarms := n.cache.SwarmsIn(fi.Key); len(swarms) > 0 {
			n.onManifest(fi, swarms) // DASH: dash.go
			return
		}
		keys, seq := n.cache.MediaOf(fi.Key)
		if fi.Kind == cache.KindLivePlaylist {
			n.prefetchLiveEdge(fi, fi.Key, keys)
		}
		for i, k := range keys {
			if e, ok := n.cache.PeekContent(k); ok && e.Status() == 200 {
				if sum, ok := e.Digest(); ok {
					n.publish(fi.Key, k, seq+uint64(i), int(e.Size()), sum, false)
				}
			}
		}
	}
}

// liveEdgePrefetch is how many of the newest segments of a live playlist
// the node fetches as soon as the playlist lists them.
const liveEdgePrefetch = 2

// prefetchLiveEdge fetches the newest segments of a live playlist that are
// not cached yet, when the super-peer seeds a swarm with viewers in it: the
// fill publishes the digest and the super-peer pushes the segment into the
// swarm before the viewers' players ask for it, so that they can fetch it
// from each other instead of racing to the node over HTTP. The fetch
// forwards the headers of the playlist request that found the segments.
// It needs the content key to be the segment's path: with key rewrites,
// hosts or queries in keys it does nothing (a wrong path would cache the
// origin's 404 under the segment's key).
func (n *Node) prefetchLiveEdge(fi cache.FillInfo, swarm string, keys []string) {
	kc := n.cfg.Upstream.Key
	if n.seeder == nil || !n.cfg.Seeder.Prefetch || len(kc.Rewrites) > 0 || kc.KeepHost || kc.KeepQuery || n.hub.Viewers(swarm) == 0 {
		return
	}
	for _, k := range keys[max(0, len(keys)-liveEdgePrefetch):] {
		if _, ok := n.cache.PeekContent(k); ok {
			continue
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Upstream.Timeout)
			defer cancel()
			e, _, err := n.cache.Get(ctx, &cache.Request{Key: k, Path: k, Header: fi.Header})
			if err == nil {
				_, _ = e.Wait(ctx)
			}
		}()
	}
}

func (n *Node) publish(swarm, key string, seq uint64, size int, sum [32]byte, fresh bool) {
	if size <= 0 {
		return
	}
	s := seq
	d := wire.SegmentDigest{Key: key, Seq: &s, Size: uint64(size), SHA256: hex.EncodeToString(sum[:])}
	n.hub.PublishDigest(swarm, d)
	if fresh && n.seeder != nil {
		n.seeder.NewSegment(swarm, d)
	}
}

// hubSignaling connects the super-peer to the hub in process.
type hubSignaling struct{ hub *signal.Hub }

func (h hubSignaling) Connect(ctx context.Context) (seeder.Conn, error) {
	return h.hub.Connect(ctx, signal.LocalOptions{Seeder: true})
}

// cacheSource serves the super-peer from the cache, filling on a miss
// through the cache's single flight. With the default key rules a content
// key is the path the origin serves it at.
type cacheSource struct{ c *cache.Cache }

func (s cacheSource) Segment(ctx context.Context, key string) ([]byte, error) {
	if e, ok := s.c.PeekContent(key); ok {
		if body, ok := e.Complete(); ok && e.Status() == 200 {
			return body, nil
		}
	}
	e, _, err := s.c.Get(ctx, &cache.Request{Key: key, Path: key})
	if err != nil {
		return nil, err
	}
	body, err := e.Wait(ctx)
	if err != nil {
		return nil, err
	}
	if e.Status() != 200 {
		return nil, errors.New("segment not available: origin answered " + fmt.Sprint(e.Status()))
	}
	return body, nil
}
