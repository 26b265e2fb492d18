// hls.js adapter: a fragment loader and a playlist loader plugged through
// hls.js' config (fLoader / pLoader). Thin: all decisions are the engine's.

import type { Engine, SegmentInfo } from "../core/engine";
import { playhead } from "./media";

/* Minimal structural types of the hls.js API used here (hls.js >= 1.4). */
interface LoaderStats {
  aborted: boolean; loaded: number; total: number; retry: number; chunkCount: number; bwEstimate: number;
  loading: { start: number; first: number; end: number };
  parsing: { start: number; end: number };
  buffering: { start: number; first: number; end: number };
}
interface Frag { sn: number | "initSegment"; start: number; duration: number; url: string }
interface Context { url: string; type?: string; frag?: Frag; part?: unknown; rangeStart?: number; rangeEnd?: number; responseType?: string }
interface Callbacks {
  onSuccess(r: { url: string; data: ArrayBuffer | string }, s: LoaderStats, c: Context, n: unknown): void;
  onError(e: { code: number; text: string }, c: Context, n: unknown, s: LoaderStats): void;
  onTimeout(s: LoaderStats, c: Context, n: unknown): void;
  onAbort?(s: LoaderStats, c: Context, n: unknown): void;
}
interface Loader {
  stats: LoaderStats; context: Context | null;
  load(c: Context, cfg: unknown, cb: Callbacks): void; abort(): void; destroy(): void;
}
type LoaderClass = new (cfg: unknown) => Loader;
/** The parts of an hls.js instance the adapter uses. */
export interface HlsLike {
  config: { loader: LoaderClass; fLoader?: LoaderClass; pLoader?: LoaderClass };
  media: HTMLMediaElement | null;
  /** The player's bandwidth estimate, bits/s (hls.js >= 1.0). */
  bandwidthEstimate?: number;
  /** The renditions and the one playing, and the distance to live in seconds (hls.js >= 1.1). */
  levels?: { bitrate?: number }[]; currentLevel?: number; latency?: number;
  on(ev: string, f: (e: string, d: any) => void): void; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());
const newStats = (): LoaderStats => ({
  aborted: false, loaded: 0, total: 0, retry: 0, chunkCount: 0, bwEstimate: 0,
  loading: { start: 0, first: 0, end: 0 }, parsing: { start: 0, end: 0 }, buffering: { start: 0, first: 0, end: 0 },
});

