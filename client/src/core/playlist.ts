// Media playlists as adapters without a player timeline see them: a parser
// that maps segment URLs to media sequences and durations, and a timeline
// that places those segments on the media element's clock and keeps them
// there while a live playlist slides.

import type { SegmentInfo } from "./engine";

/** One segment line of a media playlist; start is relative to the playlist's first segment, s. */
export interface MediaSegment { url: string; seq: number; start: number; duration: number }

/** Parses a media playlist body just enough to map segment URLs (absolute) to sequences and times. */
export function parseMedia(text: string, url: string): MediaSegment[] {
  let seq = 0, start = 0, dur = 0;
  const out: MediaSegment[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.trim();
    if (l.startsWith("#EXT-X-MEDIA-SEQUENCE:")) seq = parseInt(l.slice(22), 10) || 0;
    else if (l.startsWith("#EXTINF:")) dur = parseFloat(l.slice(8)) || 0;
    else if (l && !l.startsWith("#")) {
      let abs: string;
      try { abs = new URL(l, url).href; } catch { continue; }
      out.push({ url: abs, seq, start, duration: dur });
      start += dur;
      seq++;
    }
  }
  return out;
}

/** Whether a body is a media playlist (has segments), not a master playlist. */
export const isMediaPlaylist = (text: string): boolean => text.startsWith("#EXTM3U") && text.includes("#EXTINF:");

interface List { segs: MediaSegment[]; shift: number; anchored: boolean }

/**
 * Segment times on the media element's clock. A playlist's segments are
 * placed by an anchor (a segment known to start at a media time); a
 * refreshed live playlist keeps its place through the sequences it shares
 * with the previous version. Only the playlist the player last asked a
 * segment of is reported.
 */
export class Timeline {
  private lists = new Map<string, List>();
  private active?: string;
  private byUrl = new Map<string, string>();

  /** A media playlist body arrived for playlist url. Returns whether it had segments. */
  update(url: string, text: string): boolean {
    const segs = parseMedia(text, url);
    if (segs.length === 0) return false;
    const old = this.lists.get(url);
    let shift = 0, anchored = false;
    if (old) {
      const prev = new Map(old.segs.map((s) => [s.seq, s.start + old.shift]));
      const common = segs.find((s) => prev.has(s.seq));
      if (common) { shift = prev.get(common.seq)! - common.start; anchored = old.anchored; }
      for (const s of old.segs) this.byUrl.delete(s.url);
    }
    for (const s of segs) this.byUrl.set(s.url, url);
    this.lists.set(url, { segs, shift, anchored });
    if (this.lists.size > 16) this.drop();
    return true;
  }

  /** The segment at url, if a playlist lists it; start is on the media clock once anchored. */
  info(url: string): SegmentInfo | undefined {
    const pl = this.byUrl.get(url);
    const l = pl !== undefined ? this.lists.get(pl) : undefined;
    const s = l?.segs.find((x) => x.url === url);
    if (!l || !s) return undefined;
    return { url, seq: s.seq, start: l.anchored ? s.start + l.shift : undefined, duration: s.duration };
  }

  /** Whether url's playlist has been placed on the media clock. */
  anchored(url: string): boolean {
    const pl = this.byUrl.get(url);
    return pl !== undefined && !!this.lists.get(pl)?.anchored;
  }

  /**
   * The player asked for the segment at url: its playlist becomes the one
   * reported, and when time is given (media time the segment starts at, s)
   * the playlist is placed so that the segment starts there.
   */
  requested(url: string, time?: number): void {
    const pl = this.byUrl.get(url);
    const l = pl !== undefined ? this.lists.get(pl) : undefined;
    const s = l?.segs.find((x) => x.url === url);
    if (!l || !s) return;
    this.active = pl;
    if (time !== undefined && Number.isFinite(time)) { l.shift = time - s.start; l.anchored = true; }
  }

  /** The active playlist's segments with media times (empty until it is anchored). */
  segments(): SegmentInfo[] {
    const l = this.active !== undefined ? this.lists.get(this.active) : undefined;
    if (!l || !l.anchored) return [];
    return l.segs.map((s) => ({ url: s.url, seq: s.seq, start: s.start + l.shift, duration: s.duration }));
  }

  /** Forgets the playlists other than the active one (bounded memory on long sessions with many renditions). */
  private drop(): void {
    for (const [u, l] of this.lists) {
      if (u === this.active) continue;
      for (const s of l.segs) this.byUrl.delete(s.url);
      this.lists.delete(u);
    }
  }
}
