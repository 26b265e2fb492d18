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

test("a mobile hint from User-Agent Client Hints makes a desktop-looking user agent mobile; a false hint does not overrule a mobile one", () => {
  assert.equal(resolve({}, "Mozilla/5.0 (X11; Linux x86_64)", true).mobile, true);
  assert.equal(resolve({}, "Mozilla/5.0 (X11; Linux x86_64)", true).upload, false);
  assert.equal(resolve({}, "Mozilla/5.0 (Linux; Android 14) Mobile Safari", false).mobile, true);
  assert.equal(resolve({}, "Mozilla/5.0 (X11; Linux x86_64)", false).mobile, false);
  assert.equal(resolve({ mobile: false }, "Mozilla/5.0 (iPhone)", true).mobile, false);
});
