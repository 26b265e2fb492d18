import assert from "node:assert/strict";
import { test } from "node:test";
import { RULES } from "../../src/core/config";
import { MediaSample, RiskController } from "../../src/core/risk";

const R = RULES.risk;
/** A lag that asks for cautious, and one that asks for http-only. */
const LAG1 = R.lagMs[0] + 50, LAG2 = R.lagMs[1] + 500;

/** Samples every 250 ms (the scheduler tick) for ms, from `from`; returns the time reached. */
function run(r: RiskController, from: number, ms: number, lag: number | ((t: number) => number), m: (t: number) => MediaSample = () => ({})): number {
  let t = from;
  for (; t < from + ms; t += 250) r.sample(t, typeof lag === "number" ? lag : lag(t), m(t));
  return t;
}

test("a calm device stays in p2p mode with every limit open", () => {
  const r = new RiskController();
  run(r, 0, 30000, 5, (t) => ({ playing: true, bufferedS: 6 + Math.sin(t / 1000), droppedFrames: 0, totalFrames: t / 33 }));
  assert.equal(r.mode, "p2p");
  assert.equal(r.reason, "calm");
  assert.equal(r.limits.uploads, true);
  assert.equal(r.limits.criticalFactor, 1);
});

test("a lagging event loop moves the mode to cautious: uploads shed, wider HTTP window, fewer peers and loads", () => {
  const r = new RiskController();
  assert.equal(r.sample(0, 10), false);
  assert.equal(r.sample(250, LAG1), true, "the mode changes at once");
  assert.equal(r.mode, "cautious");
  assert.equal(r.reason, "lag");
  assert.equal(r.inputs.lagMs, LAG1);
  const l = r.limits;
  assert.equal(l.uploads, false);
  assert.ok(l.criticalFactor > 1);
  assert.ok(l.peers < RULES.risk.modes.p2p.peers && l.loads < RULES.risk.modes.p2p.loads);
});

test("recovery needs sustained calm, one step at a time; a new spike restarts the wait", () => {
  const r = new RiskController();
  r.sample(0, LAG2);
  assert.equal(r.mode, "http-only");
  let t = run(r, 250, RULES.risk.calmMs[1]! - 500, 0);
  assert.equal(r.mode, "http-only", "not calm for long enough");
  assert.equal(r.reason, "recovering");
  r.sample(t, LAG2); // a new spike: the wait restarts
  t = run(r, t + 250, RULES.risk.calmMs[1]! - 500, 0);
  assert.equal(r.mode, "http-only");
  t = run(r, t, 1000, 0);
  assert.equal(r.mode, "cautious", "then one step down");
  t = run(r, t, RULES.risk.calmMs[0]! - 500, 0);
  r.sample(t, LAG1); // what cautious guards against: its own wait restarts
  t = run(r, t + 250, RULES.risk.calmMs[0]! - 500, 0);
  assert.equal(r.mode, "cautious");
  run(r, t, 1000, 0);
  assert.equal(r.mode, "p2p");
  assert.equal(r.reason, "calm");
});

test("dropped frames count: a share past the first threshold is cautious, past the second http-only", () => {
  const r = new RiskController();
  const d1 = R.droppedFrames[0] + 0.05, d2 = R.droppedFrames[1] + 0.1;
  // 30 frames/s.
  run(r, 0, 6000, 0, (t) => ({ playing: true, bufferedS: 6, totalFrames: (t / 1000) * 30, droppedFrames: (t / 1000) * 30 * d1 }));
  assert.equal(r.mode, "cautious");
  assert.equal(r.reason, "dropped_frames");
  assert.ok(Math.abs(r.inputs.droppedFrames! - d1) < 0.01);
  run(r, 6000, 6000, 0, (t) => ({ playing: true, bufferedS: 6, totalFrames: (t / 1000) * 30, droppedFrames: 180 * d1 + ((t - 6000) / 1000) * 30 * d2 }));
  assert.equal(r.mode, "http-only");
});

