// Generic adapter for any MSE player: it wraps window.fetch and
// XMLHttpRequest so that segment requests matching a pattern are answered by
// the engine, and media playlists' swarm headers and segments are noticed.
// XHR is patched on its prototype (players such as Video.js keep a reference
// to the XMLHttpRequest constructor from when they loaded); a request the
// engine cannot answer goes out on the real XHR untouched.

import { DashSwarms, SWARMS_HEADER } from "../core/dash";
import type { Engine, SegmentInfo } from "../core/engine";
import { isMediaPlaylist, parseMedia, Timeline } from "../core/playlist";
import { playhead } from "./media";

export { parseMedia };

export interface GenericOptions {
  /** Which URLs are segments. Default: .ts, .m4s, .mp4, .m4v, .m4a, .aac, .cmfv, .cmfa. */
  segments?: RegExp;
  /** Which URLs are playlists. Default: .m3u8. */
  playlists?: RegExp;
  /** The media element, for the playhead, or a function returning it (for players that create it later). */
  media?: HTMLMediaElement | (() => HTMLMediaElement | null | undefined);
}

const SEG = /\.(ts|m4s|mp4|m4v|m4a|aac|cmfv|cmfa)(\?|$)/i;
const PL = /\.m3u8(\?|$)/i;

/** What the patched XHR methods remember of one request. */
interface XState {
  method: string; url: string; range: boolean; userDefined: boolean;
  /** Answered by the engine: the shadowed properties read these. */
  served: boolean; rs: number; body?: Uint8Array; abs?: string; ctl?: AbortController; aborted: boolean;
}

/** What a player adapter built on the generic interception adds (dashjs.ts). */
export interface GenericHooks {
  /** The swarms of DASH manifests (read from manifest responses). */
  dash?: DashSwarms;
  /** What the player said about a segment before requesting it (absolute URL). */
  info?: (abs: string) => SegmentInfo | undefined;
}

const SHADOWED = ["readyState", "status", "statusText", "response", "responseText", "responseURL", "getResponseHeader", "getAllResponseHeaders"];

/** Installs the interception; returns a function that removes it. */
export function attachGeneric(engine: Engine, o: GenericOptions = {}, hooks: GenericHooks = {}): () => void {
  const g = globalThis as { fetch: typeof fetch; XMLHttpRequest?: typeof XMLHttpRequest };
  const seg = o.segments ?? SEG, pl = o.playlists ?? PL;
  const timeline = new Timeline();
  const media = (): HTMLMediaElement | null | undefined => (typeof o.media === "function" ? o.media() : o.media);
  engine.setPlayhead(() => {
    const m = media();
    return m ? playhead(m) : undefined;
  });

  /** The player asks for a segment: what the engine should know of it. */
  const request = (url: string): { abs: string; info?: SegmentInfo } => {
    const abs = new URL(url, engine.d.base).href;
    // Without a player timeline, the first segment asked for is taken to
    // start at the playhead; the playlist keeps that placement as it slides.
    const m = media();
    timeline.requested(abs, !timeline.anchored(abs) && m ? m.currentTime : undefined);
    const told = hooks.info?.(abs);
    if (told) return { abs, info: told };
    engine.setSegments(timeline.segments());
    return { abs, info: timeline.info(abs) };
  };
  const playlist = (url: string, swarm: string | null, ticket: string | null, text: () => string | undefined, swarms: string | null = null): void => {
    try {
      hooks.dash?.manifest(url, swarms);
      engine.playlist(url, swarm, ticket);
      if (!swarm) return;
      const t = text();
      if (t !== undefined && isMediaPlaylist(t) && timeline.update(url, t)) engine.setSegments(timeline.segments());
    } catch { /* never break playback */ }
  };

  const orig = g.fetch;
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const hasRange = !!new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get("range");
    if (method === "GET" && !hasRange && seg.test(url)) {
      const { abs, info } = request(url);
      const { data } = await engine.load(abs, info, init?.signal ?? undefined);
      return new Response(data as Uint8Array<ArrayBuffer>, { status: 200, headers: { "Content-Length": String(data.length) } });
    }
    const res = await orig.call(globalThis, input as RequestInfo, init);
    // A segment the engine does not load (a byte range: SegmentBase, HLS
    // byte ranges) still came over HTTP: count its bytes.
    if (method === "GET" && seg.test(url) && res.ok) countBody(engine, res);
    if (pl.test(url) && res.ok) {
      const h = res.headers;
      let body: string | undefined;
      if (h.get("Edgeswarm-Swarm")) { try { body = await res.clone().text(); } catch { /* unreadable */ } }
      playlist(res.url || url, h.get("Edgeswarm-Swarm"), h.get("Edgeswarm-Ticket"), () => body, h.get(SWARMS_HEADER));
    }
    return res;
  };
  g.fetch = wrapped as typeof fetch;

  const X = g.XMLHttpRequest;
  const off = X ? patchXHR(X, engine, seg, pl, request, playlist) : () => undefined;
  return () => {
    if (g.fetch === wrapped) g.fetch = orig;
    off();
  };
}

