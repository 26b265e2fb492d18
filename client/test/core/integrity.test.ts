import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { hex, verify, webHasher } from "../../src/core/integrity";

const data = new TextEncoder().encode("edgeswarm segment");
const sha = createHash("sha256").update(data).digest("hex");

test("a segment matching size and SHA-256 verifies", async () => {
  assert.equal(await verify(webHasher()!, data, { key: "/a.ts", size: data.length, sha256: sha }), true);
});

test("one flipped byte, or a different size, is rejected", async () => {
  const bad = data.slice();
  bad[3]! ^= 1;
  assert.equal(await verify(webHasher()!, bad, { key: "/a.ts", size: data.length, sha256: sha }), false);
  assert.equal(await verify(webHasher()!, data.subarray(1), { key: "/a.ts", size: data.length, sha256: sha }), false);
});

test("hex is lower-case and zero-padded", () => {
  assert.equal(hex(new Uint8Array([0, 15, 255])), "000fff");
});
