// A strict JSON reader for signaling messages (docs/protocol.md section 4.2):
// it keeps what JSON.parse loses (duplicate keys, 1 vs 1.0) and enforces the
// key alphabet, the nesting limit and the ban on null.

/** A number written with a sign, fraction or exponent: never a valid integer field. */
export class NotInt { constructor(readonly text: string) {} }

export type JVal = string | number | boolean | NotInt | JVal[] | { [k: string]: JVal };

export class JSONError extends Error {}

const KEY = /^[a-z0-9_]{1,64}$/;
const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const PLAIN = /^(?:0|[1-9]\d*)$/;
const WS = /[ \t\n\r]*/y;
const STR = /"((?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*)"/y;

/** Parses text as exactly one JSON object under the signaling rules. */
export function parseStrict(text: string, maxDepth: number): { [k: string]: JVal } {
  let i = 0;
  const fail = (m: string): never => { throw new JSONError(m + " at offset " + i); };
  const ws = (): void => { WS.lastIndex = i; WS.exec(text); i = WS.lastIndex; };
  const str = (): string => {
    STR.lastIndex = i;
    const m = STR.exec(text);
    if (!m) return fail("bad string");
    i = STR.lastIndex;
    return JSON.parse(m[0]) as string;
  };
  const val = (depth: number): JVal => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      if (depth > maxDepth) fail("nested deeper than " + maxDepth);
      i++; ws();
      if (c === "[") {
        const a: JVal[] = [];
        if (text[i] === "]") { i++; return a; }
        for (;;) {
          a.push(val(depth + 1)); ws();
          if (text[i] === ",") { i++; continue; }
          if (text[i] === "]") { i++; return a; }
          fail("expected , or ]");
        }
      }
      const o: { [k: string]: JVal } = Object.create(null);
      if (text[i] === "}") { i++; return o; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected key");
        const k = str();
        if (!KEY.test(k)) fail("key " + JSON.stringify(k.slice(0, 64)) + " outside [a-z0-9_]{1,64}");
        if (k in o) fail("duplicate key " + k);
        ws();
        if (text[i] !== ":") fail("expected :");
        i++;
        o[k] = val(depth + 1); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return o; }
        fail("expected , or }");
      }
    }
    if (c === '"') return str();
    if (text.startsWith("true", i)) { i += 4; return true; }
    if (text.startsWith("false", i)) { i += 5; return false; }
    if (text.startsWith("null", i)) fail("null is not allowed");
    NUM.lastIndex = i;
    const m = NUM.exec(text);
    if (!m || m[0] === "" ) return fail("unexpected input");
    i = NUM.lastIndex;
    return PLAIN.test(m[0]) ? Number(m[0]) : new NotInt(m[0]);
  };
  ws();
  if (text[i] !== "{") fail("not a JSON object");
  const o = val(1) as { [k: string]: JVal };
  ws();
  if (i !== text.length) fail("data after the object");
  return o;
}
