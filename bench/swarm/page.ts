// The viewer page of the swarm benchmark, bundled for the browser. The
// runner writes window.__bench (the scenario) and the scripts the scenario
// needs (hls.js, edgeswarm.js or the p2p-media-loader bundle) into a
// document of the node's origin, then this script plays the live stream:
// with the virtual player (no decoding) or with hls.js and a muted video
// element, and window.benchReport() returns what the viewer got and noticed.

import { VPlayer, VSeg } from "./vplayer";

export interface BenchConfig {
  /** "http": no P2P script (the baseline); "edgeswarm": edgeswarm.js; "p2pml": p2p-media-loader. */
  scenario: "http" | "edgeswarm" | "p2pml";
  mode: "virtual" | "video";
  master: string;
  rendition: string;
  liveSync: number;
  /** p2p-media-loader's WebSocket trackers. */
  trackers: string[];
  /** --net: record the peer connections (for benchConns), and a download-only (mobile) viewer. */
  net?: boolean;
  mobile?: boolean;
}

/** One RTCPeerConnection the page made (--net). */
export interface ConnResult {
  /** connected (at some point), failed, or the state it ended in without either. */
  state: string;
  /** The selected candidate pair's local and remote candidate types (host, srflx, prflx, relay), when connected. */
  local?: string; remote?: string;
  /** Addresses of the remote candidates the peer sent (its public address among them, behind a NAT). */
  remoteAddrs: string[];
  /** The selected pair's last round-trip time, ms (getStats currentRoundTripTime), when connected. */
  rttMs?: number;
}

/**
 * Where a viewer's segments came from and why (edgeswarm's load and
 * peer-load events, --net runs): counts by "source/why" of the player's
 * loads, peer loads by "outcome/reason" (prefetches apart), the time to
 * the first ready viewer peer and to the super-peer (ms after the page
 * started), the risk mode changes, and peer connection closes by reason.
 */
export interface DiagResult {
  loads: Record<string, number>;
  peerLoads: Record<string, number>;
  /** Peer loads that completed: their ms, as [p50, max]. */
  peerLoadMs: [number, number] | null;
  firstPeerMs: number | null;
  firstSeedMs: number | null;
  modes: string[];
  closes: Record<string, number>;
}

/** What one viewer reports (the raw file's viewer fields, before the runner adds its own). */
export interface PageResult {
  startupMs: number | null;
  /** Wall seconds since playback started (0 before): the play ratio is playedS over it. */
  sinceStartS: number;
  playedS: number;
  stalls: number;
  stallMs: number;
  latencyS: number | null;
  bytes: { http: number; p2p: number; seed: number; relay?: number };
  upload: number;
  failures: number;
  rejected: number;
  peers: number;
  /** What was played, to derive the rendition from: segments loaded, their bytes and EXTINF seconds. */
  segments: number;
  segmentBytes: number;
  mediaS: number;
  /** Video mode: decoded frames and frames dropped (getVideoPlaybackQuality), and the picture size; null in virtual mode. */
  frames: { total: number; dropped: number; width: number; height: number } | null;
  errors: string[];
  /** Virtual player: per segment [seq, asked ms, arrived ms, buffer ahead s when asked]. */
  log?: [number, number, number, number][];
  diag?: DiagResult;
}

interface Totals { http: number; p2p: number; seed: number; relay?: number; upload: number; failures: number; rejected: number; peers: number }

interface EsStats { httpBytes: number; p2pBytes: number; seedBytes: number; relayBytes?: number; uploadBytes: number; aborts: number; segmentsRejected: number; peers: number }
interface EsEvents {
  error: { code: string; message: string };
  load: { source: string; why: string; waitedMs: number };
  "peer-load": { outcome: string; reason: string; ms: number; requested: boolean };
  "peer-connect": { id: string; seeder: boolean };
  "peer-close": { reason: string };
  mode: { mode: string; reason: string };
}
interface EsSession { getStats(): EsStats; on<K extends keyof EsEvents>(ev: K, f: (e: EsEvents[K]) => void): () => void }

