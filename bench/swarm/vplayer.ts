// The virtual player: a page-side model of hls.js playing a live HLS
// stream, without decoding video, so that 20-30 viewers fit on two cores.
// It makes the requests hls.js makes (master playlist, one media playlist
// refreshed every target duration, one segment at a time from
// liveSyncDurationCount segments behind the live edge, up to a buffer
// target), keeps a playhead that advances in real time while media is
// buffered, and records what a viewer notices: start-up time, stalls, and
// how far behind the live edge it plays.

/** One segment of the media playlist, on the player's media timeline. */
export interface VSeg {
  /** Absolute URL. */
  url: string;
  seq: number;
  /** Media time of its start, seconds. */
  start: number;
  duration: number;
  /** Wall-clock time of its first frame (EXT-X-PROGRAM-DATE-TIME), ms since the epoch, if known. */
  pdt?: number;
}

export interface VPlayerOptions {
  /** Master playlist URL. */
  master: string;
  /** Rendition: the first variant whose URI contains this string (ABR off). */
  rendition: string;
  /** hls.js liveSyncDurationCount: start this many target durations behind the live edge. */
  liveSync: number;
  /** hls.js maxBufferLength, seconds. */
  maxBuffer: number;
  /** Fetches a playlist; the URL it came from (after redirects) and its text. */
  fetchText(url: string): Promise<{ url: string; text: string }>;
  /** Loads a segment; resolves with its size in bytes. */
  loadSegment(seg: VSeg): Promise<number>;
  /** Every media playlist load, with its segments. */
  onPlaylist?(url: string, segs: VSeg[], live: boolean): void;
  /** Every playhead step. */
  onPlayback?(time: number, rate: number): void;
  now(): number;
}

/** What the viewer noticed. */
export interface VPlayerResult {
  /** ms from start() to playback starting; null if it never started. */
  startupMs: number | null;
  /** Wall seconds since playback started (0 before). */
  sinceStartS: number;
  playedS: number;
  stalls: number;
  stallMs: number;
  /** Mean distance behind the live edge while playing, seconds (NaN if unknown). */
  latencyS: number;
  segments: number;
  bytes: number;
  /** Media seconds of the segments loaded (their EXTINF durations). */
  mediaS: number;
  errors: string[];
  /** Per loaded segment: seq, ms after start() it was asked for and arrived, seconds of buffer ahead when asked. */
  log: [number, number, number, number][];
}

interface Parsed { target: number; live: boolean; first: number; segs: { uri: string; duration: number; pdt?: number }[] }

/** Parses a media playlist: what the model needs, nothing more. */
export function parseMediaPlaylist(text: string): Parsed {
  if (!text.startsWith("#EXTM3U")) throw new Error("not an HLS playlist");
  let target = 0, first = 0, live = true, dur = -1, pdt: number | undefined;
  const segs: Parsed["segs"] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#EXT-X-TARGETDURATION:")) target = Number(line.slice(22));
    else if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) first = Number(line.slice(22));
    else if (line.startsWith("#EXT-X-ENDLIST")) live = false;
    else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) pdt = Date.parse(line.slice(25));
    else if (line.startsWith("#EXTINF:")) dur = parseFloat(line.slice(8));
    else if (!line.startsWith("#")) {
      if (dur < 0) throw new Error("segment without #EXTINF: " + line);
      segs.push({ uri: line, duration: dur, pdt: pdt !== undefined && !Number.isNaN(pdt) ? pdt : undefined });
      if (pdt !== undefined) pdt += dur * 1000;
      dur = -1;
    }
  }
  if (!(target > 0)) throw new Error("playlist without #EXT-X-TARGETDURATION");
  return { target, live, first, segs };
}

/** The first variant URI of a master playlist that contains want (or the first variant). */
export function pickVariant(text: string, want: string): string {
  const uris = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  if (uris.length === 0) throw new Error("master playlist without variants");
  return uris.find((u) => u.includes(want)) ?? uris[0]!;
}

const TICK_MS = 100;

export class VPlayer {
  /** The playhead, as a media element would show it. */
  currentTime = 0;
  paused = true;
  playbackRate = 1;