/** Counts a passed-through segment response's body as HTTP bytes, from its length or, without one, its bytes. */
function countBody(engine: Engine, res: Response): void {
  const n = Number(res.headers.get("content-length"));
  if (Number.isFinite(n) && n > 0) { engine.countHTTP(n); return; }
  res.clone().arrayBuffer().then((b) => engine.countHTTP(b.byteLength), () => undefined);
}

/** The size of a finished XHR's body, whatever its response type. */
function xhrBodySize(x: XMLHttpRequest): number {
  try {
    const r: unknown = x.response;
    if (r instanceof ArrayBuffer) return r.byteLength;
    if (typeof Blob !== "undefined" && r instanceof Blob) return r.size;
    if (typeof r === "string") return r.length;
    return typeof x.responseText === "string" ? x.responseText.length : 0;
  } catch { return 0; }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFn = (this: any, ...a: any[]) => any;

/** Patches XMLHttpRequest.prototype; returns the function that restores it. */
function patchXHR(
  X: typeof XMLHttpRequest, engine: Engine, seg: RegExp, pl: RegExp,
  request: (url: string) => { abs: string; info?: SegmentInfo },
  playlist: (url: string, swarm: string | null, ticket: string | null, text: () => string | undefined, swarms?: string | null) => void,
): () => void {
  const P = X.prototype as unknown as Record<string, AnyFn>;
  const o = { open: P.open!, send: P.send!, setRequestHeader: P.setRequestHeader!, abort: P.abort!, overrideMimeType: P.overrideMimeType };
  const states = new WeakMap<object, XState>();

  const unshadow = (x: object): void => { for (const k of SHADOWED) delete (x as Record<string, unknown>)[k]; };
  const fire = (x: XMLHttpRequest, type: string, loaded = 0, total = 0): void => {
    const ev = typeof ProgressEvent === "function"
      ? new ProgressEvent(type, { lengthComputable: total > 0, loaded, total })
      : new Event(type);
    x.dispatchEvent(ev);
  };
  const shadow = (x: XMLHttpRequest, st: XState): void => {
    const headers = (): Record<string, string> => (st.rs >= 2 && st.body ? { "content-length": String(st.body.length) } : {});
    const text = (): string => {
      if (st.rs < 3 || !st.body) return "";
      // The x-user-defined charset: each byte as one char, as browsers do.
      let s = "";
      for (let i = 0; i < st.body.length; i += 8192) {
        s += String.fromCharCode(...Array.from(st.body.subarray(i, i + 8192), (b) => (b < 0x80 ? b : 0xf700 + b)));
      }
      return s;
    };
    const props: Record<string, () => unknown> = {
      readyState: () => st.rs,
      status: () => (st.rs >= 2 && !st.aborted ? 200 : 0),
      statusText: () => (st.rs >= 2 && !st.aborted ? "OK" : ""),
      responseURL: () => (st.rs >= 2 && !st.aborted ? st.abs : ""),
      responseText: text,
      response: () => {
        const type = x.responseType;
        if (type === "" || type === "text") return text();
        if (st.rs !== 4 || !st.body || st.aborted) return null;
        if (type === "blob") return new Blob([st.body as Uint8Array<ArrayBuffer>]);
        const b = st.body;
        return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer;
      },
    };
    for (const [k, get] of Object.entries(props)) Object.defineProperty(x, k, { get, configurable: true });
    Object.defineProperty(x, "getResponseHeader", { configurable: true, writable: true, value: (n: string) => headers()[String(n).toLowerCase()] ?? null });
    Object.defineProperty(x, "getAllResponseHeaders", { configurable: true, writable: true, value: () => Object.entries(headers()).map(([k, v]) => `${k}: ${v}\r\n`).join("") });
  };

  /** Whether the engine can hand this request its bytes in the form the player reads. */
  const servable = (x: XMLHttpRequest, st: XState): boolean => {
    if (st.method !== "GET" || st.range || !seg.test(st.url)) return false;
    const t = x.responseType;
    return t === "arraybuffer" || t === "blob" || ((t === "" || t === "text") && st.userDefined);
  };

  P.open = function (this: XMLHttpRequest, m: string, u: string | URL, ...rest: unknown[]) {
    const prev = states.get(this);
    if (prev?.served) { prev.aborted = true; prev.ctl?.abort(); unshadow(this); }
    const url = String(u);
    const st: XState = { method: String(m).toUpperCase(), url, range: false, userDefined: false, served: false, rs: 1, aborted: false };
    states.set(this, st);
    if (pl.test(url)) {
      this.addEventListener("load", () => {
        if (states.get(this) !== st || st.served) return;
        const t = (): string | undefined => (this.responseType === "" || this.responseType === "text" ? this.responseText : undefined);
        playlist(this.responseURL || url, this.getResponseHeader("Edgeswarm-Swarm"), this.getResponseHeader("Edgeswarm-Ticket"), t, this.getResponseHeader(SWARMS_HEADER));
      });
    }
    return o.open.call(this, m, u, ...rest);
  };
  P.setRequestHeader = function (this: XMLHttpRequest, n: string, v: string) {
    const st = states.get(this);
    if (st && String(n).toLowerCase() === "range") st.range = true;
    return o.setRequestHeader.call(this, n, v);
  };
  if (o.overrideMimeType) {
    P.overrideMimeType = function (this: XMLHttpRequest, mime: string) {
      const st = states.get(this);
      if (st) st.userDefined = /x-user-defined/i.test(String(mime));
      return o.overrideMimeType!.call(this, mime);
    };
  }
  P.send = function (this: XMLHttpRequest, body?: unknown) {
    const st = states.get(this);
    if (st && !st.served && st.method === "GET" && seg.test(st.url) && !servable(this, st)) {
      // Out on the real XHR (a byte range): its bytes came over HTTP.
      this.addEventListener("load", () => {
        if (states.get(this) === st && !st.served && (this.status === 200 || this.status === 206)) engine.countHTTP(xhrBodySize(this));
      });
    }
    if (!st || st.served || !servable(this, st)) return o.send.call(this, body);
    const x = this;
    let req: { abs: string; info?: SegmentInfo };
    try { req = request(st.url); } catch { return o.send.call(this, body); }
    st.served = true;
    st.abs = req.abs;
    st.ctl = typeof AbortController !== "undefined" ? new AbortController() : undefined;
    shadow(x, st);
    fire(x, "loadstart");
    const current = (): boolean => states.get(x) === st && !st.aborted;
    engine.load(req.abs, req.info, st.ctl?.signal).then(({ data }) => {
      if (!current()) return;
      st.body = data;
      const n = data.length;
      st.rs = 2; fire(x, "readystatechange");
      st.rs = 3; fire(x, "readystatechange"); fire(x, "progress", n, n);
      st.rs = 4; fire(x, "readystatechange"); fire(x, "load", n, n); fire(x, "loadend", n, n);
    }, () => {
      if (!current()) return;
      // The engine gave up: the real XHR, still opened and unsent, tries
      // and reports its own status to the player.
      st.served = false;
      unshadow(x);
      try { o.send.call(x, body); } catch { /* the player sees no load; its own timeout applies */ }
    });
  };
  P.abort = function (this: XMLHttpRequest) {
    const st = states.get(this);
    if (!st?.served || st.aborted) return o.abort.call(this);
    const done = st.rs === 4;
    st.aborted = true;
    st.ctl?.abort();
    if (!done) {
      st.rs = 4;
      fire(this, "readystatechange"); fire(this, "abort"); fire(this, "loadend");
    }
    st.rs = 0;
  };
  return () => {
    for (const [k, f] of Object.entries(o)) if (f) P[k] = f;
  };
}
