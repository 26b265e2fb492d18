// dash.js adapter: the generic interception answers dash.js's segment
// requests (XMLHttpRequest or fetch) from peers or HTTP and reads the
// manifest's swarms; dash.js's own events add what URLs alone do not say:
// the Representation each video request is for (its swarm) and the media
// time it starts at.

import { DashSwarms } from "../core/dash";
import type { Engine, SegmentInfo } from "../core/engine";
import { attachGeneric } from "./generic";

/** The parts of dash.js's FragmentRequest used here (dash.js 4 and 5). */
interface FragmentRequest {
  url?: string | null; type?: string | null; mediaType?: string; startTime?: number; duration?: number;
  representation?: { id?: string } | null; representationId?: string;
}
/** The parts of a dash.js MediaPlayer the adapter uses. */
export interface DashjsPlayerLike {
  on(type: string, f: (e: { request?: FragmentRequest }) => void): void;
  getVideoElement?(): HTMLVideoElement | null;
}

/** What is remembered of recent requests, for the interception to find. */
const KEEP = 64;

/** Installs the adapter; call it before player.initialize() or attachSource(). Returns the function that removes it. */
export function attachDashjs(engine: Engine, player: DashjsPlayerLike): () => void {
  const dash = new DashSwarms(engine);
  const infos = new Map<string, SegmentInfo>();
  player.on("fragmentLoadingStarted", (e) => {
    try {
      const r = e?.request;
      if (!r?.url) return;
      if (r.mediaType === "video") dash.representation(r.representation?.id ?? r.representationId);
      if (r.type !== "MediaSegment" || !Number.isFinite(r.startTime)) return;
      const abs = new URL(r.url, engine.d.base).href;
      infos.delete(abs);
      infos.set(abs, { url: abs, start: r.startTime, duration: Number.isFinite(r.duration) ? r.duration : undefined });
      if (infos.size > KEEP) infos.delete(infos.keys().next().value!);
    } catch { /* never break playback */ }
  });
  // dash.js throws once reset (no view attached): no playhead then.
  const media = (): HTMLVideoElement | null | undefined => { try { return player.getVideoElement?.(); } catch { return null; } };
  // A stall: playback stopped for data after it started. With its element
  // that is the element's "waiting" (not during a seek): dash.js's
  // bufferStalled fires when one track's buffer runs low, and under load
  // it fired a second after start with the element playing on. Without an
  // element dash.js's word is all there is.
  let started = false;
  let watched: HTMLVideoElement | undefined;
  player.on("playbackPlaying", () => {
    started = true;
    const m = media();
    if (!m || m === watched || typeof m.addEventListener !== "function") return;
    watched = m;
    m.addEventListener("waiting", () => { if (!m.seeking) engine.stall(); });
  });
  player.on("bufferStalled", () => { if (started && !watched) engine.stall(); });
  return attachGeneric(engine, {
    playlists: /\.mpd(\?|$)/i,
    media,
  }, { dash, info: (abs) => infos.get(abs) });
}
