// The delivery engine: it owns the tracker connection, the peers, the
// store and the scheduler, and answers the player adapters' segment loads.
// It knows no player.

import type { EdgeswarmEvents } from "../api";
import { Clock, Emitter, backoff } from "./clock";
import { DEFAULT_SERVER_CONFIG, Options, RULES, Settings, resolve } from "./config";
import { buildHave, HaveMap } from "./frame";
import { Hasher, hex, verify } from "./integrity";
import { compileKeyRules, KeyFn, keyOfURL } from "./keys";
import { Peer, PeerHost, Receiver, RelayOut } from "./peer";
import { PolicyState } from "./policy";
import { MediaSample, RiskController } from "./risk";
import { HttpEstimator, Scheduler, Source } from "./scheduler";
import { Digest, encodeSignal, ServerConfig, SignalMessage } from "./signal";
import { Signaling, WSLike } from "./signaling";
import { Counters, Stats } from "./stats";
import { SegmentStore } from "./store";
import { ErrorKind, sessionId, Telemetry, TelemetryCounts } from "./telemetry";

/** A segment as a player adapter knows it. */
export interface SegmentInfo { url: string; seq?: number; start?: number; duration?: number }
/** Where the player is: media time (s) and rate, and what its media element says. */
export interface Playhead {
  time: number; rate: number; media?: MediaSample;
  /** Bandwidth of the rendition playing (bit/s) and distance to the live edge (ms), when the player knows them. */
  bitrate?: number; liveMs?: number;
}
export type Source_ = "http" | "p2p" | "seed" | "relay";

/** A segment the origin (through the node) answered with a status that is not a success. */
export class HTTPStatusError extends Error {
  constructor(readonly status: number, readonly url: string) { super("HTTP " + status); }
}

/** Where the bytes from a peer count: the super-peer's as seed, a relayed viewer's as relay. */
const peerSource = (p: { seeder: boolean; relayed: boolean }): "p2p" | "seed" | "relay" =>
  p.seeder ? "seed" : p.relayed ? "relay" : "p2p";


export type Events = EdgeswarmEvents;

/** Everything the engine touches outside itself; tests pass fakes. */
export interface Deps {
  clock: Clock;
  fetch: typeof fetch;
  /** undefined: no WebRTC, HTTP only. */
  createPC?: (c: RTCConfiguration) => RTCPeerConnection;
  createWS?: (url: string) => WSLike;
  /** undefined: no WebCrypto, nothing is taken from peers. */
  sha256?: Hasher;
  random: () => number;
  userAgent: string;
  /** User-Agent Client Hints' navigator.userAgentData.mobile, where the browser has it. */
  mobileHint?: boolean;
  /** The page URL, to resolve relative URLs. */
  base?: string;
  /**
   * Subscribes to the main thread's long tasks (ms each, as they end);
   * returns the unsubscribe function. undefined: only timer drift is seen.
   */
  longTasks?: (f: (ms: number) => void) => () => void;
  /** Sends a beacon (navigator.sendBeacon with a text/plain body); undefined: none are sent. */
  beacon?: (url: string, body: string) => boolean;
}

/** A relayed signaling message from another viewer. */
type Relay = Extract<SignalMessage, { type: "relay" }> & { from: string };

interface Xfer {
  key: string; seq?: number; d: Digest; info?: SegmentInfo; peer: Peer; req: number;
  buf: Uint8Array; got: number; gotData: boolean; startedAt: number; lastByteAt: number;
  settle: (b: Uint8Array | undefined) => void; done: Promise<Uint8Array | undefined>;
  /** The player waits for it (else a prefetch); how it ended, for the peer-load event and the load's why. */
  requested: boolean; outcome?: "done" | "abandoned" | "failed";
  /** Bytes that a previous, abandoned load had brought (this one resumed after them). */
  offset: number;
}

export class Engine {
  readonly events = new Emitter<Events>();
  readonly s: Settings;
  cfg: ServerConfig = DEFAULT_SERVER_CONFIG;
  readonly http = new HttpEstimator();
  readonly sched: Scheduler;
  readonly store: SegmentStore;
  readonly c = new Counters();
  /** Risk control: the mode whose limits the engine applies. */
  readonly risk = new RiskController();
  /** The node's policy for this viewer (policy.ts), applied live. */
  readonly policy: PolicyState;
  /** Segments a peer load was abandoned for: never asked from peers again (their bytes would be sent twice). */
  private abandoned = new Set<string>();
  /** Abandoned segments whose HTTP delivery is judged for the risk control (late: a late peer load). */
  private lateCheck = new Set<string>();
  private offLongTasks?: () => void;
  private keyFn: KeyFn = compileKeyRules();
  private sig?: Signaling;
  private peerId?: string;
  private swarm?: string;
  readonly peers = new Map<string, Peer>();
  private seeders = new Set<string>();
  private candidates: string[] = [];
  readonly digests = new Map<string, Digest>();
  private seqKey = new Map<number, string>();
  private xfers = new Map<string, Xfer>();
  private partials = new Map<string, { buf: Uint8Array; got: number; source: "p2p" | "seed" | "relay" }>();
  private segs: SegmentInfo[] = [];
  private playhead: () => Playhead | undefined = () => undefined;
  private joinBase = new Counters();
  private timer: unknown;
  private statsTimer: unknown;
  private haveDirty = false;
  private lastPeerHave = 0;
  private lastTrackerHave = 0;
  private uploadFreeAt = 0;
  private destroyed = false;
  /** Loads waiting for the swarm: woken when a digest, a have or a segment arrives. */
  private wakers = new Set<() => void>();
  private loadsDone = 0;
  /** Viewer peer ids this join heard of (candidates, offers), bounded: candidates again (the larger ones) when a policy turns P2P back on. */
  private knownPeers = new Set<string>();
  private viewerP2POff = false;
  /** Offers from other viewers that came during start-up. */
  private heldOffers = new Map<string, { at: number; msgs: Relay[] }>();
  /** Viewer telemetry (telemetry.ts), reported in stats and, without signaling, in beacons. */
  readonly tel: Telemetry;
  private telBase?: TelemetryCounts;
  private joins = 0;
  private master?: string;
  private media?: { url: string; swarm: string | null };
  private beaconBase = { c: new Counters(), tel: undefined as TelemetryCounts | undefined, session: "" };