/** Builds the fLoader/pLoader classes for an engine. base is hls.js' default loader. */
export function hlsLoaders(engine: Engine, base: LoaderClass): { fLoader: LoaderClass; pLoader: LoaderClass } {
  class FragLoader implements Loader {
    stats = newStats();
    context: Context | null = null;
    private ctl?: AbortController;
    private inner?: Loader;
    constructor(private cfg: unknown) {}
    load(c: Context, cfg: unknown, cb: Callbacks): void {
      this.context = c;
      // Byte ranges, LL-HLS parts (the live edge: always HTTP) and
      // non-segment loads stay with hls.js' own loader.
      if (!c.frag || c.part || c.rangeStart !== undefined && (c.rangeStart > 0 || (c.rangeEnd ?? 0) > 0)) {
        this.inner = new base(this.cfg);
        // A part's or a byte range's bytes came over HTTP all the same: count them.
        const counted: Callbacks = !c.frag ? cb : { ...cb, onSuccess: (r, st, ctx, net) => {
          engine.countHTTP(typeof r.data === "string" ? r.data.length : r.data.byteLength);
          cb.onSuccess(r, st, ctx, net);
        } };
        this.inner.load(c, cfg, counted);
        this.stats = this.inner.stats;
        return;
      }
      const f = c.frag;
      const info: SegmentInfo = { url: c.url, seq: typeof f.sn === "number" ? f.sn : undefined, start: f.start, duration: f.duration };
      this.ctl = typeof AbortController !== "undefined" ? new AbortController() : undefined;
      const st = this.stats;
      st.loading.start = now();
      engine.load(c.url, info, this.ctl?.signal).then(({ data }) => {
        if (st.aborted) return;
        const t = now();
        // Report at least the HTTP-equivalent time so ABR does not mistake memory or P2P speed for the network's.
        const minMs = (data.length * 1000) / engine.http.bytesPerSec;
        st.loading.start = Math.min(st.loading.start, t - minMs);
        st.loading.first = Math.max(st.loading.start, t - 1);
        st.loading.end = t;
        st.loaded = st.total = data.length;
        const ab = data.buffer.byteLength === data.length ? data.buffer : data.slice().buffer;
        cb.onSuccess({ url: c.url, data: ab as ArrayBuffer }, st, c, null);
      }, (e: unknown) => {
        if (st.aborted) return;
        cb.onError({ code: 0, text: String((e as Error)?.message ?? e) }, c, null, st);
      });
    }
    // hls.js' own loader calls onAbort from abort, and hls.js destroys the
    // loader from onAbort: neither may call into the other again.
    abort(): void {
      if (this.stats.aborted) return;
      this.stats.aborted = true; this.ctl?.abort(); this.inner?.abort();
    }
    destroy(): void {
      const inner = this.inner;
      this.inner = undefined;
      this.abort(); inner?.destroy(); this.context = null;
    }
  }

  class PlaylistLoader implements Loader {
    private inner: Loader;
    constructor(cfg: unknown) { this.inner = new base(cfg); }
    get stats(): LoaderStats { return this.inner.stats; }
    get context(): Context | null { return this.inner.context; }
    load(c: Context, cfg: unknown, cb: Callbacks): void {
      this.inner.load(c, cfg, {
        ...cb,
        onSuccess: (r, s, ctx, net) => {
          const h = header(net);
          try { engine.playlist(r.url || c.url, h("Edgeswarm-Swarm"), h("Edgeswarm-Ticket")); } catch { /* never break playback */ }
          cb.onSuccess(r, s, ctx, net);
        },
      });
    }
    abort(): void { this.inner.abort(); }
    destroy(): void { this.inner.destroy(); }
  }
  return { fLoader: FragLoader, pLoader: PlaylistLoader };
}

// header reads a response header from whatever hls.js passes as network
// details: an XMLHttpRequest or a fetch Response.
function header(net: unknown): (n: string) => string | null {
  const x = net as { getResponseHeader?: (n: string) => string | null; headers?: { get(n: string): string | null } };
  return (n) => {
    try {
      if (x?.getResponseHeader) return x.getResponseHeader(n);
      if (x?.headers?.get) return x.headers.get(n);
    } catch { /* header not exposed */ }
    return null;
  };
}

/** Plugs the engine into an hls.js instance (call before loadSource). */
export function attachHls(engine: Engine, hls: HlsLike): void {
  const l = hlsLoaders(engine, hls.config.loader);
  hls.config.fLoader = l.fLoader;
  hls.config.pLoader = l.pLoader;
  engine.setPlayhead(() => {
    const m = hls.media;
    if (!m) return undefined;
    const lv = hls.levels?.[hls.currentLevel ?? -1];
    return { ...playhead(m, hls.bandwidthEstimate), bitrate: lv?.bitrate, liveMs: hls.latency ? hls.latency * 1000 : undefined };
  });
  hls.on("hlsManifestLoading", (_e, d: { url?: string }) => { if (d?.url) engine.setMaster(d.url); });
  hls.on("hlsLevelLoaded", (_e, d: { details?: { fragments?: Frag[] } }) => {
    const fr = d?.details?.fragments ?? [];
    engine.setSegments(fr.map((f) => ({ url: f.url, seq: typeof f.sn === "number" ? f.sn : undefined, start: f.start, duration: f.duration })));
  });
  hls.on("hlsError", (_e, d: { details?: string; fatal?: boolean }) => {
    if (d?.details === "bufferStalledError") engine.stall();
    else if (d?.fatal) engine.error("media");
  });
  hls.on("hlsDestroying", () => engine.destroy());
}
