import assert from "node:assert/strict";
import { test } from "node:test";
import { Counters } from "../../src/core/stats";

test("peer efficiency counts seed and p2p; offload counts only p2p", () => {
  const c = new Counters();
  c.http = 25; c.p2p = 50; c.seed = 25;
  const s = c.snapshot(3, { connected: true });
  assert.equal(s.peerEfficiency, 0.75);
  assert.equal(s.offload, 0.5);
  assert.equal(s.peers, 3);
});

test("no bytes yet means zero figures, not NaN", () => {
  const s = new Counters().snapshot(0, { connected: false });
  assert.equal(s.peerEfficiency, 0);
  assert.equal(s.offload, 0);
});
