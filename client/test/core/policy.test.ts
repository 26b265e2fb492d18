import assert from "node:assert/strict";
import { test } from "node:test";
import { PolicyState } from "../../src/core/policy";

test("before any policy a desktop viewer uploads and a mobile one does not", () => {
  assert.equal(new PolicyState(undefined, false).uploads, true);
  assert.equal(new PolicyState(undefined, true).uploads, false);
  assert.equal(new PolicyState(true, true).uploads, true, "the page's option overrides the mobile default");
});

test("the node's policy resolves the platform default; upload_off always wins", () => {
  const m = new PolicyState(undefined, true);
  m.apply({ revision: 1 });
  assert.equal(m.uploads, true, "the node let this mobile viewer upload");
  m.apply({ revision: 2, upload_off: true });
  assert.equal(m.uploads, false);
  const d = new PolicyState(true, false);
  d.apply({ revision: 1, upload_off: true });
  assert.equal(d.uploads, false, "over the page's upload: true");
  const opt = new PolicyState(false, false);
  opt.apply({ revision: 1 });
  assert.equal(opt.uploads, false, "the page's upload: false stands");
});

test("older revisions are ignored; a new join forgets the previous policy", () => {
  const p = new PolicyState(undefined, false);
  assert.ok(p.apply({ revision: 5, p2p_off: true }));
  assert.equal(p.apply({ revision: 4 }), false);
  assert.equal(p.noViewerP2P, true);
  p.join(false);
  assert.equal(p.noViewerP2P, false);
  assert.ok(p.apply({ revision: 1 }), "revisions start again with the join");
});

test("holdback and http_only mean no peer at all and group holdback; p2p_off keeps the group p2p", () => {
  const h = new PolicyState(undefined, false);
  h.join(true);
  assert.equal(h.httpOnly, true);
  assert.equal(h.maxPeers, 0);
  assert.equal(h.uploads, false);
  assert.equal(h.group(true), "holdback");
  assert.equal(h.group(false), "http");
  const o = new PolicyState(undefined, false);
  o.apply({ revision: 1, p2p_off: true });
  assert.equal(o.httpOnly, false);
  assert.equal(o.noViewerP2P, true);
  assert.equal(o.group(true), "p2p");
  o.apply({ revision: 2, http_only: true });
  assert.equal(o.group(true), "holdback");
});

test("bounds: peers, upload rate and critical window", () => {
  const p = new PolicyState(undefined, false);
  assert.equal(p.maxPeers, Infinity);
  assert.equal(p.uploadRate(0), 0);
  assert.equal(p.criticalMs, undefined);
  p.apply({ revision: 1, max_peers: 3, max_upload_bps: 1000, critical_ms: 0 });
  assert.equal(p.maxPeers, 3);
  assert.equal(p.uploadRate(0), 1000);
  assert.equal(p.uploadRate(500), 500);
  assert.equal(p.uploadRate(5000), 1000);
  assert.equal(p.criticalMs, 0);
});
