// Generic adapter for any MSE player: it wraps window.fetch (and XHR
// playlist responses) so that segment requests matching a pattern go through
// the engine, and media playlists' swarm headers are noticed.

import type { Engine } from "../core/engine";

export interface GenericOptions {
  /** Which URLs are segments. Default: .ts, .m4s, .mp4, .m4v, .m4a, .aac, .cmfv, .cmfa. */
  segments?: RegExp;
  /** Which URLs are playlists. Default: .m3u8. */
  playlists?: RegExp;
  /** The media element, for the playhead. */
  media?: HTMLMediaElement;
}

const SEG = /\.(ts|m4s|mp4|m4v|m4a|aac|cmfv|cmfa)(\?|$)/i;
const PL = /\.m3u8(\?|$)/i;

/** Parses a media playlist body just enough to map segment URLs to sequences and times. */
export function parseMedia(text: string, url: string): { url: string; seq: number; start: number; duration: number }[] {
  let seq = 0, start = 0, dur = 0;
  const out: { url: string; seq: number; start: number; duration: number }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.trim();
    if (l.startsWith("#EXT-X-MEDIA-SEQUENCE:")) seq = parseInt(l.slice(22), 10) || 0;
    else if (l.startsWith("#EXTINF:")) dur = parseFloat(l.slice(8)) || 0;
    else if (l && !l.startsWith("#")) {
      out.push({ url: new URL(l, url).href, seq, start, duration: dur });
      start += dur;
      seq++;
    }
  }
  return out;
}

/** Installs the interception; returns a function that removes it. */
export function attachGeneric(engine: Engine, o: GenericOptions = {}): () => void {
  const g = globalThis as { fetch: typeof fetch; XMLHttpRequest?: typeof XMLHttpRequest };
  const seg = o.segments ?? SEG, pl = o.playlists ?? PL;
  const orig = g.fetch;
  // Segment start times from the playlist are relative to its first segment;
  // anchor them on the playhead when the player asks for a segment.
  let offset: number | undefined;
  let segs: ReturnType<typeof parseMedia> = [];
  engine.setPlayhead(() => (o.media ? { time: o.media.currentTime - (offset ?? 0), rate: o.media.playbackRate || 1 } : undefined));
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const hasRange = !!new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get("range");
    if (method === "GET" && !hasRange && seg.test(url)) {
      const abs = new URL(url, engine.d.base).href;
      const info = segs.find((s) => s.url === abs);
      if (info && o.media && offset === undefined) offset = o.media.currentTime - info.start;
      const { data } = await engine.load(url, info, init?.signal ?? undefined);
      return new Response(data as Uint8Array<ArrayBuffer>, { status: 200, headers: { "Content-Length": String(data.length) } });
    }
    const res = await orig.call(globalThis, input as RequestInfo, init);
    if (pl.test(url) && res.ok) {
      try {
        engine.playlist(res.url || url, res.headers.get("Edgeswarm-Swarm"), res.headers.get("Edgeswarm-Ticket"));
        if (res.headers.get("Edgeswarm-Swarm")) {
          segs = parseMedia(await res.clone().text(), res.url || url);
          engine.setSegments(segs);
        }
      } catch { /* never break playback */ }
    }
    return res;
  };
  g.fetch = wrapped as typeof fetch;
  // XHR-based players: playlists are observed for their headers; segments stay on XHR.
  const X = g.XMLHttpRequest;
  const origOpen = X?.prototype.open;
  if (X && origOpen) {
    X.prototype.open = function (this: XMLHttpRequest, m: string, u: string | URL, ...rest: unknown[]) {
      const url = String(u);
      if (pl.test(url)) {
        this.addEventListener("load", () => {
          try { engine.playlist(this.responseURL || url, this.getResponseHeader("Edgeswarm-Swarm"), this.getResponseHeader("Edgeswarm-Ticket")); } catch { /* ignore */ }
        });
      }
      return (origOpen as (...a: unknown[]) => void).call(this, m, u, ...rest);
    } as typeof X.prototype.open;
  }
  return () => {
    if (g.fetch === wrapped) g.fetch = orig;
    if (X && origOpen) X.prototype.open = origOpen;
  };
}