  constructor(opts: Options, readonly d: Deps) {
    this.s = resolve(opts, d.userAgent, d.mobileHint);
    this.policy = new PolicyState(opts.upload, this.s.mobile);
    const storeCount = this.s.mobile ? Math.ceil(this.cfg.keep_segments * RULES.mobileStoreFactor) : this.cfg.keep_segments;
    this.store = new SegmentStore(storeCount, this.s.storeBytes, () => this.playhead()?.time);
    this.sched = new Scheduler(this.params(), this.http);
    this.offLongTasks = d.longTasks?.((ms) => this.risk.longTask(this.d.clock.now(), ms));
    this.tel = new Telemetry({
      clock: d.clock, periodMs: () => this.cfg.stats_interval_ms, onPeriod: () => this.sendBeacon(),
      sample: () => { const p = this.playhead(); return p && { time: p.time, media: p.media, bitrate: p.bitrate, liveMs: p.liveMs }; },
    }, d.userAgent, d.random, this.s.mobile, !!d.createPC);
    this.beaconBase.session = sessionId(d.random);
  }

  private params() {
    return { criticalMs: this.policy.criticalMs ?? this.cfg.critical_ms, prefetchMs: this.cfg.prefetch_ms, idleMs: this.cfg.idle_timeout_ms,
      margin: this.s.httpMargin, padMs: this.s.httpPadMs };
  }

  /** Whether P2P can work here at all. */
  get p2pCapable(): boolean { return this.s.p2p && !!this.d.createPC && !!this.d.createWS && !!this.d.sha256; }

  /** The adapter tells where the player is. */
  setPlayhead(f: () => Playhead | undefined): void { this.playhead = f; }

  /** The segments of the current media playlist, with their media times. */
  setSegments(list: SegmentInfo[]): void { this.segs = list; }

  stall(): void { this.c.stalls++; this.risk.stall(this.d.clock.now()); this.tel.stall(); }

  /** The player loads a master playlist: the stream its telemetry is reported under. */
  setMaster(url: string): void { this.master = url; }

  /** Counts an error by kind in the telemetry (the player's own errors are "media"). */
  error(kind: ErrorKind): void { this.tel.error(kind); }

  getStats(): Stats {
    let ready = 0;
    for (const p of this.peers.values()) if (p.ready) ready++;
    const r = this.risk;
    return this.c.snapshot(ready, { swarm: this.swarm, peerId: this.peerId, connected: !!this.sig?.connected,
      mode: r.mode, modeReason: r.reason, risk: { ...r.inputs } });
  }

  /**
   * Counts bytes the player fetched over HTTP past the engine (LL-HLS parts
   * at the live edge), so that the byte figures and the offload stay honest.
   */
  countHTTP(bytes: number): void { if (bytes > 0) this.c.http += bytes; }

  private keyCache = new Map<string, string>();

  /** The content key of a URL under the node's key rules. */
  keyOf(url: string): string {
    let k = this.keyCache.get(url);
    if (k === undefined) {
      k = keyOfURL(this.keyFn, url, this.d.base);
      if (this.keyCache.size > 4096) this.keyCache.clear();
      this.keyCache.set(url, k);
    }
    return k;
  }

  /**
   * A media playlist was loaded: swarm and ticket are its Edgeswarm-Swarm and
   * Edgeswarm-Ticket headers (null when absent). Joins that swarm, leaving the
   * previous one (ABR switch).
   */
  playlist(url: string, swarm: string | null, ticket: string | null): void {
    // The first playlist is the master one unless the adapter said otherwise.
    if (!swarm && !this.master && !this.media) this.master = url;
    else this.media = { url, swarm };
    if (!swarm || !this.p2pCapable || this.destroyed) return;
    if (!this.sig) {
      const base = this.s.node || url;
      const u = new URL("/swarm", new URL(base, this.d.base));
      u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
      this.sig = new Signaling(u.href, {
        clock: this.d.clock, createWS: this.d.createWS!, random: this.d.random,
        onMessage: (m) => this.onSignal(m), onDown: () => { this.tel.error("signal"); this.down(); },
        onError: (code, message) => { this.tel.error("signal"); this.events.emit("error", { code, message }); },
      });
      this.tick();
    }
    if (this.sig.swarm && this.sig.swarm !== swarm) this.sendStats();
    this.sig.want({ swarm, ticket: ticket ?? undefined, upload: this.s.upload, mobile: this.s.mobile, client: this.s.client });
  }

  destroy(): void {
    this.destroyed = true;
    this.offLongTasks?.();
    this.sendStats();
    this.sendBeacon();
    this.tel.stop();
    this.sig?.stop();
    this.down();
    this.d.clock.clearTimeout(this.timer);
    this.d.clock.clearTimeout(this.statsTimer);
    this.store.clear();
  }

  // ---- signaling ----