  private startedAt = 0;
  private playingAt = 0;
  private media = "";
  private target = 2;
  private live = true;
  /** Known segments by sequence number, on one media timeline. */
  private bySeq = new Map<number, VSeg>();
  private firstSeq = 0;
  private lastSeq = -1;
  /** The next segment to load, and the end of what is buffered (media s). */
  private next = -1;
  private bufferedEnd = 0;
  private loading = false;
  private stalledAt = 0;
  private lastStep = 0;
  private played = 0;
  private stalls = 0;
  private stallMs = 0;
  private latSum = 0;
  private latN = 0;
  private lastLatSample = 0;
  private segments = 0;
  private bytes = 0;
  private mediaS = 0;
  private errors: string[] = [];
  private log: [number, number, number, number][] = [];
  private timers: ReturnType<typeof setTimeout>[] = [];
  private stopped = false;
  private playlistChanged = true;

  constructor(readonly o: VPlayerOptions) {}

  async start(): Promise<void> {
    this.startedAt = this.o.now();
    try {
      const m = await this.o.fetchText(this.o.master);
      this.media = new URL(pickVariant(m.text, this.o.rendition), m.url).href;
      await this.refresh();
    } catch (e) {
      this.errors.push("start: " + String(e));
      return;
    }
    this.lastStep = this.o.now();
    this.load();
    const loop = (): void => {
      if (this.stopped) return;
      this.step();
      this.timers[0] = setTimeout(loop, TICK_MS);
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    this.paused = true;
    for (const t of this.timers) clearTimeout(t);
  }

  result(): VPlayerResult {
    const now = this.o.now();
    return {
      startupMs: this.playingAt ? this.playingAt - this.startedAt : null,
      sinceStartS: this.playingAt ? (now - this.playingAt) / 1000 : 0,
      playedS: this.played,
      stalls: this.stalls,
      stallMs: this.stallMs + (this.stalledAt ? now - this.stalledAt : 0),
      latencyS: this.latN > 0 ? this.latSum / this.latN : NaN,
      segments: this.segments,
      bytes: this.bytes,
      mediaS: this.mediaS,
      errors: [...this.errors],
      log: this.log.slice(-64),
    };
  }

  /** Loads the media playlist and schedules the next load as hls.js does. */
  private async refresh(): Promise<void> {
    if (this.stopped) return;
    try {
      const r = await this.o.fetchText(this.media);
      this.apply(r.url, parseMediaPlaylist(r.text));
      // A new segment is asked for at once, as hls.js does after a level load.
      if (this.lastStep) this.load();
    } catch (e) {
      this.errors.push("playlist: " + String(e));
    }
    if (this.stopped || !this.live) return;
    // hls.js reloads a live playlist after one target duration, or half of
    // one when the last reload brought nothing new.
    const wait = (this.playlistChanged ? 1 : 0.5) * this.target * 1000;
    this.timers[1] = setTimeout(() => void this.refresh(), wait);
  }

  private apply(url: string, p: Parsed): void {
    this.target = p.target;
    this.live = p.live;
    const before = this.lastSeq;
    for (let i = 0; i < p.segs.length; i++) {
      const s = p.segs[i]!, seq = p.first + i;
      if (this.bySeq.has(seq)) continue;
      // Place the segment after its predecessor (or before its successor
      // when the window slid backwards in what is known); the first one
      // known starts the timeline at 0.
      const prev = this.bySeq.get(seq - 1);
      const start = prev ? prev.start + prev.duration : this.bySeq.size === 0 ? 0 : this.placeBefore(seq, s.duration);
      this.bySeq.set(seq, { url: new URL(s.uri, url).href, seq, start, duration: s.duration, pdt: s.pdt });
    }
    this.firstSeq = p.first;
    this.lastSeq = p.first + p.segs.length - 1;
    this.playlistChanged = this.lastSeq !== before;
    for (const seq of [...this.bySeq.keys()]) if (seq < this.firstSeq - 64) this.bySeq.delete(seq);
    const segs: VSeg[] = [];
    for (let s = this.firstSeq; s <= this.lastSeq; s++) segs.push(this.bySeq.get(s)!);
    this.o.onPlaylist?.(url, segs, p.live);
    if (this.next < 0 && segs.length > 0) {
      // Start liveSyncDurationCount target durations behind the live edge
      // (the live edge is the end of the last segment); VOD from the start.
      const last = segs[segs.length - 1]!;
      const at = p.live ? last.start + last.duration - this.o.liveSync * p.target : segs[0]!.start;
      const from = segs.find((s) => s.start + s.duration > at + 1e-6) ?? segs[0]!;
      this.next = from.seq;
      this.currentTime = Math.max(from.start, at);
      this.bufferedEnd = from.start;
    }
  }

  private placeBefore(seq: number, duration: number): number {
    const after = this.bySeq.get(seq + 1);
    return after ? after.start - duration : 0;
  }

  /** One tick: move the playhead, notice stalls, load what the buffer target allows. */
  private step(): void {
    const now = this.o.now();
    const dt = (now - this.lastStep) / 1000;
    this.lastStep = now;
    if (this.playingAt && !this.stalledAt) {
      const to = Math.min(this.currentTime + dt * this.playbackRate, this.bufferedEnd);
      this.played += to - this.currentTime;
      this.currentTime = to;
      if (this.currentTime >= this.bufferedEnd - 1e-3 && (this.live || this.next <= this.lastSeq)) {
        this.stalledAt = now;
        this.stalls++;
      }
    }
    if (this.playingAt && !this.stalledAt && now - this.lastLatSample >= 1000) {
      const lat = this.latency();
      if (lat !== undefined) { this.latSum += lat; this.latN++; this.lastLatSample = now; }
    }
    this.o.onPlayback?.(this.currentTime, this.paused ? 0 : this.playbackRate);
    this.load();
  }

  /** Seconds behind the live edge: now minus the wall-clock time of the frame on screen. */
  private latency(): number | undefined {
    for (let s = this.next - 1; s >= this.next - 64; s--) {
      const seg = this.bySeq.get(s);
      if (!seg) return undefined;
      if (seg.start <= this.currentTime + 1e-6) {
        if (seg.pdt === undefined) return undefined;
        return (Date.now() - (seg.pdt + (this.currentTime - seg.start) * 1000)) / 1000;
      }
    }
    return undefined;
  }

  private load(): void {
    if (this.loading || this.stopped || this.next < 0) return;
    if (this.next < this.firstSeq) {
      // Fell out of the live window: jump to its start, as hls.js does.
      const first = this.bySeq.get(this.firstSeq);
      if (!first) return;
      this.errors.push(`fell behind the live window at ${this.next}, jumped to ${this.firstSeq}`);
      this.next = this.firstSeq;
      this.currentTime = first.start;
      this.bufferedEnd = first.start;
    }
    if (this.next > this.lastSeq) return;
    if (this.bufferedEnd - this.currentTime >= this.o.maxBuffer) return;
    const seg = this.bySeq.get(this.next);
    if (!seg) return;
    this.loading = true;
    const askedAt = this.o.now(), ahead = this.bufferedEnd - this.currentTime;
    this.o.loadSegment(seg).then((n) => {
      this.loading = false;
      if (this.stopped) return;
      this.log.push([seg.seq, Math.round(askedAt - this.startedAt), Math.round(this.o.now() - this.startedAt), Math.round(ahead * 10) / 10]);
      this.segments++;
      this.bytes += n;
      this.mediaS += seg.duration;
      this.bufferedEnd = seg.start + seg.duration;
      this.next = seg.seq + 1;
      const now = this.o.now();
      if (!this.playingAt) {
        this.playingAt = now;
        this.paused = false;
        this.lastStep = now;
      } else if (this.stalledAt) {
        this.stallMs += now - this.stalledAt;
        this.stalledAt = 0;
        this.lastStep = now;
      }
      this.load();
    }, (e: unknown) => {
      this.loading = false;
      this.errors.push(`segment ${seg.seq}: ${String(e)}`);
      // hls.js retries a failed fragment after a short delay.
      this.timers[2] = setTimeout(() => this.load(), 1000);
    });
  }
}
