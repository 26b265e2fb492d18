import assert from "node:assert/strict";
import { test } from "node:test";
import { JSONError, NotInt, parseStrict } from "../../src/core/json";

test("plain integers are numbers; other numbers are marked", () => {
  const o = parseStrict('{"a":12,"b":-1,"c":1.0,"d":1e3,"e":[0]}', 8);
  assert.equal(o.a, 12);
  assert.ok(o.b instanceof NotInt && o.c instanceof NotInt && o.d instanceof NotInt);
  assert.deepEqual(o.e, [0]);
});

test("strings keep escapes' meaning", () => {
  assert.equal(parseStrict('{"s":"a\\u00e9\\n\\/"}', 8).s, "a\u00e9\n/");
});

for (const [name, text] of [
  ["duplicate", '{"a":1,"a":2}'], ["null", '{"a":null}'], ["key case", '{"A":1}'], ["raw control", '{"a":"\u0001"}'],
  ["leading zero", '{"a":01}'], ["trailing comma", '{"a":1,}'], ["too deep", '{"a":{"b":{"c":1}}}'], ["two objects", "{}{}"],
] as const) {
  test(`refused: ${name}`, () => assert.throws(() => parseStrict(text, 2), JSONError));
}
