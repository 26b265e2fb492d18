import assert from "node:assert/strict";
import { test } from "node:test";
import { compileKeyRules, keyOfURL } from "../../src/core/keys";
import type { KeyRules } from "../../src/core/signal";
import { golden } from "../helpers";

const g = golden<{
  cases: { name: string; config: KeyRules; host: string; path: string; query: string; key: string }[];
  invalid_rewrites: { name: string; match: string; replace: string }[];
}>("testdata/keys.json");

for (const c of g.cases) {
  test(`key: ${c.name}`, () => {
    assert.equal(compileKeyRules(c.config)(c.host, c.path, c.query), c.key);
  });
}
for (const c of g.invalid_rewrites) {
  test(`key rules refuse: ${c.name}`, () => {
    assert.throws(() => compileKeyRules({ rewrites: [{ match: c.match, replace: c.replace }] }));
  });
}

test("two tokens of one segment share a key", () => {
  const f = compileKeyRules({});
  assert.equal(keyOfURL(f, "https://cdn.example/live/1.ts?id=xyz"), keyOfURL(f, "/live/1.ts?id=abc", "http://node:8080/"));
});
