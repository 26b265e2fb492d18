// Viewer telemetry (protocol section 4.4, stats revision 1.1): what the
// viewer lives through (playing time, stalls, start-up, rendition, distance
// to live, errors) and what it is (browser, platform, WebRTC, upload). The
// engine adds these fields to its stats messages; a viewer without a
// signaling connection sends the same report as a beacon to the node.

import type { Clock } from "./clock";
import type { MediaSample } from "./risk";
import type { StatsCounters } from "./signal";

/** Where the playhead is, as the adapter sees it. */
export interface TelemetrySample {
  time: number;
  media?: MediaSample;
  /** Bandwidth of the rendition playing, bit/s. */
  bitrate?: number;
  /** Distance to the live edge, ms (undefined for VOD). */
  liveMs?: number;
}

export type ErrorKind = "http" | "peer" | "signal" | "media" | "other";

/** The telemetry fields of a stats message. */
export type TelemetryFields = Pick<StatsCounters, "stalls" | "stall_ms" | "watch_ms" | "startup_ms" | "bitrate" | "live_ms" |
  "browser" | "browser_major" | "mobile" | "webrtc" | "upload" | "errors">;

export const TELEMETRY = {
  /** Sampling period until the first frame (start-up resolution), ms. */
  startupSampleMs: 100,
  /** Sampling period after it, ms. */
  sampleMs: 1000,
  /** Before the node's welcome says otherwise, beacons go out this often, ms. */
  beaconMs: 10000,
  /** Start-up above this is reported as this (the protocol's bound), ms. */
  maxStartupMs: 600000,
};

/** The browser family and major version of a user agent string. */
export function browserOf(ua: string): { browser: string; major: number } {
  const rules: [RegExp, string][] = [
    [/SamsungBrowser\/(\d+)/, "samsung"], [/Edg(?:e|A|iOS)?\/(\d+)/, "edge"], [/(?:OPR|Opera)\/(\d+)/, "opera"],
    [/(?:Firefox|FxiOS)\/(\d+)/, "firefox"], [/(?:Chrome|CriOS|Chromium)\/(\d+)/, "chrome"], [/Version\/(\d+)[.\d]* (?:Mobile\/\S+ )?Safari\//, "safari"],
  ];
  for (const [re, name] of rules) {
    const m = re.exec(ua);
    if (m) return { browser: name, major: Math.min(1000, parseInt(m[1]!, 10) || 0) };
  }
  return { browser: "other", major: 0 };
}

/** A random id of n characters from [A-Za-z0-9]. */
export function sessionId(random: () => number, n = 12): string {
  const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < n; i++) s += a[Math.floor(random() * a.length) % a.length];
  return s;
}

export interface TelemetryHost {
  clock: Clock;
  sample: () => TelemetrySample | undefined;
  /** Called every beacon period; the engine sends a beacon when it has no signaling. */
  onPeriod: () => void;
  /** The period, ms (the node's stats_interval_ms once known). */
  periodMs: () => number;
}

/** Cumulative telemetry of one page session. */
export class Telemetry {
  readonly session: string;
  readonly browser: string;
  readonly major: number;
  watchMs = 0;
  stallMs = 0;
  stalls = 0;
  startupMs = 0;
  errors: { [k in ErrorKind]: number } = { http: 0, peer: 0, signal: 0, media: 0, other: 0 };
  private stalledAt?: number; // media time at which the current stall began
  private startupOwner?: string;
  private last?: number;
  private bitrate = 0;
  private liveMs = 0;
  private readonly t0: number;
  private timer: unknown;
  private periodTimer: unknown;
  private stopped = false;

  constructor(private h: TelemetryHost, ua: string, random: () => number, readonly mobile: boolean, readonly webrtc: boolean) {
    this.session = sessionId(random);
    ({ browser: this.browser, major: this.major } = browserOf(ua));
    this.t0 = h.clock.now();
    this.timer = h.clock.setTimeout(() => this.sample(), TELEMETRY.startupSampleMs);
    const period = (): void => {
      if (this.stopped) return;
      this.h.onPeriod();
      this.periodTimer = this.h.clock.setTimeout(period, this.h.periodMs());
    };
    this.periodTimer = h.clock.setTimeout(period, h.periodMs());
  }

  /** The player reported a stall: counted once per episode. */
  stall(): void {
    if (this.stalledAt !== undefined || !this.startupMs) return;
    this.stalls++;
    this.stalledAt = this.h.sample()?.time ?? 0;
  }

  error(kind: ErrorKind): void { this.errors[kind]++; }

  /** Takes one sample: playing or stalled time since the last, start-up, rendition. */
  sample(): void {
    if (this.stopped) return;
    const now = this.h.clock.now();
    const s = this.h.sample();
    const dt = this.last === undefined ? 0 : Math.max(0, now - this.last);
    this.last = now;
    if (s) {
      if (s.bitrate !== undefined && Number.isFinite(s.bitrate)) this.bitrate = Math.max(0, Math.round(s.bitrate));
      this.liveMs = s.liveMs !== undefined && Number.isFinite(s.liveMs) ? Math.max(0, Math.round(s.liveMs)) : 0;
      const playing = !!s.media?.playing;
      if (!this.startupMs && playing && s.time > 0) {
        this.startupMs = Math.min(TELEMETRY.maxStartupMs, Math.max(1, now - this.t0));
      } else if (this.startupMs) {
        if (this.stalledAt !== undefined && s.time > this.stalledAt + 0.05) this.stalledAt = undefined;
        if (this.stalledAt !== undefined) this.stallMs += dt;
        else if (playing) this.watchMs += dt;
      }
    }
    this.timer = this.h.clock.setTimeout(() => this.sample(), this.startupMs ? TELEMETRY.sampleMs : TELEMETRY.startupSampleMs);
  }

  /**
   * The telemetry fields, cumulative since base (the snapshot at the join or
   * the beacon session's start). owner names the join or beacon session: the
   * start-up goes to the first that reports it, so that a rendition switch
   * (a new join) does not count it again.
   */
  fields(base: TelemetryCounts | undefined, upload: boolean, owner: string): TelemetryFields {
    const b = base ?? ZERO;
    const e = this.errors;
    if (this.startupMs && this.startupOwner === undefined) this.startupOwner = owner;
    return {
      stalls: this.stalls - b.stalls, stall_ms: Math.round(this.stallMs - b.stallMs), watch_ms: Math.round(this.watchMs - b.watchMs),
      startup_ms: this.startupOwner === owner ? this.startupMs : 0, bitrate: Math.min(1e9, this.bitrate), live_ms: Math.min(86400000, this.liveMs),
      browser: this.browser, browser_major: this.major, mobile: this.mobile, webrtc: this.webrtc, upload,
      errors: { http: e.http - b.errors.http, peer: e.peer - b.errors.peer, signal: e.signal - b.errors.signal,
        media: e.media - b.errors.media, other: e.other - b.errors.other },
    };
  }

  /** The counters now, to subtract at a join. */
  counts(): TelemetryCounts {
    return { stalls: this.stalls, stallMs: this.stallMs, watchMs: this.watchMs, errors: { ...this.errors } };
  }

  stop(): void {
    this.stopped = true;
    this.h.clock.clearTimeout(this.timer);
    this.h.clock.clearTimeout(this.periodTimer);
  }
}

export interface TelemetryCounts { stalls: number; stallMs: number; watchMs: number; errors: { [k in ErrorKind]: number } }
const ZERO: TelemetryCounts = { stalls: 0, stallMs: 0, watchMs: 0, errors: { http: 0, peer: 0, signal: 0, media: 0, other: 0 } };
