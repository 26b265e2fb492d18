// Shaka Player adapter: a networking scheme plugin for http(s) that sends
// segment requests through the engine and reads media playlists (their
// swarm headers and segments). Given the player, a request filter adds
// what the scheduler needs: the media time each requested segment starts
// at, which also places the playlist's other segments for prefetch. With
// DASH, the filter also names the Representation of each video request
// (its swarm) and reads the coming segments from Shaka's segment index.

import { DashSwarms, SWARMS_HEADER } from "../core/dash";
import { type Engine, HTTPStatusError, type SegmentInfo } from "../core/engine";
import { isMediaPlaylist, Timeline } from "../core/playlist";
import { playhead } from "./media";

/* Minimal structural types of the Shaka networking API used here (Shaka >= 4). */
interface ShakaRequest { uris: string[]; method: string; headers: { [k: string]: string } }
interface ShakaResponse {
  uri: string; originalUri: string; data: ArrayBuffer | ArrayBufferView; headers: { [k: string]: string };
  status?: number; fromCache?: boolean; originalRequest?: ShakaRequest;
}
interface ShakaSegmentRef { getStartTime(): number; getEndTime(): number; getUris?(): string[] }
/** The parts of a shaka.extern.Stream used here. */
interface ShakaStream {
  type?: string; originalId?: string | null;
  segmentIndex?: { find(t: number): number | null; get(i: number): ShakaSegmentRef | null } | null;
}
/** The request context Shaka gives request filters: the segment reference and stream for segment loads. */
interface ShakaContext { segment?: ShakaSegmentRef | null; stream?: ShakaStream }
type SchemePlugin = (uri: string, req: ShakaRequest, type: number, progress?: unknown, headersReceived?: unknown, cfg?: unknown) => unknown;
type RequestFilter = (type: number, req: ShakaRequest, ctx?: ShakaContext) => void;
/** The parts of the shaka namespace the adapter uses. */
export interface ShakaLike {
  net: {
    NetworkingEngine: {
      registerScheme(scheme: string, plugin: SchemePlugin, priority?: number): void;
      RequestType: { MANIFEST: number; SEGMENT: number };
      PluginPriority?: { APPLICATION: number };
    };
    HttpFetchPlugin: { parse: SchemePlugin };
  };
  util: {
    AbortableOperation: { notAbortable<T>(p: Promise<T>): unknown };
    /** shaka.util.Error: what Shaka's retry and failure handling understand. */
    Error?: ShakaErrorClass;
  };
}
/** shaka.util.AbortableOperation's constructor: the operation's promise and what aborts it. */
type AbortableOperationClass = new <T>(promise: Promise<T>, onAbort: () => Promise<unknown>) => unknown;
/** A load Shaka aborted. */
const ABORTED = Symbol("aborted");
interface ShakaErrorClass {
  new (severity: number, category: number, code: number, ...data: unknown[]): Error;
  Severity?: { RECOVERABLE: number; CRITICAL: number };
  Category?: { NETWORK: number };
  Code?: { BAD_HTTP_STATUS: number; HTTP_ERROR: number; OPERATION_ABORTED: number };
}
/** The parts of a shaka.Player the adapter uses. */
export interface ShakaPlayerLike {
  getNetworkingEngine(): { registerRequestFilter(f: RequestFilter): void } | null;
  getMediaElement?(): HTMLMediaElement | null;
  addEventListener?(type: string, f: (e: { buffering?: boolean }) => void): void;
}

/** How many DASH segments from the requested one on are reported for prefetch. */
const DASH_AHEAD = 12;

const isPlayer = (x: unknown): x is ShakaPlayerLike => typeof (x as ShakaPlayerLike)?.getNetworkingEngine === "function";

/**
 * Registers the scheme plugin with Shaka (call before player.load). target
 * is the shaka.Player (segments requested from peers when time allows) or
 * only the media element (requested segments over HTTP; pushed segments
 * and serving peers still work).
 */
