import assert from "node:assert/strict";
import { test } from "node:test";
import { RULES } from "../../src/core/config";
import { HttpEstimator, Scheduler, Source } from "../../src/core/scheduler";

const params = { criticalMs: 8000, prefetchMs: 30000, idleMs: 2000, margin: 2, padMs: 500 };
const MB = 1_000_000;

function measured(bytesPerSec: number, latencyMs: number): Scheduler {
  const h = new HttpEstimator();
  h.sample(bytesPerSec, latencyMs, latencyMs + 1000); // one second for bytesPerSec bytes
  return new Scheduler({ ...params }, h);
}

test("before any HTTP fetch the node's critical window applies", () => {
  const s = new Scheduler({ ...params }, new HttpEstimator());
  assert.equal(s.decide(7000, MB, true, true), "http");
  assert.equal(s.decide(12000, MB, true, true), "p2p");
});

test("on a fast network a live viewer three segments behind the edge gets P2P", () => {
  // 4 MB/s, 50 ms latency: a 1 MB segment takes ~300 ms, safely ~1.1 s.
  const s = measured(4 * MB, 50);
  assert.ok(s.criticalMs(MB) < 2000, `critical ${s.criticalMs(MB)}`);
  assert.equal(s.decide(4000, MB, true, true), "p2p", "2 s segments, needed in 4 s");
  assert.equal(s.decide(900, MB, true, true), "http", "about to be needed");
});

test("on a slow network the deadline grows with the measured fetch time", () => {
  const s = measured(200_000, 300); // 1 MB takes 5.3 s
  assert.ok(s.criticalMs(MB) > 10000);
  assert.equal(s.decide(9000, MB, true, true), "http");
});

test("no source, unknown deadline or P2P disabled means HTTP for requested segments", () => {
  const s = measured(4 * MB, 50);
  assert.equal(s.decide(10000, MB, false, true), "http");
  assert.equal(s.decide(undefined, MB, true, true), "http");
  assert.equal(s.decide(10000, MB, false, false), "later", "prefetch waits for a source");
  const off = new Scheduler({ ...params, prefetchMs: 0 }, s.http);
  assert.equal(off.decide(10000, MB, true, true), "http");
});

test("prefetch stays within the prefetch window", () => {
  const s = measured(4 * MB, 50);
  assert.equal(s.decide(20000, MB, true, false), "p2p");
  assert.equal(s.decide(60000, MB, true, false), "later");
});

test("a transfer is abandoned when idle or turning critical, not for a slow start", () => {
  const s = measured(4 * MB, 50);
  const t = { startedAt: 0, lastByteAt: 0, got: 0, size: MB };
  assert.equal(s.shouldAbort(2500, t, 20000), "idle");
  assert.equal(s.shouldAbort(500, { ...t, lastByteAt: 500 }, 800), "critical");
  // 10 KB in 1 s (a DataChannel across two homes, still in slow start):
  // at that rate it would take 100 s, but it runs on while the segment is
  // not critical; HTTP keeps its safe time either way.
  assert.equal(s.shouldAbort(1000, { ...t, got: 10_000, lastByteAt: 1000 }, 6000), undefined);
  // Turning critical for what is missing (the engine asks once a tick: at
  // the last tick before it), the more came, the later.
  assert.equal(s.shouldAbort(1000, { ...t, got: 10_000, lastByteAt: 1000 }, s.criticalMs(MB - 10_000) + RULES.tickMs / 2), "critical",
    "the next tick would be past the deadline");
  const left = s.criticalMs(MB - 10_000) - 1;
  assert.equal(s.shouldAbort(1000, { ...t, got: 10_000, lastByteAt: 1000 }, left), "critical");
  assert.equal(s.shouldAbort(1000, { ...t, got: MB - 10_000, lastByteAt: 1000 }, left), undefined);
});

test("the least loaded viewer is asked, then the fastest", () => {
  const s = measured(4 * MB, 50);
  const src = (id: string, inflight: number, rate = 0): Source => ({ id, inflight, maxInflight: 2, busyUntil: 0, rate });
  assert.equal(s.pick(0, [src("p1", 1), src("p2", 0)])?.id, "p2");
  assert.equal(s.pick(0, [src("p1", 0, 100), src("p2", 0, 900)])?.id, "p2", "equally loaded: the faster");
  assert.equal(s.pick(0, [src("p1", 2)]), undefined, "the viewer has it but is full: wait");
  assert.equal(s.pick(0, [{ ...src("p1", 0), busyUntil: 10 }]), undefined, "busy peer is skipped");
});

test("on a page whose timers run late the critical threshold grows, then recovers", () => {
  const s = measured(4 * MB, 50);
  const calm = s.criticalMs(MB);
  s.timerRan(1000, 1000); // on time
  assert.equal(s.criticalMs(MB), calm);
  s.timerRan(1000, 1800); // 800 ms late: a busy device
  assert.equal(s.criticalMs(MB), calm + 3 * 800, "three times the lag");
  assert.equal(s.decide(3000, MB, true, true), "http", "what was P2P on a calm page goes over HTTP");
  for (let i = 0; i < 200; i++) s.timerRan(0, 0);
  assert.ok(s.criticalMs(MB) - calm < 1, "the lag peak decays once timers run on time");
});

test("a segment may wait for a viewer only with time to spare beyond its critical threshold and a reserve", () => {
  const s = measured(4 * MB, 50);
  const crit = s.criticalMs(MB);
  assert.equal(s.spareMs(undefined, MB), 0, "unknown deadline: no wait");
  assert.equal(s.spareMs(crit + 500, MB), 0, "inside the 1 s reserve");
  assert.equal(Math.round(s.spareMs(crit + 3000, MB)), 2000);
});
