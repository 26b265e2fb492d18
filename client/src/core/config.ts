// Client options and their defaults. The node's welcome config (protocol
// section 4.4) overrides the swarm settings; these are the page's own knobs.

import type { Options } from "../api";
import type { ModeLimits, RiskMode } from "./risk";
import type { ServerConfig } from "./signal";

export type { Options };

export const VERSION = "0.1.0";

/** Resolved options. */
export type Settings = Required<Omit<Options, "node" | "iceServers">> & { node: string; iceServers: RTCIceServer[] };

/** Retry and timeout rules: data, not scattered constants. */
export const RULES = {
  /** Signaling reconnect: first delay, factor, cap, jitter fraction (protocol section 4.5). */
  reconnect: { firstMs: 1000, factor: 2, maxMs: 60000, jitter: 0.5 },
  /** Rejoining on another node of the cluster (failover.ts): at most this much jitter, ms. */
  failoverJitterMs: 250,
  /** HTTP segment retries: attempts, first delay, factor, cap. */
  httpRetry: { attempts: 3, firstMs: 250, factor: 2, maxMs: 2000 },
  /** Before any HTTP fetch was measured, assume this rate (bytes/s) and latency (ms). */
  httpPrior: { bytesPerSec: 500_000, latencyMs: 300 },
  /** Weight of a new HTTP sample in the moving averages. */
  ewma: 0.3,
  /** Scheduler tick period, ms. */
  tickMs: 250,
  /** Coalescing of have updates: peers (at most 4/s), tracker (at most 1/s). */
  havePeerMs: 250, haveTrackerMs: 1000,
  /** Bytes a segment is assumed to have before its digest says. */
  guessSegmentBytes: 1_000_000,
  /** Mobile stores are this fraction of desktop ones. */
  mobileStoreFactor: 0.25,
  /** How long a pushed segment waits for its digest, ms. */
  pushDigestWaitMs: 10000,
  /**
   * A requested segment that no viewer holds yet waits for one while it has
   * this much time to spare beyond its critical threshold, ms.
   */
  waitReserveMs: 1000,
  /**
   * Until someone fetched a new segment (its digest is unknown), a waiting
   * viewer goes to HTTP after a random share of this long (at most its spare
   * time): one viewer of the swarm fetches it first and the others take it
   * from that viewer.
   */
  electionMs: 3000,
  /** The longest a requested segment waits for the swarm, ms, whatever its spare time. */
  maxWaitMs: 6000,
  /** Connection attempts (offers not yet ready) a client runs at once. */
  connectingMax: 3,
  /** Peer connections accepted from others beyond maxPeers (which bounds the ones this viewer opens). */
  inboundExtraPeers: 3,
  /** Relay messages (offer, then ICE candidates) kept per peer whose offer waits for start-up. */
  heldRelaysPerPeer: 64,
  /** The critical threshold grows by this many times the page's timer lag. */
  lagFactor: 3,
  /** Per scheduler tick, the timer-lag peak decays by this factor. */
  lagDecay: 0.95,
  /**
   * Risk control (risk.ts): what predicts a late segment, and what the
   * engine gives up as it rises. Pairs are [cautious, http-only] thresholds.
   */
  risk: {
    /** Long tasks, dropped frames and the buffer trend are measured over this window, ms. */
    windowMs: 5000,
    /** Timer drift peak, ms (the scheduler's lagMs). */
    lagMs: [800, 3000] as [number, number],
    /** Share of the window spent in long tasks. */
    longTasks: [0.5, 0.8] as [number, number],
    /** Share of the window's decoded frames that were dropped; judged from this many frames on. */
    droppedFrames: [0.3, 0.6] as [number, number], minFrames: 30,
    /**
     * Forward buffer, s: cautious at or below the first while it falls at
     * least bufferFallingPerS (s per s over the window, measured over at
     * least trendMinS), http-only at or below the second. Judged only once
     * playback has had armBufferS (a start-up buffer is not a risk).
     */
    bufferLowS: [3, 1] as [number, number], bufferFallingPerS: -0.5, trendMinS: 2, armBufferS: 2,
    /** Peer loads abandoned as late within lateWindowMs. */
    lateLoads: [3, 8] as [number, number], lateWindowMs: 20000,
    /** A stall reported within stallWindowMs means http-only. */
    stallWindowMs: 30000,
    /** The player's bandwidth estimate over the stream's bitrate (falling thresholds). */
    bandwidthRatio: [1.5, 1.1] as [number, number],
    /** Sustained calm before stepping down: cautious to p2p, http-only to cautious, ms. */
    calmMs: [10000, 15000],
    /**
     * A rise within relapseMs of a step down doubles the calm waits (up to
     * maxBackoff times); each relapseMs in p2p mode halves them again.
     */
    relapseMs: 60000, maxBackoff: 8,
    /**
     * Uploads yield first: even in p2p mode a request from another viewer is
     * answered busy (retry after uploadRetryMs) while the drift peak is at
     * least uploadLagMs or long tasks take uploadLongTasks of the window.
     */
    uploadLagMs: 400, uploadLongTasks: 0.4, uploadRetryMs: 2000,
    /**
     * While the drift peak is at least this, ms, a peer that sent nothing
     * in time is not judged unresponsive: our own event loop may be what
     * held its bytes back. Its load still goes to HTTP.
     */
    judgeLagMs: 100,
    /** What each mode allows (peers and loads: at most; Infinity: no extra cap). */
    modes: {
      p2p: { criticalFactor: 1, peers: Infinity, loads: Infinity, uploads: true, pushes: true },
      cautious: { criticalFactor: 2, peers: 2, loads: 1, uploads: false, pushes: true },
      "http-only": { criticalFactor: Infinity, peers: 0, loads: 0, uploads: false, pushes: false },
    } as Record<RiskMode, ModeLimits>,
  },
};

/** The welcome config a client assumes before the node speaks (Go DefaultClientConfig). */
export const DEFAULT_SERVER_CONFIG: ServerConfig = {
  keys: {}, max_peers: 8, max_inflight: 2, chunk_size: 16384, hello_timeout_ms: 5000,
  request_timeout_ms: 2000, idle_timeout_ms: 2000, critical_ms: 8000, prefetch_ms: 30000,
  keep_segments: 60, stats_interval_ms: 10000,
};

/** Guesses whether the device is mobile from a user-agent string. */
export function isMobileUA(ua: string): boolean {
  return /Android|iPhone|iPad|iPod|Mobile|Silk|Kindle/i.test(ua);
}

/**
 * Resolves options against the defaults. A mobile device (the page's
 * option, else User-Agent Client Hints' mobile or the user agent) does
 * not upload unless the page or the node's policy says so.
 */
export function resolve(o: Options, ua: string, uaMobile?: boolean): Settings {
  // A hint of false does not overrule a mobile user agent: some browsers
  // send no hints and report false.
  const mobile = o.mobile ?? (uaMobile === true || isMobileUA(ua));
  return {
    node: o.node ?? "",
    maxPeers: o.maxPeers ?? 5,
    upload: o.upload ?? !mobile,
    mobile,
    iceServers: o.iceServers ?? [],
    uploadRate: o.uploadRate ?? 0,
    storeBytes: o.storeBytes ?? (mobile ? 16 : 64) * 1024 * 1024,
    p2p: o.p2p ?? true,
    httpMargin: o.httpMargin ?? 2,
    httpPadMs: o.httpPadMs ?? 500,
    client: o.client ?? "edgeswarm-js/" + VERSION,
  };
}