  private onSignal(m: SignalMessage): void {
    switch (m.type) {
      case "welcome": {
        this.down();
        this.peerId = m.peer_id;
        this.swarm = m.swarm;
        this.cfg = m.config;
        this.policy.join(m.config.holdback);
        this.viewerP2POff = this.policy.noViewerP2P;
        this.keyCache.clear();
        try { this.keyFn = compileKeyRules(m.config.keys); } catch (e) {
          this.events.emit("error", { code: "bad_key_rules", message: String((e as Error).message) });
        }
        this.sched.p = this.params();
        this.store.maxCount = this.s.mobile ? Math.ceil(m.config.keep_segments * RULES.mobileStoreFactor) : m.config.keep_segments;
        this.joinBase = this.c.copy();
        this.telBase = this.tel.counts();
        this.joins++;
        this.d.clock.clearTimeout(this.statsTimer);
        const st = (): void => { this.sendStats(); this.statsTimer = this.d.clock.setTimeout(st, this.cfg.stats_interval_ms); };
        this.statsTimer = this.d.clock.setTimeout(st, this.cfg.stats_interval_ms);
        this.haveDirty = true;
        return;
      }
      case "digest":
        for (const d of m.segments) this.addDigest(d);
        return;
      case "peers":
        for (const p of m.peers) {
          if (p.seeder) this.seeders.add(p.id);
          else this.know(p.id);
          if (!this.peers.has(p.id) && !this.candidates.includes(p.id)) this.candidates.push(p.id);
        }
        this.connectMore();
        return;
      case "peer_left":
        this.knownPeers.delete(m.id);
        this.candidates = this.candidates.filter((c) => c !== m.id);
        this.peers.get(m.id)?.close("peer_left");
        return;
      case "relay":
        this.onRelay(m as Relay);
        return;
      case "policy":
        if (this.policy.apply(m)) this.applyPolicy();
        return;
    }
  }

  private addDigest(d: Digest): void {
    this.digests.set(d.key, d);
    this.wake();
    if (d.seq !== undefined) this.seqKey.set(d.seq, d.key);
    // A segment fetched before its digest arrived can now be verified and shared.
    const h = this.store.get(d.key);
    if (h && !h.verified) void this.verifyHeld(d.key, d);
  }

  private async verifyHeld(key: string, d: Digest): Promise<void> {
    const h = this.store.get(key);
    if (!h || !this.d.sha256) return;
    if (await verify(this.d.sha256, h.data, d)) {
      if (this.store.get(key) === h) { h.verified = true; h.seq = d.seq; this.haveDirty = true; }
      if (d.seq !== undefined) this.store.put({ ...h });
      this.sendHaves(this.d.clock.now());
    }
  }

  private maxPeers(): number { return Math.min(this.s.maxPeers, this.cfg.max_peers, this.risk.limits.peers, this.policy.maxPeers); }

  /**
   * The connections that count against maxPeers when this viewer dials:
   * viewers that serve, or whose hello has not come yet. The super-peer is
   * never asked for a segment, and a viewer that does not serve (a mobile,
   * download-only one) is never a source: those take the room of the
   * connections answered for others (peerCap) instead, so that a viewer
   * seeks maxPeers sources.
   */
  private seeking(): number {
    let n = 0;
    for (const p of this.peers.values()) if (!p.seeder && (!p.ready || p.serves)) n++;
    return n;
  }

  /**
   * A new policy: the critical window is re-read, and the connections it no
   * longer allows close (their loads go to HTTP at once); their ids stay
   * candidates for when the policy allows them again.
   */
  private applyPolicy(): void {
    this.sched.p = this.params();
    const pol = this.policy;
    // P2P back on: every viewer of the join is a candidate again, those
    // whose connections closed (from either end) or whose offers were
    // refused while it was off.
    const me = this.peerId ?? "";
    const backOn = this.viewerP2POff && !pol.noViewerP2P;
    this.viewerP2POff = pol.noViewerP2P;
    if (backOn) {
      this.replayHeldOffers();
      // Every viewer of the swarm turns back on at the same moment: of two,
      // only the smaller id dials (the one that keeps its offer in glare),
      // so that two offers do not cross and both time out.
      this.candidates = this.candidates.filter((c) => this.seeders.has(c) || c > me);
      for (const id of this.knownPeers) if (id > me && !this.peers.has(id) && !this.candidates.includes(id)) this.candidates.push(id);
    }
    for (const p of [...this.peers.values()]) {
      if (pol.httpOnly || (pol.noViewerP2P && !p.seeder) || this.peers.size > this.totalCap()
        || (this.seeking() > this.maxPeers() && !p.seeder && (!p.ready || p.serves))) {
        // Kept as a candidate if this viewer is the one to dial it again
        // (the smaller id, see backOn below); the super-peer always.
        if ((p.seeder || p.id > me) && !this.candidates.includes(p.id)) this.candidates.push(p.id);
        p.close("policy");
      }
    }
    if (pol.httpOnly) this.heldOffers.clear();
    this.connectMore();
  }

  /** Peer connections at most, other viewers' offers included. */
  private peerCap(): number { return Math.min(this.s.maxPeers, this.cfg.max_peers) + RULES.inboundExtraPeers; }

  /** Peer connections at most now: peerCap, within the risk mode's and the policy's caps. */
  private totalCap(): number { return Math.min(this.peerCap(), this.risk.limits.peers, this.policy.maxPeers); }

  /**
   * Start-up first: peer connections (offers, ICE, DTLS, ours and other
   * viewers') wait until the player's first segment is delivered. The
   * swarm's candidates arrive with the media playlist, before the player
   * asks for its first segment; handshakes then would slow that segment
   * down on a busy device, for nothing (a first segment never waits for
   * the swarm).
   */
  private get startingUp(): boolean { return this.loadsDone === 0; }

  private connectMore(): void {
    if (this.startingUp) return;
    // A few connection attempts at a time: each costs the device (and the
    // peer) an ICE and DTLS handshake, and a page that just started playing
    // should not spend its CPU on eight of them at once.
    let connecting = 0;
    for (const p of this.peers.values()) if (!p.ready) connecting++;
    while (this.seeking() < this.maxPeers() && this.peers.size < this.totalCap() && this.candidates.length > 0 && connecting < Math.min(RULES.connectingMax, this.maxPeers())) {
      // With viewer P2P off only the super-peer is dialled; the others wait.
      const i = this.policy.noViewerP2P ? this.candidates.findIndex((c) => this.seeders.has(c)) : 0;
      if (i < 0) return;
      connecting++;
      const id = this.candidates.splice(i, 1)[0]!;
      if (this.peers.has(id)) continue;
      const p = this.newPeer(id);
      void p.offer();
    }
  }

