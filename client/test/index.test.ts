import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as api from "../src/index";

test("the published types declare exactly the module's exports", () => {
  const dts = readFileSync("dist/edgeswarm.d.ts", "utf8");
  const declared = [...dts.matchAll(/export declare (?:function|const) (\w+)/g)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(api).sort());
});

test("without WebRTC, getStats works and reports nothing", () => {
  assert.equal(api.supported(), false);
  const s = api.getStats();
  assert.equal(s.httpBytes + s.p2pBytes + s.seedBytes, 0);
});
