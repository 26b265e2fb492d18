// Shaka Player adapter: a networking scheme plugin for http(s) that sends
// segment requests through the engine and reads media playlists (their
// swarm headers and segments). Given the player, a request filter adds
// what the scheduler needs: the media time each requested segment starts
// at, which also places the playlist's other segments for prefetch. With
// DASH, the filter also names the Representation of each video request
// (its swarm) and reads the coming segments from Shaka's segment index.

import { DashSwarms, SWARMS_HEADER } from "../core/dash";
import type { Engine, SegmentInfo } from "../core/engine";
import { isMediaPlaylist, Timeline } from "../core/playlist";
import { playhead } from "./media";

/* Minimal structural types of the Shaka networking API used here (Shaka >= 4). */
interface ShakaRequest { uris: string[]; method: string; headers: { [k: string]: string } }
interface ShakaResponse {
  uri: string; originalUri: string; data: ArrayBuffer | ArrayBufferView; headers: { [k: string]: string };
  status?: number; fromCache?: boolean;
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
  util: { AbortableOperation: { notAbortable<T>(p: Promise<T>): unknown } };
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
    // A stall: buffering again after the startup buffering ended.
    let started = false;
    player.addEventListener?.("buffering", (e) => {
      if (!e.buffering) started = true;
      else if (started) engine.stall();
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

  const segment = (uri: string, req: ShakaRequest): Promise<ShakaResponse> => {
    const at = starts.get(req);
    timeline.requested(uri, at?.start);
    const known = timeline.info(uri);
    const info: SegmentInfo = at
      ? { url: uri, seq: known?.seq, start: at.start, duration: at.end - at.start }
      : known ?? { url: uri };
    if (at && known) engine.setSegments(timeline.segments());
    return engine.load(uri, info).then(({ data, source }): ShakaResponse => ({
      uri, originalUri: uri, data: data.buffer.byteLength === data.length ? data.buffer as ArrayBuffer : data.slice().buffer as ArrayBuffer,
      headers: { "content-length": String(data.length) }, status: 200,
      // Peer and memory speed says nothing about the network: keep it out of Shaka's bandwidth estimate.
      fromCache: source !== "http",
    }));
  };

  const plugin: SchemePlugin = (uri, req, type, ...rest) => {
    if (type === NE.RequestType.SEGMENT && req.method === "GET" && !Object.keys(req.headers).some((h) => h.toLowerCase() === "range")) {
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
