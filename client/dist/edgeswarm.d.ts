/*! edgeswarm browser client | Apache-2.0 */
// The public types of edgeswarm. This file holds declarations only: it is
// published as the bundle's edgeswarm.d.ts (with the declarations of the
// exported functions appended), so it must not import anything.

/** Options a page passes to edgeswarm. Every field is optional. */
export interface Options {
  /** Base URL of the node (its /swarm WebSocket). Default: the origin of the first playlist. */
  node?: string;
  /** Peer connections this viewer opens; capped by the node's max_peers. It also answers up to 3 more. Default 5. Used by the peer manager. */
  maxPeers?: number;
  /** Serve segments to peers. Default true on desktop, false on mobile. Used by join caps and hello. */
  upload?: boolean;
  /** Treat this device as mobile (smaller store, download-only). Default: guessed from the user agent. */
  mobile?: boolean;
  /** Extra RTCConfiguration.iceServers; the node's ice_servers are added. Default none (no STUN/TURN). */
  iceServers?: RTCIceServer[];
  /** Upload cap in bytes per second (0 = no cap). Default 0. Used by the responder. */
  uploadRate?: number;
  /** Segment store bound in bytes. Default 64 MiB desktop, 16 MiB mobile. */
  storeBytes?: number;
  /** Disable P2P entirely (HTTP only). Default false. */
  p2p?: boolean;
  /** Extra safety factor applied to the measured HTTP fetch time. Default 2. Used by the scheduler. */
  httpMargin?: number;
  /** Fixed time added to the safe HTTP time, in ms. Default 500. Used by the scheduler. */
  httpPadMs?: number;
  /** Client id sent in join. Default "edgeswarm-js/<version>". */
  client?: string;
}

/** What edgeswarm.getStats() returns. Bytes are cumulative since start. */
export interface Stats {
  /** Segment bytes received over HTTP. */
  httpBytes: number;
  /** Verified segment bytes received from other viewers. */
  p2pBytes: number;
  /** Verified segment bytes received from the node's super-peer. */
  seedBytes: number;
  /**
   * Verified segment bytes received from other viewers through a TURN
   * relay (the selected candidate pair has a relay candidate): node
   * egress, so never counted as p2p.
   */
  relayBytes: number;
  /** Segment bytes sent to peers. */
  uploadBytes: number;
  /** Open peer connections (ready). */
  peers: number;
  /** (p2p + seed + relay) / all bytes, 0..1: the share that came over WebRTC. */
  peerEfficiency: number;
  /** p2p / all bytes, 0..1: the share the node did not send. */
  offload: number;
  /** Segments from peers that matched the node's digest. */
  segmentsVerified: number;
  /** Segments from peers dropped for a size or SHA-256 mismatch. */
  segmentsRejected: number;
  /** P2P transfers abandoned for HTTP (timeout, busy, turned critical). */
  aborts: number;
  /** Playback stalls the player reported. */
  stalls: number;
  /** The swarm joined, if any, and the peer id in it. */
  swarm?: string;
  peerId?: string;
  /** The tracker connection is up. */
  connected: boolean;
  /**
   * Risk control: "p2p" (normal), "cautious" (uploads answered busy, a wider
   * HTTP window, at most 2 peers and 1 peer load), "http-only" (no peers
   * until the device has been calm for a while).
   */
  mode: RiskMode;
  /**
   * Why: the strongest risk signal ("stall", "lag", "long_tasks",
   * "dropped_frames", "buffer", "late_peer_loads", "bandwidth"), or
   * "recovering" (calm, not for long enough yet), or "calm".
   */
  modeReason: string;
  /** What the mode is decided from. */
  risk: RiskInputs;
}

/** Risk modes, from least to most careful. */
export type RiskMode = "p2p" | "cautious" | "http-only";

/** The risk inputs, as getStats() shows them (see the client README). */
export interface RiskInputs {
  /** Timer drift of the page, ms (a recent peak, decaying). */
  lagMs: number;
  /** Share of the last 5 s the main thread spent in long tasks, 0..1. */
  longTasks: number;
  /** Forward buffer, s (absent without a media element or while paused). */
  bufferS?: number;
  /** Change of the forward buffer over the last 5 s, s per s (negative: falling). */
  bufferTrend?: number;
  /** Share of the frames decoded in the last 5 s that were dropped, 0..1. */
  droppedFrames?: number;
  /** Peer loads abandoned for HTTP whose segment HTTP then brought late too, in the last 20 s. */
  lateLoads: number;
  /** Stalls the player reported in the last 30 s. */
  stalls: number;
  /** The player's bandwidth estimate over the stream's bitrate (absent: unknown). */
  bandwidthRatio?: number;
}