  private onRelay(m: Relay): void {
    if (this.policy.httpOnly || (this.policy.noViewerP2P && !this.seeders.has(m.from))) {
      this.peers.get(m.from)?.close("policy");
      if (this.policy.httpOnly || this.seeders.has(m.from)) return;
      // Viewer P2P off: the offer is kept, answered if P2P comes back on
      // while its offerer still waits (its policy may have changed first).
      this.know(m.from);
      const held = this.heldOffers.get(m.from);
      if (m.kind === "offer") {
        if (held || this.heldOffers.size < this.peerCap()) this.heldOffers.set(m.from, { at: this.d.clock.now(), msgs: [m] });
      } else if (held && held.msgs.length < RULES.heldRelaysPerPeer) held.msgs.push(m);
      return;
    }
    let p = this.peers.get(m.from);
    if (!p && this.startingUp) {
      // Answered once the first segment is in, if the offerer can still
      // be waiting for the answer by then.
      const held = this.heldOffers.get(m.from);
      if (held) { if (held.msgs.length < RULES.heldRelaysPerPeer) held.msgs.push(m); }
      else if (m.kind === "offer" && this.heldOffers.size < Math.min(this.peerCap(), this.risk.limits.peers)) {
        this.heldOffers.set(m.from, { at: this.d.clock.now(), msgs: [m] });
      }
      return;
    }
    if (m.kind === "offer") {
      // Glare: the smaller peer id keeps its own offer.
      if (p && p.offering && this.peerId !== undefined && this.peerId < m.from) return;
      if (!p) {
        // Offers are taken beyond the peers this viewer seeks itself, so
        // that late joiners find room among viewers who are already full.
        if (this.peers.size >= Math.min(this.peerCap(), this.risk.limits.peers)) return;
        p = this.newPeer(m.from);
      }
    }
    void p?.relay(m);
  }

  private newPeer(id: string): Peer {
    if (!this.seeders.has(id)) this.know(id);
    const p = new Peer(id, this.seeders.has(id), this.peerHost());
    this.peers.set(id, p);
    return p;
  }

  private peerHost(): PeerHost {
    const ice = [...this.s.iceServers, ...(this.cfg.ice_servers ?? [])];
    const eng = this;
    return {
      clock: this.d.clock,
      config: () => this.cfg,
      rtc: { iceServers: ice },
      createPC: this.d.createPC!,
      get serves() { return eng.policy.uploads && eng.cfg.keep_segments > 0; },
      // Fixed for the connection: its hello said it (pushes the policy no
      // longer wants are refused, never a protocol error).
      acceptsPush: this.policy.uploads && !this.s.mobile,
      relay: (to: string, r: RelayOut) => { this.sig?.send({ type: "relay", to, ...r }); },
      lookup: (ref) => {
        const key = ref.key ?? (ref.seq !== undefined ? this.seqKey.get(ref.seq) : undefined);
        const h = key !== undefined ? this.store.get(key) : undefined;
        return h?.verified ? h.data : undefined;
      },
      haveMap: (): HaveMap => buildHave(this.store.verifiedSeqs()),
      uploadWait: (n) => {
        const rate = this.policy.uploadRate(this.s.uploadRate);
        if (rate <= 0) return 0;
        const now = this.d.clock.now();
        const at = Math.max(now, this.uploadFreeAt);
        this.uploadFreeAt = at + (n * 1000) / rate;
        return at - now;
      },
      onUpload: (n) => { this.c.upload += n; },
      uploadBusy: () => this.uploadBusy(),
      onReady: (p) => { this.events.emit("peer-connect", { id: p.id, seeder: p.seeder }); this.prefetch(); this.connectMore(); },
      onHave: () => { this.prefetch(); this.wake(); },
      onClose: (p, reason) => {
        if (this.peers.get(p.id) === p) this.peers.delete(p.id);
        this.events.emit("peer-close", { id: p.id, reason });
        if (reason.startsWith("protocol_error")) this.report(p.id, "protocol_error");
        if (/^(protocol_error|offer_failed|signaling_failed|connection_failed|hello_timeout|send_failed)/.test(reason)) this.tel.error("peer");
        if (!this.destroyed) this.connectMore();
      },
      onPush: (p, seq) => this.onPush(p, seq),
    };
  }

  private report(peer: string, reason: string, key?: string, got?: { sha256?: string; size?: number }): void {
    this.sig?.send({ type: "report", peer, reason, key, ...got });
  }

  /** Answers the held offers whose offerers can still be waiting for the answer. */
  private replayHeldOffers(): void {
    const held = [...this.heldOffers.values()];
    this.heldOffers.clear();
    const fresh = this.d.clock.now() - this.cfg.hello_timeout_ms / 2;
    for (const h of held) if (h.at >= fresh) for (const m of h.msgs) this.onRelay(m);
  }

  private know(id: string): void {
    if (this.knownPeers.size >= 256) return;
    this.knownPeers.add(id);
  }

  private down(): void {
    for (const p of [...this.peers.values()]) p.close("swarm_left");
    this.peers.clear();
    this.knownPeers.clear();
    this.candidates = [];
    this.heldOffers.clear();
    this.seeders.clear();
    this.digests.clear();
    this.seqKey.clear();
    if (this.swarm) this.beaconBase = { c: this.c.copy(), tel: this.tel.counts(), session: sessionId(this.d.random) };
    this.swarm = undefined;
    this.peerId = undefined;
    this.d.clock.clearTimeout(this.statsTimer);
  }