/** Records edgeswarm's diagnostic events into a DiagResult. */
function diagnose(s: EsSession): () => DiagResult {
  const t0 = performance.now();
  const d: DiagResult = { loads: {}, peerLoads: {}, peerLoadMs: null, firstPeerMs: null, firstSeedMs: null, modes: [], closes: {} };
  const inc = (m: Record<string, number>, k: string): void => { m[k] = (m[k] ?? 0) + 1; };
  const took: number[] = [];
  s.on("load", (e) => inc(d.loads, e.source + (e.why ? "/" + e.why : "")));
  s.on("peer-load", (e) => {
    inc(d.peerLoads, (e.requested ? "" : "prefetch ") + e.outcome + (e.reason ? "/" + e.reason : ""));
    if (e.outcome === "done") took.push(e.ms);
  });
  s.on("peer-connect", (e) => {
    const at = Math.round(performance.now() - t0);
    if (e.seeder) d.firstSeedMs ??= at; else d.firstPeerMs ??= at;
  });
  s.on("peer-close", (e) => inc(d.closes, e.reason));
  s.on("mode", (e) => { if (d.modes.length < 32) d.modes.push(Math.round(performance.now() - t0) + " " + e.mode + " " + e.reason); });
  return () => {
    const t = [...took].sort((a, b) => a - b);
    return { ...d, peerLoadMs: t.length ? [Math.round(t[Math.floor(t.length / 2)]!), Math.round(t[t.length - 1]!)] : null };
  };
}
interface NetOptions { mobile?: boolean; upload?: boolean }
interface Edgeswarm {
  attachGeneric(o: { media: () => unknown } & NetOptions): EsSession;
  attachHls(hls: unknown, o?: NetOptions): EsSession;
}

/** edgeswarm.js options of --net: download-only on mobile (the ICE servers come in the node's welcome). */
function netOptions(): NetOptions {
  return cfg.mobile ? { mobile: true, upload: false } : {};
}
interface HlsLevel { url: string[] | string; uri?: string }
interface HlsLike {
  levels: HlsLevel[];
  currentLevel: number;
  playingDate: Date | null;
  on(ev: string, f: (ev: string, data: never) => void): void;
  loadSource(url: string): void;
  attachMedia(v: HTMLVideoElement): void;
  stopLoad(): void;
  destroy(): void;
}
interface HlsClass { new(config: object): HlsLike; Events: Record<string, string> }
interface VLoader {
  playlist(url: string, segs: VSeg[], live: boolean): void;
  playback(position: number, rate: number): void;
  load(seg: VSeg): Promise<ArrayBuffer>;
  stats(): Totals;
  destroy(): void;
}
interface P2PMLGlobal {
  Hls: HlsClass;
  createHls(hlsConfig: object, p2pConfig: object): HlsLike;
  createVirtualLoader(p2pConfig: object): VLoader;
  stats(x: unknown): Totals;
}

const w = window as unknown as {
  __bench: BenchConfig;
  edgeswarm?: Edgeswarm;
  Hls?: HlsClass;
  P2PML?: P2PMLGlobal;
  benchReport?: () => PageResult;
  benchStop?: () => void;
  benchConns?: () => Promise<ConnResult[]>;
};

const cfg = w.__bench;
const errors: string[] = [];

// Every peer connection edgeswarm.js makes, so that the report can say
// which candidate types carried it and whom it tried to reach (it looks
// the constructor up when it connects, after this ran). Outcomes are kept
// as they happen: a closed connection has no stats left.
const conns: { pc: RTCPeerConnection; r: ConnResult }[] = [];
async function selectedPair(pc: RTCPeerConnection, r: ConnResult): Promise<void> {
  try {
    const st = await pc.getStats();
    const byId = new Map<string, Record<string, unknown>>();
    let pairId: string | undefined;
    st.forEach((v: Record<string, unknown>) => {
      byId.set(String(v.id), v);
      if (v.type === "transport" && v.selectedCandidatePairId) pairId = String(v.selectedCandidatePairId);
    });
    const pair = pairId ? byId.get(pairId) : undefined;
    if (pair) {
      r.local = String(byId.get(String(pair.localCandidateId))?.candidateType ?? "");
      r.remote = String(byId.get(String(pair.remoteCandidateId))?.candidateType ?? "");
      if (typeof pair.currentRoundTripTime === "number") r.rttMs = Math.round(pair.currentRoundTripTime * 1000);
    }
  } catch (e) { errors.push("getStats: " + String(e)); }
}
if (cfg.net && typeof RTCPeerConnection !== "undefined") {
  const Orig = RTCPeerConnection;
  const Wrapped = function (this: unknown, c?: RTCConfiguration): RTCPeerConnection {
    const pc = new Orig(c);
    const r: ConnResult = { state: "new", remoteAddrs: [] };
    conns.push({ pc, r });
    pc.addEventListener("connectionstatechange", () => {
      const st = pc.connectionState;
      if (st === "connected") { r.state = st; void selectedPair(pc, r); }
      else if (st === "failed" && r.state !== "connected") r.state = st;
    });
    // candidate:foundation component transport priority address port typ type ...
    const note = (line: string): void => {
      const f = line.trim().split(" ");
      if (f.length > 7 && f[4] && !r.remoteAddrs.includes(f[4])) r.remoteAddrs.push(f[4]);
    };
    const add = pc.addIceCandidate.bind(pc);
    pc.addIceCandidate = ((cand?: RTCIceCandidateInit) => {
      note(cand?.candidate ?? "");
      return add(cand as RTCIceCandidateInit);
    }) as typeof pc.addIceCandidate;
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = ((d: RTCSessionDescriptionInit) => {
      for (const l of (d.sdp ?? "").split("\n")) if (l.startsWith("a=candidate:")) note(l.slice(2));
      return setRemote(d);
    }) as typeof pc.setRemoteDescription;
    return pc;
  } as unknown as typeof RTCPeerConnection;
  Wrapped.prototype = Orig.prototype;
  (window as unknown as { RTCPeerConnection: typeof RTCPeerConnection }).RTCPeerConnection = Wrapped;
}
w.benchConns = async () => {
  await Promise.all(conns.filter((c) => c.pc.connectionState === "connected").map((c) => selectedPair(c.pc, c.r)));
  // Never connected: the final state, or "closed" when given up before failing.
  return conns.map(({ pc, r }) => ({ ...r, state: r.state === "new" ? pc.connectionState : r.state }));
};

