import assert from "node:assert/strict";
import { test } from "node:test";
import { isMobileUA, resolve } from "../../src/core/config";

test("desktop defaults upload; mobile is download-only with a smaller store", () => {
  const d = resolve({}, "Mozilla/5.0 (X11; Linux x86_64)");
  const m = resolve({}, "Mozilla/5.0 (Linux; Android 14) Mobile Safari");
  assert.equal(d.upload, true);
  assert.equal(m.upload, false);
  assert.ok(m.storeBytes < d.storeBytes);
  assert.equal(d.maxPeers, 5);
});

test("the page's options win", () => {
  assert.equal(resolve({ upload: false }, "desktop").upload, false);
  assert.equal(resolve({ mobile: true }, "desktop").mobile, true);
  assert.equal(isMobileUA("Mozilla/5.0 (iPad; CPU OS 17_0)"), true);
});
