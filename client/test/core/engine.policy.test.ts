// The engine under the node's live policy: P2P switched off closes the
// viewer connections and loads go over HTTP at once; back on, P2P resumes.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { Deps, Engine } from "../../src/core/engine";
import { FLAG_SERVES } from "../../src/core/frame";
import { webHasher } from "../../src/core/integrity";
import { FakeClock, flush } from "../helpers";
import { FakePC, FakeWS } from "../fakes";

const GOOD = new Uint8Array(40000).map((_, i) => i % 251);
const SHA = createHash("sha256").update(GOOD).digest("hex");

function rig(ua = "test desktop"): { e: Engine; ws: FakeWS[]; fetches: string[] } {
  const ws: FakeWS[] = [];
  const fetches: string[] = [];
  const deps: Deps = {
    clock: new FakeClock(),
    fetch: (async (url: string) => { fetches.push(url); return new Response(GOOD.slice(), { status: 200 }); }) as typeof fetch,
    createPC: (c) => new FakePC(c) as unknown as RTCPeerConnection,
    createWS: (u) => { const w = new FakeWS(u); ws.push(w); return w; },
    sha256: webHasher(), random: () => 0.5, userAgent: ua, base: "http://node.test/",
  };
  const e = new Engine({}, deps);
  e.setPlayhead(() => ({ time: 0, rate: 1 }));
  return { e, ws, fetches };
}

async function joined(r: ReturnType<typeof rig>, over: Record<string, unknown> = {}): Promise<FakeWS> {
  r.e.playlist("http://node.test/live/720p.m3u8", "/live/720p.m3u8", "tkt");
  const ws = r.ws[0]!;
  ws.open();
  ws.serve({ type: "welcome", peer_id: "p1", swarm: "/live/720p.m3u8", config: {
    keys: {}, max_peers: 8, max_inflight: 2, chunk_size: 16384, hello_timeout_ms: 5000, request_timeout_ms: 2000,
    idle_timeout_ms: 2000, critical_ms: 8000, prefetch_ms: 30000, keep_segments: 60, stats_interval_ms: 10000, ...over } });
  const url = "http://node.test/live/720p/4.ts";
  await r.e.load(url, { url, seq: 4, start: 0, duration: 2 });
  r.fetches.length = 0;
  ws.serve({ type: "digest", segments: [{ key: "/live/720p/5.ts", seq: 5, size: GOOD.length, sha256: SHA }] });
  return ws;
}

async function connect(ws: FakeWS, id: string): Promise<FakePC> {
  const before = ws.of("relay").length;
  ws.serve({ type: "peers", peers: [{ id }] });
  await flush();
  const offer = ws.of("relay").slice(before).find((m) => m.to === id && m.kind === "offer");
  assert.ok(offer, "an offer to " + id);
  ws.serve({ type: "relay", from: id, session: offer.session, kind: "answer", sdp: "v=0 answer" });
  await flush();
  const pc = FakePC.all[FakePC.all.length - 1]!;
  pc.dc!.recv({ type: "hello", min_version: 1, max_version: 2, flags: FLAG_SERVES });
  pc.dc!.recv({ type: "have", have: { base: 5, count: 1, bits: new Uint8Array([1]) } });
  return pc;
}

const SEG = "http://node.test/live/720p/5.ts";

test("p2p_off closes viewer peers and loads go over HTTP at once; a later revision turns P2P back on", async () => {
  const r = rig();
  const ws = await joined(r);
  const pc = await connect(ws, "p7");
  assert.equal(r.e.getStats().peers, 1);
  ws.serve({ type: "policy", revision: 1, p2p_off: true });
  await flush();
  assert.ok(pc.closed, "the viewer connection closed");
  assert.equal(r.e.getStats().peers, 0);
  const got = await r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  assert.equal(got.source, "http", "no wait for the swarm");
  assert.deepEqual(r.fetches, [SEG]);
  // An offer from another viewer is refused while P2P is off.
  const pcs = FakePC.all.length;
  ws.serve({ type: "relay", from: "p9", session: "s9", kind: "offer", sdp: "v=0 offer" });
  await flush();
  assert.equal(FakePC.all.length, pcs, "no connection for p9's offer");
  // A stale revision changes nothing; the next one turns P2P on and the
  // viewer dials its candidates again.
  ws.serve({ type: "policy", revision: 1 });
  await flush();
  assert.equal(FakePC.all.length, pcs);
  ws.serve({ type: "policy", revision: 2 });
  await flush();
  const offers = ws.of("relay").filter((m) => m.to === "p7" && m.kind === "offer");
  assert.equal(offers.length, 2, "p7 is offered to again");
});

test("a held-back viewer (welcome holdback) opens no peer connection and loads over HTTP", async () => {
  const r = rig();
  const ws = await joined(r, { holdback: true });
  ws.serve({ type: "peers", peers: [{ id: "s0", seeder: true }, { id: "p7" }] });
  await flush();
  assert.equal(ws.of("relay").length, 0, "no offer to anyone");
  assert.equal(r.e.policy.group(r.e.p2pCapable), "holdback");
  const got = await r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  assert.equal(got.source, "http");
});

test("a mobile viewer joins download-only and answers requests busy, but downloads from peers", async () => {
  const r = rig("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36");
  const ws = await joined(r);
  assert.deepEqual(ws.of("join")[0]!.caps, { mobile: true });
  const pc = await connect(ws, "p7");
  const hello = pc.dc!.frames.find((f) => f.type === "hello");
  assert.ok(hello && hello.type === "hello" && (hello.flags & FLAG_SERVES) === 0, "hello says it does not serve");
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  const req = pc.dc!.frames.find((f) => f.type === "request");
  assert.ok(req && req.type === "request", "it asks the peer");
  pc.dc!.recv({ type: "data", req: req.req, size: GOOD.length, offset: 0 });
  for (let o = 0; o < GOOD.length; o += 16384) pc.dc!.recv({ type: "chunk", req: req.req, payload: GOOD.subarray(o, o + 16384) });
  pc.dc!.recv({ type: "done", req: req.req });
  assert.equal((await p).source, "p2p");
  // Another viewer's request is answered absent (it does not serve): nothing uploaded.
  pc.dc!.recv({ type: "request", req: 1, seq: 5, offset: 0 });
  await flush();
  assert.equal(r.e.getStats().uploadBytes, 0);
});

test("P2P back on: a viewer whose connection the other end closed is dialled again, and an offer held while P2P was off is answered", async () => {
  const r = rig();
  const ws = await joined(r);
  const pc = await connect(ws, "p7");
  // A viewer with a smaller id than ours (p1): it is the one to dial again.
  await connect(ws, "a3");
  // The other end closes first (its policy came earlier).
  pc.close();
  await flush();
  ws.serve({ type: "policy", revision: 1, p2p_off: true });
  ws.serve({ type: "relay", from: "p9", session: "s9", kind: "offer", sdp: "v=0 offer" });
  const before = ws.of("relay").filter((m) => m.kind === "offer").length;
  ws.serve({ type: "policy", revision: 2 });
  await flush();
  const to = ws.of("relay").filter((m) => m.kind === "offer").slice(before).map((m) => m.to);
  assert.deepEqual(to, ["p7"], "p7 is offered to again, a3 (a smaller id) is left to dial us");
  assert.ok(ws.of("relay").some((m) => m.kind === "answer" && m.to === "p9"), "p9's held offer is answered");
});
