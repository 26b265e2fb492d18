// The TS frame decoder over the Go fuzz corpus of the frame decoder
// (wire/testdata/fuzz/FuzzDecodeFrame: seeds and any crashers the Go
// fuzzer kept): for each file it must give what the Go decoder gives
// (wire/testdata/corpus/frame.json), fail only with a FrameError, never
// hang and never allocate what a frame declares.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeFrame, encodeFrame, FrameError } from "../../src/core/frame";
import { golden, ROOT } from "../helpers";

const DIR = join(ROOT, "wire/testdata/fuzz/FuzzDecodeFrame");

/** Parses a file of go test's fuzz format holding one []byte value (a Go string literal). */
function parseGoCorpus(text: string): Uint8Array {
  const m = /^go test fuzz v1\n\[\]byte\(("(?:[^"\\]|\\.)*")\)\s*$/s.exec(text);
  if (!m) throw new Error("not a go test fuzz v1 file with one []byte value");
  const s = m[1]!.slice(1, -1);
  const out: number[] = [];
  const utf8 = (cp: number): void => { out.push(...new TextEncoder().encode(String.fromCodePoint(cp))); };
  for (let i = 0; i < s.length;) {
    const c = s[i]!;
    if (c !== "\\") { const cp = s.codePointAt(i)!; utf8(cp); i += cp > 0xffff ? 2 : 1; continue; }
    const e = s[i + 1]!;
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92, "'": 39, '"': 34 };
    if (e in simple) { out.push(simple[e]!); i += 2; }
    else if (e === "x") { out.push(parseInt(s.slice(i + 2, i + 4), 16)); i += 4; }
    else if (e === "u") { utf8(parseInt(s.slice(i + 2, i + 6), 16)); i += 6; }
    else if (e === "U") { utf8(parseInt(s.slice(i + 2, i + 10), 16)); i += 10; }
    else if (e >= "0" && e <= "7") { out.push(parseInt(s.slice(i + 1, i + 4), 8)); i += 4; }
    else throw new Error("bad escape \\" + e);
  }
  return new Uint8Array(out);
}

const results = new Map(golden<{ vectors: { file: string; result: string }[] }>("wire/testdata/corpus/frame.json").vectors.map((v) => [v.file, v.result]));
const files = readdirSync(DIR).sort();

test("the corpus and the Go decoder's results list the same files", () => {
  assert.ok(files.length >= 30, `${files.length} corpus files`);
  assert.deepEqual(files, [...results.keys()].sort(), "run go test ./wire -run TestFrameCorpus -update");
});

for (const file of files) {
  test(`corpus ${file}: decodes as the Go decoder does`, { timeout: 2000 }, () => {
    const b = parseGoCorpus(readFileSync(join(DIR, file), "utf8"));
    const before = process.memoryUsage().arrayBuffers;
    let result = "ok";
    try {
      const f = decodeFrame(b);
      // Accepted frames re-encode to their input, as in Go; a have-map of
      // no bits has a base no rule bounds, which a JS number may round.
      if (!(f.type === "have" && f.have.count === 0)) assert.deepEqual(encodeFrame(f), b, "re-encodes to its input");
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      assert.match(e.message, /^peer frame: /);
      result = e.code;
    }
    assert.equal(result, results.get(file));
    // A frame's declared sizes (up to 2^32-1 bytes, 65535 bits, 65535
    // key bytes) are never allocated: decoding costs about the input.
    assert.ok(process.memoryUsage().arrayBuffers - before < (1 << 20) + b.length, "no allocation of a declared size");
  });
}

test("the Go string parser reads every escape the Go fuzzer writes", () => {
  assert.deepEqual(parseGoCorpus('go test fuzz v1\n[]byte("a\\x00\\xff\\n\\"\\\\\\001é\\u2028")\n'),
    new Uint8Array([0x61, 0, 0xff, 10, 34, 92, 1, 0xc3, 0xa9, 0xe2, 0x80, 0xa8]));
});