  private sendStats(): void {
    if (!this.swarm) return;
    const b = this.joinBase, c = this.c;
    this.sig?.send({
      type: "stats", http_bytes: c.http - b.http, p2p_bytes: c.p2p - b.p2p, seed_bytes: c.seed - b.seed, relay_bytes: c.relay - b.relay,
      upload_bytes: c.upload - b.upload, digest_failures: c.rejected - b.rejected, aborts: c.aborts - b.aborts,
      peers: Math.min(1024, this.getStats().peers),
      ...this.tel.fields(this.telBase, this.s.upload && this.cfg.keep_segments > 0, "join" + this.joins),
      group: this.policy.group(this.p2pCapable), stream: this.streamKey(),
    });
  }

  private streamKey(): string | undefined {
    try { return this.master ? this.keyOf(this.master) : undefined; } catch { return undefined; }
  }

  /**
   * Without a signaling connection (no WebRTC, no swarm, or the tracker
   * down) the viewer reports over HTTP: the same stats message, as a beacon
   * to the node (protocol section 4.4), since the last time it left a swarm.
   */
  private sendBeacon(): void {
    const m = this.media;
    if (this.swarm || !this.d.beacon || !m) return;
    const b = this.beaconBase;
    let body: string, url: string;
    try {
      url = new URL("/edgeswarm/report", new URL(this.s.node || m.url, this.d.base)).href;
      body = encodeSignal({
        type: "stats", http_bytes: this.c.http - b.c.http,
        ...this.tel.fields(b.tel, false, "beacon" + b.session),
        group: "http", stream: this.streamKey(), swarm: m.swarm ?? this.keyOf(m.url), session: b.session,
      });
    } catch { return; /* an unkeyable URL: nothing to report under */ }
    try { this.d.beacon(url, body); } catch { /* never break playback */ }
  }

  // ---- scheduling ----

  private msLeft(info: SegmentInfo | undefined): number | undefined {
    const p = this.playhead();
    if (!info || info.start === undefined || !p) return undefined;
    return ((info.start - p.time) * 1000) / Math.max(p.rate || 1, 0.1);
  }

