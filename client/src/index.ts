// edgeswarm: hybrid delivery for web video players. Critical segments over
// HTTP, prefetch over WebRTC peers, always falling back to HTTP.

import type { EdgeswarmEvents, Options, Session, Stats } from "./api";
import { attachDashjs as dashjsAdapter, DashjsPlayerLike } from "./adapters/dashjs";
import { attachGeneric as genericAdapter, GenericOptions } from "./adapters/generic";
import { attachHls as hlsAdapter, HlsLike } from "./adapters/hlsjs";
import { attachShaka as shakaAdapter, ShakaLike, ShakaPlayerLike } from "./adapters/shaka";
import { realClock } from "./core/clock";
import { VERSION } from "./core/config";
import { Deps, Engine } from "./core/engine";
import { MODES } from "./core/risk";
import { webHasher } from "./core/integrity";
import type { WSLike } from "./core/signaling";
import { Counters } from "./core/stats";

export const version = VERSION;

/** Whether this browser can do P2P (WebRTC, WebSocket and WebCrypto); without it playback is HTTP only. */
export function supported(): boolean {
  return typeof RTCPeerConnection !== "undefined" && typeof WebSocket !== "undefined" && !!webHasher();
}

function browserDeps(): Deps {
  const g = globalThis as { location?: { href: string }; navigator?: { userAgent: string } };
  let createPC: Deps["createPC"];
  if (typeof RTCPeerConnection !== "undefined") createPC = (c) => new RTCPeerConnection(c);
  return {
    clock: realClock,
    // Bound now: the generic adapter later wraps window.fetch, and the
    // engine's own requests must not go through that wrapper.
    fetch: globalThis.fetch.bind(globalThis),
    createPC,
    createWS: typeof WebSocket !== "undefined" ? (u) => new WebSocket(u) as unknown as WSLike : undefined,
    sha256: webHasher(),
    random: Math.random,
    userAgent: g.navigator?.userAgent ?? "",
    mobileHint: uaMobile(),
    base: g.location?.href,
    longTasks: longTaskObserver(),
    beacon: beaconSender(),
  };
}

/** navigator.sendBeacon with a text/plain body (no CORS preflight), where the browser has it. */
function beaconSender(): Deps["beacon"] {
  const n = (globalThis as { navigator?: Navigator }).navigator;
  if (!n || typeof n.sendBeacon !== "function") return undefined;
  return (url, body) => n.sendBeacon(url, new Blob([body], { type: "text/plain" }));

}

/** navigator.userAgentData.mobile (User-Agent Client Hints), where the browser has it. */
function uaMobile(): boolean | undefined {
  const m = (globalThis as { navigator?: { userAgentData?: { mobile?: unknown } } }).navigator?.userAgentData?.mobile;
  return typeof m === "boolean" ? m : undefined;
}

/** The main thread's long tasks through PerformanceObserver, where the browser reports them. */
function longTaskObserver(): Deps["longTasks"] {
  const PO = (globalThis as { PerformanceObserver?: typeof PerformanceObserver }).PerformanceObserver;
  if (!PO || !(PO.supportedEntryTypes ?? []).includes("longtask")) return undefined;
  return (f) => {
    const o = new PO((l) => { for (const e of l.getEntries()) f(e.duration); });
    try { o.observe({ type: "longtask", buffered: false }); } catch { return () => undefined; }
    return () => o.disconnect();
  };
}

const sessions: Engine[] = [];
const listeners: [keyof EdgeswarmEvents, (e: never) => void][] = [];

function session(opts: Options): { engine: Engine; session: Session } {
  const engine = new Engine(opts, browserDeps());
  sessions.push(engine);
  for (const [k, f] of listeners) engine.events.on(k, f as (e: unknown) => void);
  return {
    engine,
    session: {
      getStats: () => engine.getStats(),
      on: (k, f) => engine.events.on(k, f),
      destroy: () => {
        engine.destroy();
        sessions.splice(sessions.indexOf(engine), 1);
      },
    },
  };
}

/** Attaches edgeswarm to an hls.js instance. Call it before hls.loadSource(). */
export function attachHls(hls: unknown, opts: Options = {}): Session {
  const s = session(opts);
  hlsAdapter(s.engine, hls as HlsLike);
  return s.session;
}

/**
 * Attaches edgeswarm to Shaka Player: pass the shaka namespace and the
 * shaka.Player (segments it requests come from peers when time allows), or
 * only the video element (requested segments over HTTP). Call it before player.load().
 */
export function attachShaka(shaka: unknown, player?: HTMLMediaElement | object, opts: Options = {}): Session {
  const s = session(opts);
  shakaAdapter(s.engine, shaka as ShakaLike, player as HTMLMediaElement | ShakaPlayerLike | undefined);
  return s.session;
}

/** Generic mode for any MSE player: intercepts fetch and XMLHttpRequest segment requests by URL. */
export function attachGeneric(opts: Options & GenericOptions = {}): Session {
  const s = session(opts);
  const off = genericAdapter(s.engine, opts);
  const destroy = s.session.destroy;
  s.session.destroy = () => { off(); destroy(); };
  return s.session;
}

/**
 * Attaches edgeswarm to a dash.js MediaPlayer (dash.js 4 or 5): segment
 * requests come from peers or HTTP, each video Representation is a swarm.
 * Call it before player.initialize() (or attachSource()).
 */
export function attachDashjs(player: object, opts: Options = {}): Session {
  const s = session(opts);
  const off = dashjsAdapter(s.engine, player as DashjsPlayerLike);
  const destroy = s.session.destroy;
  s.session.destroy = () => { off(); destroy(); };
  return s.session;
}

/** Totals over every live session. */
export function getStats(): Stats {
  if (sessions.length === 1) return sessions[0]!.getStats();
  const c = new Counters();
  let peers = 0;
  for (const e of sessions) {
    const s = e.getStats();
    c.http += s.httpBytes; c.p2p += s.p2pBytes; c.seed += s.seedBytes; c.upload += s.uploadBytes;
    c.verified += s.segmentsVerified; c.rejected += s.segmentsRejected; c.aborts += s.aborts; c.stalls += s.stalls;
    peers += s.peers;
  }
  // The most careful session's mode speaks for the page.
  const worst = sessions.map((e) => e.getStats()).sort((a, b) => MODES.indexOf(b.mode) - MODES.indexOf(a.mode))[0];
  return c.snapshot(peers, { connected: sessions.some((e) => e.getStats().connected),
    ...(worst ? { mode: worst.mode, modeReason: worst.modeReason, risk: worst.risk } : {}) });
}

/** Subscribes to an event of every session, present and future. */
export function on<K extends keyof EdgeswarmEvents>(event: K, f: (e: EdgeswarmEvents[K]) => void): () => void {
  const entry: [keyof EdgeswarmEvents, (e: never) => void] = [event, f as (e: never) => void];
  listeners.push(entry);
  const offs = sessions.map((e) => e.events.on(event, f));
  return () => {
    listeners.splice(listeners.indexOf(entry), 1);
    offs.forEach((o) => o());
  };
}

export type { EdgeswarmEvents, Options, Session, Stats } from "./api";
