// Risk control: P2P must never cost the viewer a stall. The controller
// watches what predicts a late segment on this device and this network
// (timer drift, long tasks, the forward buffer and its trend, dropped
// frames, peer loads that came too late, the player's bandwidth estimate)
// and picks a mode. Each mode is a set of limits the engine applies
// (RULES.risk.modes): "p2p" is the normal behaviour, "cautious" sheds
// uploads, widens the HTTP window and cuts peers and peer loads,
// "http-only" stops P2P until the device recovers. The mode rises at once
// and falls one step at a time, after a sustained calm. Pure: time comes in
// as arguments, so it runs on a fake clock.

import type { RiskInputs, RiskMode } from "../api";
import { RULES } from "./config";

export type { RiskInputs, RiskMode };
export const MODES: readonly RiskMode[] = ["p2p", "cautious", "http-only"];

/** What the media element says at one instant (adapters that have one). */
export interface MediaSample {
  /** Seconds buffered ahead of the playhead. */
  bufferedS?: number;
  /** Playback has started and is not paused. */
  playing?: boolean;
  /** HTMLVideoElement.getVideoPlaybackQuality(): cumulative frame counts. */
  droppedFrames?: number;
  totalFrames?: number;
  /** The player's own bandwidth estimate, bits/s. */
  bandwidth?: number;
}

/** The limits of one mode. */
export interface ModeLimits {
  /** The critical threshold (the HTTP window) is multiplied by this. */
  criticalFactor: number;
  /** Peer connections at most (this viewer's own and other viewers'). */
  peers: number;
  /** Peer loads (requests to other viewers) running at once. */
  loads: number;
  /** Serve requests from other viewers (else they are answered busy). */
  uploads: boolean;
  /** Take pushes from the super-peer. */
  pushes: boolean;
}

const level = (m: RiskMode): number => MODES.indexOf(m);

/** Level a value reaches against rising thresholds [cautious, http-only]. */
function over(v: number | undefined, t: readonly [number, number]): number {
  if (v === undefined || !Number.isFinite(v)) return 0;
  return v >= t[1] ? 2 : v >= t[0] ? 1 : 0;
}

/** Level a value reaches against falling thresholds [cautious, http-only]. */
function under(v: number | undefined, t: readonly [number, number]): number {
  if (v === undefined || !Number.isFinite(v)) return 0;
  return v <= t[1] ? 2 : v <= t[0] ? 1 : 0;
}

export class RiskController {
  mode: RiskMode = "p2p";
  /** Why the mode is what it is: the strongest signal, or "calm". */
  reason = "calm";
  /** When the mode last changed, ms. */
  since = 0;
  inputs: RiskInputs = { lagMs: 0, longTasks: 0, lateLoads: 0, stalls: 0 };
  private longTasks: { at: number; ms: number }[] = [];
  private late: number[] = [];
  private stallAt: number[] = [];
  private media: { at: number; bufferedS?: number; dropped?: number; total?: number }[] = [];
  /** The buffer was once healthy: before that, a small buffer is start-up, not risk. */
  private armed = false;
  /** Since when the signals have asked for less than the current mode. */
  private calmSince?: number;
  /** When the mode last stepped down: a rise soon after makes the next recovery slower. */
  private recoveredAt = -Infinity;
  /** The calm waits are multiplied by this (doubles on a relapse, halves after a long calm). */
  backoff = 1;

  constructor(private rules = RULES.risk) {}

  /** The limits of the current mode. */
  get limits(): ModeLimits { return this.rules.modes[this.mode]; }

  /** A long task of ms ended at `at` (PerformanceObserver 'longtask'). */
  longTask(at: number, ms: number): void {
    this.longTasks.push({ at, ms });
    if (this.longTasks.length > 256) this.longTasks.shift();
  }

  /** A peer load was abandoned at `at` because it would have been late. */
  lateLoad(at: number): void {
    this.late.push(at);
    if (this.late.length > 64) this.late.shift();
  }

  /** The player stalled at `at`. */
  stall(at: number): void {
    this.stallAt.push(at);
    if (this.stallAt.length > 64) this.stallAt.shift();
  }

