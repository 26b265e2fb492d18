import assert from "node:assert/strict";
import { test } from "node:test";
import { backoff, Emitter } from "../../src/core/clock";
import { RULES } from "../../src/core/config";

test("reconnect backoff doubles from 1 s, caps at 60 s, with jitter", () => {
  const r = RULES.reconnect;
  assert.equal(backoff(0, r, () => 1), 1000);
  assert.equal(backoff(3, r, () => 1), 8000);
  assert.equal(backoff(20, r, () => 1), 60000);
  assert.equal(backoff(0, r, () => 0), 500);
});

test("a throwing listener does not stop the others", () => {
  const e = new Emitter<{ x: number }>();
  const got: number[] = [];
  e.on("x", () => { throw new Error("page bug"); });
  const off = e.on("x", (v) => got.push(v));
  e.emit("x", 1);
  off();
  e.emit("x", 2);
  assert.deepEqual(got, [1]);
});