const p2pConfig = (): object => ({
  announceTrackers: cfg.trackers,
  rtcConfig: { iceServers: [] },
});

/** Reads a response body completely; resolves with its length. */
async function bodyLength(res: Response): Promise<number> {
  if (!res.ok) throw new Error("HTTP " + res.status);
  return (await res.arrayBuffer()).byteLength;
}

function virtual(): void {
  let totals: () => Totals;
  let session: EsSession | undefined;
  let loader: VLoader | undefined;
  let httpBytes = 0;
  // Playlists always go through window.fetch: edgeswarm's generic adapter
  // reads their swarm headers there.
  const fetchText = async (url: string): Promise<{ url: string; text: string }> => {
    const res = await fetch(url, { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status + " for " + url);
    return { url: res.url || new URL(url, location.href).href, text: await res.text() };
  };
  let loadSegment: (s: VSeg) => Promise<number>;
  let diag: (() => DiagResult) | undefined;
  if (cfg.scenario === "p2pml") {
    const l = loader = w.P2PML!.createVirtualLoader(p2pConfig());
    loadSegment = async (s) => (await l.load(s)).byteLength;
    totals = () => l.stats();
  } else {
    loadSegment = async (s) => {
      const n = await bodyLength(await fetch(s.url));
      if (cfg.scenario === "http") httpBytes += n;
      return n;
    };
    totals = () => ({ http: httpBytes, p2p: 0, seed: 0, upload: 0, failures: 0, rejected: 0, peers: 0 });
  }
  const player: VPlayer = new VPlayer({
    master: cfg.master, rendition: cfg.rendition, liveSync: cfg.liveSync, maxBuffer: 30,
    fetchText, loadSegment, now: () => performance.now(),
    onPlaylist: (url, segs, live) => loader?.playlist(url, segs, live),
    onPlayback: (t, rate) => loader?.playback(t, rate),
  });
  if (cfg.scenario === "edgeswarm") {
    // The generic adapter (the Video.js path), with the model as its media element.
    session = w.edgeswarm!.attachGeneric({ media: () => player, ...netOptions() });
    session.on("error", (e) => errors.push(`edgeswarm ${e.code}: ${e.message}`));
    const s = session;
    totals = () => esTotals(s.getStats());
    diag = diagnose(s);
  }
  void player.start();
  w.benchStop = () => { player.stop(); loader?.destroy(); };
  w.benchReport = () => {
    const r = player.result();
    const t = totals();
    return {
      startupMs: r.startupMs, sinceStartS: r.sinceStartS, playedS: r.playedS, stalls: r.stalls, stallMs: r.stallMs,
      latencyS: Number.isNaN(r.latencyS) ? null : r.latencyS,
      bytes: { http: t.http, p2p: t.p2p, seed: t.seed, relay: t.relay ?? 0 }, upload: t.upload, failures: t.failures,
      rejected: t.rejected, peers: t.peers, segments: r.segments, segmentBytes: r.bytes, mediaS: r.mediaS, frames: null,
      errors: [...errors, ...r.errors], log: r.log, ...(diag ? { diag: diag() } : {}),
    };
  };
}

function esTotals(s: EsStats): Totals {
  return { http: s.httpBytes, p2p: s.p2pBytes, seed: s.seedBytes, relay: s.relayBytes ?? 0, upload: s.uploadBytes, failures: s.aborts, rejected: s.segmentsRejected, peers: s.peers };
}

function video(): void {
  // A muted, autoplaying element on the page, at the stream's own size:
  // Chromium decodes and composites every frame, so dropped frames show
  // a device that cannot keep up.
  const v = document.createElement("video");
  v.muted = true;
  v.autoplay = true;
  v.playsInline = true;
  document.body.style.margin = "0";
  document.body.appendChild(v);
  let segments = 0, segmentBytes = 0, mediaS = 0;
  const t0 = performance.now();
  let playingAt = 0, stalls = 0, stallMs = 0, stalledAt = 0, played = 0, last = 0, latSum = 0, latN = 0;
  v.addEventListener("playing", () => {
    const now = performance.now();
    if (!playingAt) playingAt = now;
    if (stalledAt) { stallMs += now - stalledAt; stalledAt = 0; }
  });
  v.addEventListener("waiting", () => {
    if (playingAt && !stalledAt) { stalls++; stalledAt = performance.now(); }
  });
  // Media played: the playhead's advance between two timeupdates, but not
  // across a seek, and never faster than the wall clock allows (a busy
  // main thread delays timeupdate; that time was still played).
  let lastWall = 0, seeking = false;
  v.addEventListener("seeking", () => { seeking = true; });
  v.addEventListener("seeked", () => { seeking = false; last = v.currentTime; lastWall = performance.now(); });
  v.addEventListener("timeupdate", () => {
    const now = performance.now();
    const d = v.currentTime - last;
    if (playingAt && !seeking && lastWall && d > 0) played += Math.min(d, ((now - lastWall) / 1000) * Math.max(1, v.playbackRate) + 0.25);
    last = v.currentTime;
    lastWall = now;
  });
  const hlsConfig = { liveSyncDurationCount: cfg.liveSync, maxBufferLength: 30, capLevelToPlayerSize: false };
  let hls: HlsLike;
  let totals: () => Totals;
  let httpBytes = 0;
  let Hls: HlsClass;
  if (cfg.scenario === "p2pml") {
    Hls = w.P2PML!.Hls;
    hls = w.P2PML!.createHls(hlsConfig, p2pConfig());
    const h = hls;
    totals = () => w.P2PML!.stats(h);
  } else {
    Hls = w.Hls!;
    hls = new Hls(hlsConfig);
    if (cfg.scenario === "edgeswarm") {
      const s = w.edgeswarm!.attachHls(hls, netOptions());
      s.on("error", (e) => errors.push(`edgeswarm ${e.code}: ${e.message}`));
      totals = () => esTotals(s.getStats());
    } else {
      hls.on(Hls.Events.FRAG_LOADED!, (_e, d: { frag: { stats: { loaded: number } } }) => { httpBytes += d.frag.stats.loaded; });
      totals = () => ({ http: httpBytes, p2p: 0, seed: 0, upload: 0, failures: 0, rejected: 0, peers: 0 });
    }
  }
  // What is played, whoever loaded it (hls.js, edgeswarm or p2p-media-loader).
  hls.on(Hls.Events.FRAG_LOADED!, (_e, d: { frag: { duration: number; type?: string; stats: { loaded: number } }; payload?: ArrayBuffer }) => {
    if (d.frag.type !== undefined && d.frag.type !== "main") return;
    segments++;
    // The payload may already be handed to hls.js's transmuxer worker (detached, 0 bytes).
    segmentBytes += d.frag.stats.loaded || d.payload?.byteLength || 0;
    mediaS += d.frag.duration;
  });
  // ABR off: the rendition the virtual player plays.
  hls.on(Hls.Events.MANIFEST_PARSED!, () => {
    const i = hls.levels.findIndex((l) => String(l.uri ?? l.url).includes(cfg.rendition));
    if (i >= 0) hls.currentLevel = i;
  });
  hls.on(Hls.Events.ERROR!, (_e, d: { fatal: boolean; details: string }) => { if (d.fatal) errors.push("hls fatal: " + d.details); });
  hls.loadSource(cfg.master);
  hls.attachMedia(v);
  const sample = setInterval(() => {
    if (!playingAt || stalledAt || v.paused) return;
    const pd = hls.playingDate;
    if (pd) { latSum += (Date.now() - pd.getTime()) / 1000; latN++; }
  }, 1000);
  w.benchStop = () => { clearInterval(sample); hls.stopLoad(); v.pause(); };
  w.benchReport = () => {
    const t = totals();
    const q = v.getVideoPlaybackQuality();
    const now = performance.now();
    return {
      startupMs: playingAt ? playingAt - t0 : null, sinceStartS: playingAt ? (now - playingAt) / 1000 : 0, playedS: played, stalls,
      stallMs: stallMs + (stalledAt ? now - stalledAt : 0),
      latencyS: latN > 0 ? latSum / latN : null,
      bytes: { http: t.http, p2p: t.p2p, seed: t.seed, relay: t.relay ?? 0 }, upload: t.upload, failures: t.failures,
      rejected: t.rejected, peers: t.peers, segments, segmentBytes, mediaS,
      frames: { total: q.totalVideoFrames, dropped: q.droppedVideoFrames, width: v.videoWidth, height: v.videoHeight },
      errors: [...errors],
    };
  };
}

if (cfg.mode === "video") video(); else virtual();