  /**
   * The viewers that can serve a segment. The super-peer is not asked: it
   * pushes each new live segment to a few viewers, who have it a moment
   * later, and when none does in time HTTP costs the node the same bytes
   * for less work.
   */
  private sources(d: Digest): Source[] {
    const out: Source[] = [];
    if (this.policy.noViewerP2P) return out;
    for (const p of this.peers.values()) {
      if (!p.serves || p.seeder) continue;
      if (d.seq === undefined || !p.holds(d.seq)) continue;
      out.push({ id: p.id, inflight: p.out.size, maxInflight: this.cfg.max_inflight, busyUntil: p.busyUntil, rate: p.rate });
    }
    return out;
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Resolves when something that may give a segment a source arrives, or after ms. */
  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => { this.wakers.delete(done); this.d.clock.clearTimeout(t); resolve(); };
      const t = this.d.clock.setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private tick(): void {
    if (this.destroyed) return;
    const now = this.d.clock.now();
    const drift = this.tickDue ? Math.max(0, now - this.tickDue) : 0;
    if (this.tickDue) this.sched.timerRan(this.tickDue, now);
    this.tickDue = now + RULES.tickMs;
    this.applyRisk(now);
    for (const x of [...this.xfers.values()]) {
      let why = !x.gotData && now - x.startedAt > this.cfg.request_timeout_ms ? "timeout" : this.sched.shouldAbort(now, { ...x, size: x.d.size }, this.msLeft(x.info));
      // This tick ran late: the peer's bytes may be waiting behind it in
      // our own event loop. Silence is judged on a later, punctual tick;
      // the deadline is judged now.
      if ((why === "timeout" || why === "idle") && drift >= RULES.risk.judgeLagMs) why = undefined;
      if (!why && this.risk.limits.loads === 0) why = "risk";
      if (why) this.abort(x, why);
    }
    this.prefetch();
    this.sendHaves(now);
    if (this.trackerHaveDue && now - this.lastTrackerHave >= RULES.haveTrackerMs && this.swarm) {
      this.trackerHaveDue = false;
      this.lastTrackerHave = now;
      this.sig?.send({ type: "have", ranges: ranges(this.store.verifiedSeqs()) });
    }
    this.timer = this.d.clock.setTimeout(() => this.tick(), RULES.tickMs);
  }
  private trackerHaveDue = false;
  private tickDue = 0;

  /**
   * Sends the have-map to the peers when it changed, at most every
   * havePeerMs. Called on every tick and as soon as a segment is verified:
   * a new live segment is what the swarm waits for, and each hop of it
   * through the swarm would otherwise wait for a tick too.
   */
  private sendHaves(now: number): void {
    if (!this.haveDirty || now - this.lastPeerHave < RULES.havePeerMs) return;
    this.haveDirty = false;
    this.lastPeerHave = now;
    for (const p of this.peers.values()) p.sendHave();
    this.trackerHaveDue = true;
  }

  /**
   * Feeds the risk controller and applies its mode: the critical factor,
   * and the peer cap (connections beyond it are closed, the fastest kept,
   * and their ids kept as candidates for when the device recovers).
   */
  private applyRisk(now: number): void {
    // The player's estimate counts once HTTP has been measured (before, it is
    // the player's default), and the network is thin only when the engine's
    // own measure of HTTP says so too (the hls.js adapter reports peer and
    // memory loads at HTTP speed, so the two usually agree).
    const m = this.playhead()?.media;
    const bw = this.http.samples > 0 ? Math.max(m?.bandwidth ?? 0, this.http.bytesPerSec * 8) : undefined;
    if (this.risk.sample(now, this.sched.lagMs, m && { ...m, bandwidth: bw }, this.bitrate())) {
      this.events.emit("mode", { mode: this.risk.mode, reason: this.risk.reason });
    }
    const l = this.risk.limits;
    this.sched.criticalFactor = l.criticalFactor;
    if (this.peers.size > l.peers) {
      const keep = [...this.peers.values()].sort((a, b) => Number(b.ready) - Number(a.ready) || Number(b.seeder) - Number(a.seeder) || b.rate - a.rate);
      for (const p of keep.slice(l.peers)) {
        if (p.out.size > 0 && l.loads > 0) continue; // its load ends first
        if (!this.candidates.includes(p.id)) this.candidates.push(p.id);
        p.close("risk");
      }
    }
    if (this.seeking() < this.maxPeers() && this.peers.size < this.totalCap() && this.candidates.length > 0) this.connectMore();
  }

  /** The stream's bits/s near the playhead, from the digests' sizes (undefined: unknown). */
  private bitrate(): number | undefined {
    const t = this.playhead()?.time;
    if (t === undefined) return undefined;
    for (const s of this.segs) {
      if (s.start === undefined || !s.duration || s.start + s.duration < t) continue;
      const d = this.digests.get(this.keyOf(s.url));
      if (d) return (d.size * 8) / s.duration;
    }
    return undefined;
  }

  /**
   * Whether a request from another viewer is to be answered busy now, and
   * for how long (0: serve it). Uploads yield first: they are shed at a
   * lower risk than anything else, so that a busy device keeps its CPU for
   * its own playback and a peer asks someone else at once rather than
   * receive slowly.
   */
  private uploadBusy(): number {
    const r = RULES.risk;
    if (!this.policy.uploads) return r.uploadRetryMs;
    if (!this.risk.limits.uploads || this.sched.lagMs >= r.uploadLagMs || this.risk.inputs.longTasks >= r.uploadLongTasks) return r.uploadRetryMs;
    return 0;
  }

  /** Starts P2P transfers for segments in the prefetch window. */
  prefetch(): void {
    if (!this.swarm || this.destroyed || this.policy.noViewerP2P) return;
    for (const info of this.segs) {
      if (this.xfers.size >= this.risk.limits.loads) return;
      const key = this.keyOf(info.url);
      if (this.store.get(key) || this.xfers.has(key) || this.abandoned.has(key)) continue;
      const d = this.digests.get(key);
      if (!d) continue;
      const src = this.sources(d);
      if (this.sched.decide(this.msLeft(info), d.size, src.length > 0, false) !== "p2p") continue;
      this.startP2P(key, d, info, src);
    }
  }

  private startP2P(key: string, d: Digest, info: SegmentInfo | undefined, src: Source[]): Xfer | undefined {
    if (this.xfers.size >= this.risk.limits.loads || this.abandoned.has(key)) return undefined;
    const now = this.d.clock.now();
    const pick = this.sched.pick(now, src);
    const peer = pick && this.peers.get(pick.id);
    if (!peer) return undefined;
    const part = this.partials.get(key);
    const buf = part && part.buf.length === d.size ? part.buf : new Uint8Array(d.size);
    const offset = part && part.buf === buf ? part.got : 0;
    let settle!: (b: Uint8Array | undefined) => void;
    const done = new Promise<Uint8Array | undefined>((r) => { settle = r; });
    const x: Xfer = { key, seq: d.seq, d, info, peer, req: -1, buf, got: offset, gotData: false, startedAt: now, lastByteAt: now, settle, done, requested: false, offset };
    x.req = peer.request(d.seq !== undefined ? { seq: d.seq } : { key }, offset, this.receiver(x));
    if (x.req < 0) return undefined;
    this.xfers.set(key, x);
    return x;
  }

  private receiver(x: Xfer): Receiver {
    return {
      data: (size, offset) => {
        if (size !== x.d.size || offset !== x.got) { this.fail(x, "mismatch", size !== x.d.size ? { size } : undefined); return false; }
        x.gotData = true;
        x.lastByteAt = this.d.clock.now();
        return true;
      },
      chunk: (b) => {
        if (x.got + b.length > x.buf.length) { x.peer.close("protocol_error"); return false; }
        x.buf.set(b, x.got);
        x.got += b.length;
        x.lastByteAt = this.d.clock.now();
        return true;
      },
      done: () => void this.complete(x),
      fail: (reason) => {
        if (reason === "busy") this.c.aborts++;
        this.finish(x, undefined, "failed", reason);
      },
    };
  }

  private async complete(x: Xfer): Promise<void> {
    if (x.got !== x.d.size) { x.peer.close("protocol_error"); return; }
    // The hash goes into the report, so that the node can check it
    // against the digest it published.
    const got = this.d.sha256 ? hex(await this.d.sha256(x.buf)) : undefined;
    if (got === undefined || got !== x.d.sha256) return this.fail(x, "digest", got !== undefined ? { sha256: got, size: x.buf.length } : undefined);
    this.partials.delete(x.key);
    const source = peerSource(x.peer);
    this.c[source] += x.d.size;
    this.c.verified++;
    const el = Math.max(1, this.d.clock.now() - x.startedAt);
    x.peer.rate = x.peer.rate ? 0.7 * x.peer.rate + 0.3 * ((x.d.size - 0) * 1000) / el : (x.d.size * 1000) / el;
    this.keep(x.key, x.buf, true, x.d.seq, x.info);
    this.events.emit("segment", { url: x.info?.url ?? x.key, key: x.key, source, bytes: x.d.size });
    this.finish(x, x.buf, "done", "");
  }

  /** A bad segment or a size mismatch: drop the bytes and the peer, report, HTTP. */
  private fail(x: Xfer, why: string, got?: { sha256?: string; size?: number }): void {
    this.c.rejected++;
    this.partials.delete(x.key);
    this.report(x.peer.id, "digest_mismatch", x.key, got);
    x.peer.cancel(x.req);
    this.finish(x, undefined, "failed", why);
    x.peer.close("digest_mismatch");
  }

  /**
   * Abandons a peer load for HTTP, which resumes it from the bytes that
   * came (a Range request). The segment is not asked from peers again: a
   * second peer would send what the first one already sent. The peer's
   * rate learns from what it sent, so that the next pick prefers a faster
   * one.
   */
  private abort(x: Xfer, why: string): void {
    this.c.aborts++;
    x.peer.cancel(x.req);
    if (x.got > 0) this.partials.set(x.key, { buf: x.buf, got: x.got, source: peerSource(x.peer) });
    this.abandoned.add(x.key);
    if (this.abandoned.size > 256) this.abandoned.delete(this.abandoned.values().next().value!);
    const now = this.d.clock.now();
    const sent = ((x.got - x.offset) * 1000) / Math.max(1, now - x.startedAt);
    x.peer.rate = x.peer.rate ? 0.7 * x.peer.rate + 0.3 * sent : sent;
    if (why !== "risk") {
      // Late for the risk control only if HTTP then brings the segment
      // late too (httpLoad): an abandon at the deadline leaves HTTP its
      // safe time, and is no risk to playback by itself.
      this.lateCheck.add(x.key);
      if (this.lateCheck.size > 64) this.lateCheck.delete(this.lateCheck.values().next().value!);
    }
    this.finish(x, undefined, "abandoned", why);
    // A peer that stops answering is dropped and reported; one that is
    // merely slower than this deadline stays. A device whose own event
    // loop lags blames nobody: the silence may be its own.
    if ((why === "idle" || why === "timeout") && this.sched.lagMs < RULES.risk.judgeLagMs) {
      this.report(x.peer.id, "unresponsive", x.key);
      x.peer.close("unresponsive");
    }
  }

  private finish(x: Xfer, b: Uint8Array | undefined, outcome: "done" | "abandoned" | "failed", reason: string): void {
    if (this.xfers.get(x.key) === x) this.xfers.delete(x.key);
    if (x.outcome) return;
    x.outcome = outcome;
    this.events.emit("peer-load", { key: x.key, peer: x.peer.id, outcome, reason, ms: this.d.clock.now() - x.startedAt, bytes: x.got, size: x.d.size, requested: x.requested });
    x.settle(b);
    this.wake();
  }

  private keep(key: string, data: Uint8Array, verified: boolean, seq: number | undefined, info?: SegmentInfo): void {
    const end = info?.start !== undefined && info.duration !== undefined ? info.start + info.duration : undefined;
    this.store.put({ key, seq, data, verified, end });
    if (verified) { this.haveDirty = true; this.sendHaves(this.d.clock.now()); }
    this.wake();
  }

  private onPush(p: Peer, seq: number): Receiver | undefined {
    const known = this.seqKey.get(seq);
    if ((known && (this.store.get(known) || this.xfers.has(known))) || !this.d.sha256 || !this.risk.limits.pushes || this.policy.httpOnly) return undefined;
    let buf = new Uint8Array(0), got = 0;
    return {
      data: (size, offset) => {
        const d = known !== undefined ? this.digests.get(known) : undefined;
        if (offset !== 0 || size > this.store.maxBytes || (d && d.size !== size)) return false;
        buf = new Uint8Array(size);
        return true;
      },
      chunk: (b) => { if (got + b.length > buf.length) return false; buf.set(b, got); got += b.length; return true; },
      done: () => {
        const check = async (waited: number): Promise<void> => {
          const key = this.seqKey.get(seq);
          const d = key !== undefined ? this.digests.get(key) : undefined;
          if (!d) {
            if (waited < RULES.pushDigestWaitMs) this.d.clock.setTimeout(() => void check(waited + 500), 500);
            return;
          }
          if (this.store.get(d.key)) return;
          const got = hex(await this.d.sha256!(buf));
          if (buf.length !== d.size || got !== d.sha256) {
            this.c.rejected++;
            this.report(p.id, "digest_mismatch", d.key, { sha256: got, size: buf.length });
            p.close("digest_mismatch");
            return;
          }
          const source = peerSource(p);
          this.c[source] += d.size;
          this.c.verified++;
          const info = this.segs.find((s) => s.seq === seq);
          this.keep(d.key, buf, true, seq, info);
          this.events.emit("segment", { url: info?.url ?? d.key, key: d.key, source, bytes: d.size });
        };
        void check(0);
      },
      fail: () => undefined,
    };
  }

  // ---- loads from the player ----

  /**
   * Loads a segment the player asked for: from memory, from a running or new
   * P2P transfer that can finish in time, else over HTTP. Resolves with bytes
   * the caller owns.
   */
  async load(url: string, info?: SegmentInfo, signal?: AbortSignal): Promise<{ data: Uint8Array; source: Source_ | "memory" }> {
    try {
      return await this.loadSegment(url, info, signal);
    } finally {
      if (++this.loadsDone === 1 && !this.destroyed) {
        this.replayHeldOffers();
        this.connectMore();
      }
    }
  }

  private async loadSegment(url: string, info?: SegmentInfo, signal?: AbortSignal): Promise<{ data: Uint8Array; source: Source_ | "memory" }> {
    const key = this.keyOf(url);
    const held = this.store.get(key);
    const t0 = this.d.clock.now();
    const done = (source: Source_ | "memory", why: string): void =>
      this.events.emit("load", { key, source, why, waitedMs: this.d.clock.now() - t0 });
    if (held) { done("memory", ""); return { data: held.data.slice(), source: "memory" }; }
    let why = "no_swarm";
    if (this.swarm && this.d.sha256) {
      info ??= this.segs.find((s) => s.url === url);
      const got = await this.fromSwarm(key, info, signal);
      if (typeof got !== "string") { done(got.source, ""); return got; }
      why = got;
    }
    const waited = this.d.clock.now() - t0;
    const data = await this.httpLoad(url, key, info, signal);
    this.events.emit("load", { key, source: "http", why, waitedMs: waited });
    return { data, source: "http" };
  }

  /**
   * Takes a requested segment from the swarm if it can arrive in time: from
   * a viewer that holds it, or one that will. A segment nobody holds yet
   * waits while it has time to spare: for the viewer the super-peer pushes
   * it to, or, when nobody fetched it yet, for a random share of a few
   * seconds, so that one viewer fetches it over HTTP and the others take it
   * from that one. A string: HTTP, and why.
   */
  private async fromSwarm(key: string, info: SegmentInfo | undefined, signal?: AbortSignal): Promise<{ data: Uint8Array; source: Source_ | "memory" } | string> {
    const start = this.d.clock.now();
    const guess = this.digests.get(key)?.size ?? RULES.guessSegmentBytes;
    const spare0 = this.sched.spareMs(this.msLeft(info), guess);
    const electAt = start + Math.min(spare0, RULES.electionMs) * this.d.random();
    // A player that waits for this very segment may not move its playhead
    // (before it starts, or stalled): the wait is bounded by the clock too.
    const giveUpAt = start + Math.min(spare0, RULES.maxWaitMs);
    // Viewers asked for it by this load, each at most once.
    const tried = new Set<string>();
    while (!signal?.aborted && !this.destroyed && this.swarm) {
      const held = this.store.get(key);
      if (held) return { data: held.data.slice(), source: "memory" };
      if (this.risk.limits.loads === 0) return "risk";
      if (this.policy.noViewerP2P) return "policy";
      if (this.abandoned.has(key) && !this.xfers.has(key)) return "abandoned";
      const d = this.digests.get(key);
      let x = this.xfers.get(key);
      if (!x && d) {
        const src = this.sources(d).filter((s) => !tried.has(s.id));
        if (this.sched.decide(this.msLeft(info), d.size, src.length > 0, true) === "p2p") x = this.startP2P(key, d, info, src);
      }
      if (x) {
        x.info ??= info;
        x.requested = true;
        tried.add(x.peer.id);
        const b = await x.done;
        if (b) return { data: b.slice(), source: peerSource(x.peer) };
        // Abandoned (too late, or silent): HTTP. A viewer that answered
        // busy or absent, or whose connection or bytes went bad, leaves the
        // time that is left to another viewer that holds it now, if any
        // (the same rules decide); else HTTP.
        if (x.outcome !== "failed") return x.outcome ?? "failed";
        const dNow = this.digests.get(key);
        const other = dNow && this.sched.pick(this.d.clock.now(), this.sources(dNow).filter((s) => !tried.has(s.id)));
        if (!other) return "failed";
        continue;
      }
      // The player's first segment never waits: before playback starts a
      // player's playhead says nothing of when it needs it (hls.js sits at
      // 0 until it seeks to the live start), and start-up comes first.
      if (this.startingUp) return "startup";
      const now = this.d.clock.now();
      const spare = this.sched.spareMs(this.msLeft(info), d?.size ?? guess);
      if (spare <= 0) return "critical";
      if (!d && now >= electAt) return "no_digest";
      if (now >= giveUpAt) return d ? "no_source" : "no_digest";
      await this.changed(Math.max(1, Math.min(250, spare, giveUpAt - now, d ? spare : electAt - now)));
    }
    return "no_swarm";
  }

  private async httpLoad(url: string, key: string, info: SegmentInfo | undefined, signal?: AbortSignal): Promise<Uint8Array> {
    const r = RULES.httpRetry;
    for (let attempt = 0; ; attempt++) {
      const part = this.partials.get(key);
      const d = this.digests.get(key);
      const from = part && d && part.buf.length === d.size ? part.got : 0;
      const t0 = this.d.clock.now();
      try {
        const res = await this.d.fetch(url, { signal, headers: from > 0 ? { Range: "bytes=" + from + "-" } : undefined, credentials: "same-origin" });
        const t1 = this.d.clock.now();
        if (!res.ok) throw new HTTPStatusError(res.status, url);
        const body = new Uint8Array(await res.arrayBuffer());
        this.http.sample(body.length, t1 - t0, this.d.clock.now() - t0);
        this.c.http += body.length;
        let data = body;
        if (res.status === 206 && from > 0 && part) {
          if (body.length !== part.buf.length - from) { this.partials.delete(key); throw new Error("bad range response"); }
          data = part.buf.slice();
          data.set(body.subarray(0, data.length - from), from);
          this.c[part.source] += from;
        }
        this.partials.delete(key);
        if (this.lateCheck.delete(key)) {
          const left = this.msLeft(info);
          if (left === undefined || left < this.s.httpPadMs) this.risk.lateLoad(this.d.clock.now());
        }
        // The digest often arrives while the fetch runs (this fetch may be
        // what made the node fill and hash the segment): use the current one.
        // A verified copy that landed meanwhile (a push) is kept as it is.
        const dNow = this.digests.get(key);
        if (!this.store.get(key)?.verified) {
          this.keep(key, data, false, dNow?.seq, info);
          if (dNow) void this.verifyHeld(key, dNow);
        }
        this.events.emit("segment", { url, key, source: "http", bytes: body.length });
        return data.slice();
      } catch (e) {
        if (signal?.aborted) throw e;
        this.tel.error("http");
        if (attempt + 1 >= r.attempts) throw e;
        const wait = backoff(attempt, { ...r, jitter: 0.3 }, this.d.random);
        await new Promise<void>((res) => this.d.clock.setTimeout(res, wait));
      }
    }
  }
}

/** Sorted sequences as inclusive, non-adjacent ranges, at most 32 (the newest kept). */
export function ranges(seqs: number[]): [number, number][] {
  const s = [...new Set(seqs)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const x of s) {
    const last = out[out.length - 1];
    if (last && x === last[1] + 1) last[1] = x;
    else out.push([x, x]);
  }
  return out.slice(-32);
}
