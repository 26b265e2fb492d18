import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeSignal, encodeSignal, SignalError, SignalMessage } from "../../src/core/signal";
import { fromHex, golden, ROOT } from "../helpers";

type Vec = { name: string; canonical: boolean; text: string; decoded: Record<string, unknown> };

const dir = join(ROOT, "wire/testdata/signal");
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "rejected.json")) {
  const g = golden<{ vectors: Vec[] }>("wire/testdata/signal", file);
  for (const v of g.vectors) {
    test(`signal ${file} ${v.name}: decodes to the golden message`, () => {
      const m = decodeSignal(v.text, "any");
      assert.equal(encodeSignal(m), JSON.stringify(v.decoded));
      if (v.canonical) assert.equal(encodeSignal(v.decoded as unknown as SignalMessage), v.text);
    });
  }
}

const rej = golden<{ vectors: { name: string; text?: string; hex?: string; decoder: string; error: string }[] }>("wire/testdata/signal/rejected.json");
for (const v of rej.vectors) {
  test(`signal rejected ${v.name}: ${v.error}`, () => {
    const input = v.hex !== undefined ? fromHex(v.hex) : v.text!;
    const from = v.decoder === "from_client" ? "client" : v.decoder === "from_server" ? "server" : "any";
    assert.throws(() => decodeSignal(input, from), (e: unknown) => e instanceof SignalError && e.code === v.error);
  });
}

test("encoder refuses a join without a swarm and a relay with both ends", () => {
  assert.throws(() => encodeSignal({ type: "join", swarm: "" }), SignalError);
  assert.throws(() => encodeSignal({ type: "relay", to: "a", from: "b", session: "s", kind: "answer", sdp: "v=0" }), SignalError);
});

test("a client's decoder refuses client-only messages", () => {
  assert.throws(() => decodeSignal('{"v":1,"type":"stats"}', "server"), SignalError);
  assert.equal(decodeSignal('{"v":1,"type":"peer_left","id":"p2"}', "server").type, "peer_left");
});
