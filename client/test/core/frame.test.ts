import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildHave, decodeFrame, encodeFrame, Frame, FrameError, haveHas } from "../../src/core/frame";
import { fromHex, golden, ROOT, toHex } from "../helpers";

type Vec = { name: string; hex: string; decoded: Record<string, unknown> };

// toGolden writes a frame the way the vector files do (byte strings as hex).
function toGolden(f: Frame): Record<string, unknown> {
  const o: Record<string, unknown> = { ...f };
  if (f.type === "have") o.have = { base: f.have.base, count: f.have.count, bits: toHex(f.have.bits) };
  if (f.type === "chunk") o.payload = toHex(f.payload);
  return o;
}
function fromGolden(d: Record<string, unknown>): Frame {
  const o = { ...d } as Record<string, unknown>;
  if (d.type === "have") { const h = d.have as { base: number; count: number; bits: string }; o.have = { ...h, bits: fromHex(h.bits) }; }
  if (d.type === "chunk") o.payload = fromHex(d.payload as string);
  return o as Frame;
}

const dir = join(ROOT, "wire/testdata/peer");
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "rejected.json")) {
  const g = golden<{ vectors: Vec[] }>("wire/testdata/peer", file);
  for (const v of g.vectors) {
    test(`peer ${file} ${v.name}: decode and encode match the golden bytes`, () => {
      assert.deepEqual(toGolden(decodeFrame(fromHex(v.hex))), v.decoded);
      assert.equal(toHex(encodeFrame(fromGolden(v.decoded))), v.hex);
    });
  }
}

const rej = golden<{ vectors: { name: string; hex: string; pad_to?: number; error: string }[] }>("wire/testdata/peer/rejected.json");
for (const v of rej.vectors) {
  test(`peer rejected ${v.name}: ${v.error}`, () => {
    let b = fromHex(v.hex);
    if (v.pad_to) { const p = new Uint8Array(v.pad_to); p.set(b); b = p; }
    assert.throws(() => decodeFrame(b), (e: unknown) => e instanceof FrameError && e.code === v.error);
  });
}

test("have-map built from held sequences holds exactly them", () => {
  const h = buildHave([1211, 1200, 1205, 1300]);
  assert.equal(h.base, 1200);
  assert.equal(h.count, 101);
  for (let s = 1190; s < 1310; s++) assert.equal(haveHas(h, s), [1200, 1205, 1211, 1300].includes(s), String(s));
  const round = decodeFrame(encodeFrame({ type: "have", have: h }));
  assert.ok(round.type === "have" && haveHas(round.have, 1205));
});

test("have-map keeps only the newest 1024 sequences", () => {
  const h = buildHave([0, 5000]);
  assert.equal(h.base, 5000 - 1023);
  assert.equal(h.count, 1024);
  assert.ok(haveHas(h, 5000) && !haveHas(h, 0));
});

test("encoder refuses frames that break a rule", () => {
  assert.throws(() => encodeFrame({ type: "push", req: 5, seq: 1 }), FrameError);
  assert.throws(() => encodeFrame({ type: "chunk", req: 1, payload: new Uint8Array(0) }), FrameError);
  assert.throws(() => encodeFrame({ type: "request", req: 1, offset: 0, key: "a\nb" }), FrameError);
  assert.throws(() => encodeFrame({ type: "data", req: 1, size: 10, offset: 11 }), FrameError);
});
