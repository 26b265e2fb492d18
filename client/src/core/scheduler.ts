// The scheduler's decisions, kept pure so they run on a fake clock: which
// source a segment comes from, when a P2P transfer must give up, which peer
// to ask.

import { RULES } from "./config";

/** Per-session estimate of how long an HTTP segment fetch takes. */
export class HttpEstimator {
  latencyMs: number = RULES.httpPrior.latencyMs;
  bytesPerSec: number = RULES.httpPrior.bytesPerSec;
  samples = 0;

  /** Records one fetch: total bytes, time to first byte and total time, ms. */
  sample(bytes: number, ttfbMs: number, totalMs: number): void {
    const a = this.samples === 0 ? 1 : RULES.ewma;
    const xfer = Math.max(1, totalMs - ttfbMs);
    this.latencyMs += a * (Math.max(0, ttfbMs) - this.latencyMs);
    // Small bodies say little about throughput; weight them less.
    if (bytes >= 32 * 1024 || this.samples === 0) this.bytesPerSec += a * ((bytes * 1000) / xfer - this.bytesPerSec);
    this.samples++;
  }

  /** Expected fetch time of size bytes, ms. */
  expectMs(size: number): number { return this.latencyMs + (size * 1000) / this.bytesPerSec; }
}

export interface SchedulerParams {
  /** The node's critical_ms: the HTTP window until HTTP has been measured. */
  criticalMs: number;
  /** The node's prefetch_ms: how far beyond the critical window P2P may fetch. */
  prefetchMs: number;
  /** The node's idle_timeout_ms. */
  idleMs: number;
  /** Safety factor on the measured HTTP time. */
  margin: number;
  /** Fixed time added to it, ms. */
  padMs: number;
}

export type Decision = "http" | "p2p" | "later";

/** A viewer that holds a segment (the super-peer is never asked: it pushes). */
export interface Source { id: string; inflight: number; maxInflight: number; busyUntil: number; rate: number }

export class Scheduler {
  /**
   * How late the page runs its timers, ms (a recent peak, decaying): on a
   * busy device every step of a fetch takes that much longer, so the
   * critical threshold grows by it.
   */
  lagMs = 0;

  /**
   * The risk controller's factor on the critical threshold (its mode's
   * criticalFactor): a device or network at risk widens the HTTP window.
   */
  criticalFactor = 1;

  constructor(public p: SchedulerParams, readonly http: HttpEstimator) {}

  /** Records how late a timer due at `due` ran at `now`. */
  timerRan(due: number, now: number): void {
    this.lagMs = Math.max(Math.max(0, now - due), this.lagMs * RULES.lagDecay);
  }

  /**
   * The critical threshold for a segment of size bytes, ms before it is needed:
   * what an HTTP fetch safely takes. Until a fetch was measured it is at least
   * the node's critical_ms.
   */
  criticalMs(size: number): number {
    const safe = (this.http.expectMs(size) * this.p.margin + this.p.padMs + RULES.lagFactor * this.lagMs) * this.criticalFactor;
    return this.http.samples === 0 ? Math.max(this.p.criticalMs, safe) : safe;
  }

  /**
   * Where a segment should come from now. msLeft: time until the player needs
   * it (undefined: unknown, treated as needed now). hasSource: a peer holds it
   * and its digest is known. requested: the player is waiting for it.
   */
  decide(msLeft: number | undefined, size: number, hasSource: boolean, requested: boolean): Decision {
    if (this.p.prefetchMs <= 0) return requested ? "http" : "later";
    if (msLeft === undefined || msLeft <= this.criticalMs(size)) return requested ? "http" : "later";
    if (!hasSource) return requested ? "http" : "later";
    if (!requested && msLeft > this.criticalMs(size) + this.p.prefetchMs) return "later";
    return "p2p";
  }

  /**
   * Spare time of a segment, ms: how long it may still wait for a viewer to
   * hold it before it must be fetched (its critical threshold plus a
   * reserve). 0 when unknown or none.
   */
  spareMs(msLeft: number | undefined, size: number): number {
    if (msLeft === undefined || this.p.prefetchMs <= 0) return 0;
    return Math.max(0, msLeft - this.criticalMs(size) - RULES.waitReserveMs);
  }

  /**
   * Whether a running P2P transfer must be abandoned for HTTP: no bytes for
   * idle_timeout_ms (plus what the page's own timer lag explains), or the
   * segment turned critical for what is still missing (HTTP then fetches
   * the rest, in time, from the bytes that came). A slow transfer runs to
   * that deadline: a DataChannel between two homes starts slowly (both
   * access links' RTTs, SCTP's window growth after a loss) and speeds up,
   * so its rate so far says little about its end, and giving up earlier
   * saves the viewer nothing (the deadline leaves HTTP its safe time).
   * The engine asks once a tick: a transfer is abandoned at the last tick
   * before its deadline, never up to a tick after it.
   */
  shouldAbort(now: number, t: { startedAt: number; lastByteAt: number; got: number; size: number }, msLeft: number | undefined): string | undefined {
    if (now - t.lastByteAt > this.p.idleMs + RULES.lagFactor * this.lagMs) return "idle";
    if (msLeft === undefined) return undefined;
    if (msLeft - this.criticalMs(t.size - t.got) <= RULES.tickMs) return "critical";
    return undefined;
  }

  /** Picks the viewer to ask for a segment: the least loaded, then the fastest; none while all are full or busy. */
  pick(now: number, sources: Source[]): Source | undefined {
    return sources.filter((s) => s.inflight < s.maxInflight && s.busyUntil <= now)
      .sort((a, b) => a.inflight - b.inflight || b.rate - a.rate || (a.id < b.id ? -1 : 1))[0];
  }

}