  /**
   * Takes one sample (every scheduler tick): lagMs is the page's timer drift
   * (a recent peak), m what the media element says, bitrate the stream's
   * bits/s (undefined: unknown). Returns whether the mode changed.
   */
  sample(now: number, lagMs: number, m: MediaSample = {}, bitrate?: number): boolean {
    const r = this.rules;
    const w = r.windowMs;
    this.longTasks = this.longTasks.filter((t) => t.at > now - w);
    this.late = this.late.filter((t) => t > now - r.lateWindowMs);
    this.stallAt = this.stallAt.filter((t) => t > now - r.stallWindowMs);
    this.media.push({ at: now, bufferedS: m.playing === false ? undefined : m.bufferedS, dropped: m.droppedFrames, total: m.totalFrames });
    while (this.media.length > 1 && this.media[0]!.at < now - w) this.media.shift();
    if (m.playing && m.bufferedS !== undefined && m.bufferedS >= r.armBufferS) this.armed = true;

    const busy = this.longTasks.reduce((s, t) => s + t.ms, 0);
    const first = this.media[0]!, last = this.media[this.media.length - 1]!;
    const span = (last.at - first.at) / 1000;
    let trend: number | undefined;
    if (span >= r.trendMinS && first.bufferedS !== undefined && last.bufferedS !== undefined) trend = (last.bufferedS - first.bufferedS) / span;
    let dropped: number | undefined;
    if (first.total !== undefined && last.total !== undefined && last.dropped !== undefined && first.dropped !== undefined) {
      const frames = last.total - first.total;
      if (frames >= r.minFrames) dropped = Math.max(0, last.dropped - first.dropped) / frames;
    }
    const ratio = m.bandwidth && bitrate ? m.bandwidth / bitrate : undefined;
    const buf = m.playing === false ? undefined : m.bufferedS;
    this.inputs = {
      lagMs: Math.round(lagMs), longTasks: Math.min(1, busy / w), bufferS: buf, bufferTrend: trend,
      droppedFrames: dropped, lateLoads: this.late.length, stalls: this.stallAt.length, bandwidthRatio: ratio,
    };

    // Each signal asks for a level; the strongest wins (ties: the first named).
    const asks: [string, number][] = [
      ["stall", this.stallAt.length > 0 ? 2 : 0],
      ["lag", over(lagMs, r.lagMs)],
      ["long_tasks", over(this.inputs.longTasks, r.longTasks)],
      ["dropped_frames", over(dropped, r.droppedFrames)],
      ["buffer", !this.armed || buf === undefined ? 0 : buf <= r.bufferLowS[1] ? 2
        : buf <= r.bufferLowS[0] && trend !== undefined && trend <= r.bufferFallingPerS ? 1 : 0],
      ["late_peer_loads", over(this.late.length, r.lateLoads)],
      ["bandwidth", under(ratio, r.bandwidthRatio)],
    ];
    let want = 0, why = "calm";
    for (const [name, l] of asks) if (l > want) { want = l; why = name; }

    const cur = level(this.mode);
    if (cur === 0 && want === 0 && this.backoff > 1 && now - this.since > r.relapseMs) {
      this.backoff /= 2;
      this.since = now;
    }
    if (want >= cur) {
      this.calmSince = undefined;
      if (want > cur) {
        // A relapse soon after a recovery: the device is not well yet.
        if (now - this.recoveredAt < r.relapseMs) this.backoff = Math.min(r.maxBackoff, this.backoff * 2);
        return this.set(MODES[want]!, why, now);
      }
      if (want > 0) this.reason = why;
      return false;
    }
    // Fewer risks than the mode guards against: step down after a sustained calm.
    this.calmSince ??= now;
    if (now - this.calmSince < r.calmMs[cur - 1]! * this.backoff) {
      this.reason = "recovering";
      return false;
    }
    this.calmSince = undefined;
    this.recoveredAt = now;
    return this.set(MODES[cur - 1]!, cur - 1 > want ? "recovering" : why, now);
  }

  private set(m: RiskMode, why: string, now: number): boolean {
    this.mode = m;
    this.reason = why;
    this.since = now;
    return true;
  }
}