test("too few frames say nothing (a paused or starting video)", () => {
  const r = new RiskController();
  run(r, 0, 6000, 0, (t) => ({ totalFrames: t / 1000, droppedFrames: t / 2000 }));
  assert.equal(r.mode, "p2p");
  assert.equal(r.inputs.droppedFrames, undefined);
});

test("long tasks filling the window raise the mode", () => {
  const r = new RiskController();
  const ms = Math.round(250 * (R.longTasks[0] + 0.05));
  for (let t = 0; t < 5000; t += 250) { r.longTask(t, ms); r.sample(t, 0); }
  assert.equal(r.mode, "cautious", `${ms} ms of every 250 ms`);
  assert.equal(r.reason, "long_tasks");
  assert.ok(Math.abs(r.inputs.longTasks - ms / 250) < 0.06);
});

test("a start-up buffer is no risk; once playing, a falling buffer is cautious and an empty one http-only", () => {
  const r = new RiskController();
  run(r, 0, 3000, 0, () => ({ playing: true, bufferedS: 0.2 }));
  assert.equal(r.mode, "p2p", "never had a buffer yet");
  let t = run(r, 3000, 5000, 0, () => ({ playing: true, bufferedS: 6 }));
  // Falls 1 s per second: segments stopped arriving.
  t = run(r, t, 3500, 0, (x) => ({ playing: true, bufferedS: 6 - (x - 8000) / 1000 }));
  assert.equal(r.mode, "cautious");
  assert.equal(r.reason, "buffer");
  assert.ok(r.inputs.bufferTrend! < -0.5);
  run(r, t, 1000, 0, () => ({ playing: true, bufferedS: 0.5 }));
  assert.equal(r.mode, "http-only");
});

test("a low but steady buffer is no risk", () => {
  const r = new RiskController();
  run(r, 0, 20000, 0, (t) => ({ playing: true, bufferedS: t < 2000 ? 4 : 2.5 }));
  assert.equal(r.mode, "p2p");
});

test("peer loads abandoned as late, stalls and a thin bandwidth raise the mode", () => {
  const a = new RiskController();
  for (let i = 1; i < R.lateLoads[0]; i++) a.lateLoad(i * 100);
  a.sample(1000, 0);
  assert.equal(a.mode, "p2p", "fewer late loads than the threshold");
  a.lateLoad(1000); a.sample(1000, 0);
  assert.equal(a.mode, "cautious");
  assert.equal(a.reason, "late_peer_loads");

  const b = new RiskController();
  b.stall(0); b.sample(0, 0);
  assert.equal(b.mode, "http-only");
  assert.equal(b.reason, "stall");

  const c = new RiskController();
  c.sample(0, 0, { bandwidth: 1_300_000 }, 1_000_000);
  assert.equal(c.mode, "cautious");
  assert.equal(c.reason, "bandwidth");
  c.sample(250, 0, { bandwidth: 1_000_000 }, 1_000_000);
  assert.equal(c.mode, "http-only");
});

test("old events leave their window", () => {
  const r = new RiskController();
  r.lateLoad(0); r.lateLoad(10);
  r.sample(20, 0);
  assert.equal(r.inputs.lateLoads, 2);
  r.sample(RULES.risk.lateWindowMs + 100, 0);
  assert.equal(r.inputs.lateLoads, 0);
});

test("a relapse soon after a recovery makes the next recovery slower", () => {
  const r = new RiskController();
  r.sample(0, LAG1);
  let t = run(r, 250, R.calmMs[0]! + 500, 0);
  assert.equal(r.mode, "p2p", "first recovery at the plain calm wait");
  r.sample(t, LAG1);
  assert.equal(r.mode, "cautious");
  assert.equal(r.backoff, 2);
  t = run(r, t + 250, R.calmMs[0]! + 500, 0);
  assert.equal(r.mode, "cautious", "the calm wait doubled");
  t = run(r, t, R.calmMs[0]!, 0);
  assert.equal(r.mode, "p2p");
  run(r, t, R.relapseMs + 1000, 0);
  assert.equal(r.backoff, 1, "a long calm forgets the relapse");
});