export function attachShaka(engine: Engine, shaka: ShakaLike, target?: HTMLMediaElement | ShakaPlayerLike): void {
  const NE = shaka.net.NetworkingEngine;
  const base = shaka.net.HttpFetchPlugin.parse;
  const player = isPlayer(target) ? target : undefined;
  const media = (): HTMLMediaElement | null | undefined => (player ? player.getMediaElement?.() : (target as HTMLMediaElement | undefined));
  engine.setPlayhead(() => {
    const m = media();
    return m ? playhead(m) : undefined;
  });
  const timeline = new Timeline();
  const dash = new DashSwarms(engine);
  // Segment start times by request, from the player's request filter.
  const starts = new WeakMap<ShakaRequest, { start: number; end: number }>();
  if (player) {
    player.getNetworkingEngine()?.registerRequestFilter((type, req, ctx) => {
      const s = ctx?.segment;
      if (type !== NE.RequestType.SEGMENT || !s) return;
      try { starts.set(req, { start: s.getStartTime(), end: s.getEndTime() }); } catch { /* not a SegmentReference */ }
      try { if (dash.active && ctx?.stream?.type === "video") dashVideo(ctx.stream, s); } catch { /* never break playback */ }
    });
    // A stall: buffering again after playback started. Shaka ends its
    // startup buffering before its first seek to the live start (it
    // measures the buffer ahead of time 0 then), so the end of a buffering
    // counts as the start only while the element plays; and the buffering
    // of a seek is the seek's, not a stall.
    let started = false;
    player.addEventListener?.("buffering", (e) => {
      const m = media();
      if (!e.buffering) {
        if (m && !m.paused && !m.seeking) started = true;
      } else if (started && !m?.seeking) engine.stall();
    });
  }

  /**
   * A DASH video segment is requested: join its Representation's swarm
   * and report the segments from this one on, from Shaka's index.
   */
  const dashVideo = (stream: ShakaStream, s: ShakaSegmentRef): void => {
    // Shaka names a stream flattened from several Periods by their ids, comma-separated.
    const id = stream.originalId?.split(",").pop();
    dash.representation(id);
    const idx = stream.segmentIndex;
    const at = idx?.find(s.getStartTime());
    if (!idx || at === null || at === undefined) return;
    const list: SegmentInfo[] = [];
    for (let i = at; i < at + DASH_AHEAD; i++) {
      const r = idx.get(i);
      const url = r?.getUris?.()[0];
      if (!r || !url) break;
      list.push({ url, start: r.getStartTime(), duration: r.getEndTime() - r.getStartTime() });
    }
    engine.setSegments(list);
  };

  const segment = (uri: string, req: ShakaRequest, signal?: AbortSignal): Promise<ShakaResponse> => {
    const at = starts.get(req);
    timeline.requested(uri, at?.start);
    const known = timeline.info(uri);
    const info: SegmentInfo = at
      ? { url: uri, seq: known?.seq, start: at.start, duration: at.end - at.start }
      : known ?? { url: uri };
    if (at && known) engine.setSegments(timeline.segments());
    return engine.load(uri, info, signal).then(({ data, source }): ShakaResponse => ({
      uri, originalUri: uri, data: data.buffer.byteLength === data.length ? data.buffer as ArrayBuffer : data.slice().buffer as ArrayBuffer,
      headers: { "content-length": String(data.length) }, status: 200,
      // Peer and memory speed says nothing about the network: keep it out of Shaka's bandwidth estimate.
      fromCache: source !== "http",
      originalRequest: req,
    }), (e: unknown) => { throw shakaError(shaka, uri, signal?.aborted ? ABORTED : e, NE.RequestType.SEGMENT); });
  };

  const plugin: SchemePlugin = (uri, req, type, ...rest) => {
    if (type === NE.RequestType.SEGMENT && req.method === "GET" && !Object.keys(req.headers).some((h) => h.toLowerCase() === "range")) {
      // Abortable, as Shaka's own plugin: Shaka aborts what it no longer
      // needs (a seek, a switch, unload), and the engine stops waiting for
      // peers and stops the HTTP fetch.
      const AO = shaka.util.AbortableOperation as unknown;
      if (typeof AO === "function" && typeof AbortController === "function") {
        const ctl = new AbortController();
        return new (AO as AbortableOperationClass)(segment(uri, req, ctl.signal), () => { ctl.abort(); return Promise.resolve(); });
      }
      return shaka.util.AbortableOperation.notAbortable(segment(uri, req));
    }
    const op = base(uri, req, type, ...rest) as { promise: Promise<ShakaResponse> };
    if (type === NE.RequestType.MANIFEST) {
      void op.promise.then((r) => {
        try {
          const h = (n: string): string | null => r.headers[n.toLowerCase()] ?? r.headers[n] ?? null;
          const url = r.uri || uri;
          engine.playlist(url, h("Edgeswarm-Swarm"), h("Edgeswarm-Ticket"));
          dash.manifest(url, h(SWARMS_HEADER));
          const text = new TextDecoder().decode(r.data);
          if (isMediaPlaylist(text) && timeline.update(url, text)) engine.setSegments(timeline.segments());
        } catch { /* never break playback */ }
      }, () => undefined);
    }
    return op;
  };
  const prio = NE.PluginPriority?.APPLICATION ?? 3;
  NE.registerScheme("http", plugin, prio);
  NE.registerScheme("https", plugin, prio);
}

/**
 * A failed segment load as Shaka's own HTTP plugin reports it: a
 * shaka.util.Error of the NETWORK category, RECOVERABLE (so that Shaka
 * retries it and, on a live stream, goes on) except for 401 and 403, as
 * Shaka's plugin does; a load Shaka aborted is OPERATION_ABORTED. A plain
 * Error is neither retried nor understood: the player surfaced it as an
 * error without a code.
 */
export function shakaError(shaka: ShakaLike, uri: string, e: unknown, requestType: number): unknown {
  const E = shaka.util.Error;
  if (!E) return e;
  const sev = E.Severity ?? { RECOVERABLE: 1, CRITICAL: 2 };
  const network = E.Category?.NETWORK ?? 1;
  const code = E.Code ?? { BAD_HTTP_STATUS: 1001, HTTP_ERROR: 1002, OPERATION_ABORTED: 7001 };
  if (e === ABORTED) return new E(sev.RECOVERABLE, network, code.OPERATION_ABORTED, uri, requestType);
  if (e instanceof HTTPStatusError) {
    const severity = e.status === 401 || e.status === 403 ? sev.CRITICAL : sev.RECOVERABLE;
    return new E(severity, network, code.BAD_HTTP_STATUS, uri, e.status, null, {}, requestType, e.url);
  }
  return new E(sev.RECOVERABLE, network, code.HTTP_ERROR, uri, e, requestType);
}