/** Where a loaded segment came from. */
export type SegmentSource = "http" | "p2p" | "seed" | "relay" | "memory";

/** Events, by name, with their payloads. */
export interface EdgeswarmEvents {
  /** A segment was delivered to the player or stored from a peer. */
  segment: { url: string; key: string; source: "http" | "p2p" | "seed" | "relay"; bytes: number };
  /** A peer connection became ready. */
  "peer-connect": { id: string; seeder: boolean };
  /** A peer connection closed, with the reason. */
  "peer-close": { id: string; reason: string };
  /** The risk mode changed (see Stats.mode). */
  mode: { mode: RiskMode; reason: string };
  /** A problem worth knowing about; playback continues over HTTP. */
  error: { code: string; message: string };
  /**
   * A segment load of the player ended (diagnostics): where it came from,
   * how long it waited for the swarm before HTTP, or in all (ms), and why
   * it was not taken from a peer: "startup", "no_swarm", "no_digest" (nobody
   * fetched it yet), "no_source" (no peer held it in time), "critical",
   * "abandoned", "failed", "risk", "policy"; "" when it was.
   */
  load: { key: string; source: SegmentSource; why: string; waitedMs: number };
  /**
   * A transfer from a peer ended (diagnostics): "done", "abandoned" for HTTP
   * (reason "critical", "idle", "timeout", "risk") or "failed" (reason
   * "busy", "absent", "closed", "protocol", "digest"); its bytes received
   * of size, ms since it was asked, and whether the player was waiting for it.
   */
  "peer-load": { key: string; peer: string; outcome: "done" | "abandoned" | "failed"; reason: string; ms: number; bytes: number; size: number; requested: boolean };
}

/** One delivery manager, attached to one player. */
export interface Session {
  /** Totals and figures since the session started. */
  getStats(): Stats;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof EdgeswarmEvents>(event: K, f: (e: EdgeswarmEvents[K]) => void): () => void;
  /** Leaves the swarm, closes all connections, frees memory. */
  destroy(): void;
}

/** hls.js config fragment: spread it into new Hls({...}). */
export interface HlsLoaders { fLoader: unknown; pLoader: unknown }

// ---- the functions of the edgeswarm module (global `edgeswarm` in edgeswarm.js) ----

/** The client version. */
export declare const version: string;
/** Whether this browser can do P2P (WebRTC, WebSocket and WebCrypto); without it playback is HTTP only. */
export declare function supported(): boolean;
/** Attaches edgeswarm to an hls.js instance. Call it before hls.loadSource(). */
export declare function attachHls(hls: unknown, opts?: Options): Session;
/**
 * Attaches edgeswarm to Shaka Player: pass the shaka namespace and the
 * shaka.Player (segments it requests come from peers when time allows), or
 * only the video element (requested segments over HTTP). Call it before player.load().
 */
export declare function attachShaka(shaka: unknown, player?: HTMLMediaElement | object, opts?: Options): Session;
/** Options of the generic mode. */
export interface GenericOptions {
  /** Which URLs are segments. Default: .ts, .m4s, .mp4, .m4v, .m4a, .aac, .cmfv, .cmfa. */
  segments?: RegExp;
  /** Which URLs are playlists. Default: .m3u8. */
  playlists?: RegExp;
  /** The media element, for the playhead, or a function returning it (for players that create it later). */
  media?: HTMLMediaElement | (() => HTMLMediaElement | null | undefined);
}
/** Generic mode for any MSE player: intercepts fetch and XMLHttpRequest segment requests by URL. */
export declare function attachGeneric(opts?: Options & GenericOptions): Session;
/**
 * Attaches edgeswarm to a dash.js MediaPlayer (dash.js 4 or 5): segment
 * requests come from peers or HTTP, each video Representation is a swarm.
 * Call it before player.initialize() (or attachSource()).
 */
export declare function attachDashjs(player: object, opts?: Options): Session;
/** Totals over every live session. */
export declare function getStats(): Stats;
/** Subscribes to an event of every session, present and future. */
export declare function on<K extends keyof EdgeswarmEvents>(event: K, f: (e: EdgeswarmEvents[K]) => void): () => void;
