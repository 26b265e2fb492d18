// A hostile peer against the engine: whatever a peer sends, the engine
// drops that peer and the player gets its segment (over HTTP).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { Deps, Engine } from "../../src/core/engine";
import { FLAG_SERVES, MIN_PUSH_REQ } from "../../src/core/frame";
import { webHasher } from "../../src/core/integrity";
import { MAX_BACKLOG } from "../../src/core/peer";
import { FakeClock, flush } from "../helpers";
import { FakeDC, FakePC, FakeWS } from "../fakes";

const GOOD = new Uint8Array(40000).map((_, i) => i % 251);
const SHA = createHash("sha256").update(GOOD).digest("hex");
const SEG = "http://node.test/live/720p/5.ts";

interface Rig { e: Engine; clock: FakeClock; ws: FakeWS; closes: { id: string; reason: string }[] }

async function rig(): Promise<{ r: Rig; pc: FakePC; dc: FakeDC }> {
  const clock = new FakeClock();
  const all: FakeWS[] = [];
  const deps: Deps = {
    clock,
    fetch: (async () => new Response(GOOD.slice(), { status: 200 })) as typeof fetch,
    createPC: (c) => new FakePC(c) as unknown as RTCPeerConnection,
    createWS: (u) => { const w = new FakeWS(u); all.push(w); return w; },
    sha256: webHasher(),
    random: () => 0.5,
    userAgent: "test desktop",
    base: "http://node.test/",
  };
  const e = new Engine({}, deps);
  e.setPlayhead(() => ({ time: 0, rate: 1 }));
  const closes: { id: string; reason: string }[] = [];
  e.events.on("peer-close", (c) => closes.push(c));
  e.playlist("http://node.test/live/720p.m3u8", "/live/720p.m3u8", "tkt");
  const ws = all[0]!;
  ws.open();
  ws.serve({ type: "welcome", peer_id: "p1", swarm: "/live/720p.m3u8", config: {
    keys: {}, max_peers: 8, max_inflight: 2, chunk_size: 16384, hello_timeout_ms: 5000, request_timeout_ms: 2000,
    idle_timeout_ms: 2000, critical_ms: 8000, prefetch_ms: 30000, keep_segments: 60, stats_interval_ms: 10000 } });
  const first = "http://node.test/live/720p/4.ts";
  assert.equal((await e.load(first, { url: first, seq: 4, start: 0, duration: 2 })).source, "http");
  ws.serve({ type: "digest", segments: [{ key: "/live/720p/5.ts", seq: 5, size: GOOD.length, sha256: SHA }] });
  ws.serve({ type: "peers", peers: [{ id: "p7" }] });
  await flush();
  const offer = ws.of("relay").find((m) => m.to === "p7" && m.kind === "offer")!;
  ws.serve({ type: "relay", from: "p7", session: offer.session, kind: "answer", sdp: "v=0 answer" });
  await flush();
  const pc = FakePC.all[FakePC.all.length - 1]!;
  const dc = pc.dc!;
  dc.recv({ type: "hello", min_version: 1, max_version: 2, flags: FLAG_SERVES });
  dc.recv({ type: "have", have: { base: 5, count: 1, bits: new Uint8Array([1]) } });
  return { r: { e, clock, ws, closes }, pc, dc };
}

const raw = (...bytes: number[]): ArrayBuffer => new Uint8Array(bytes).buffer;
const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

/** Messages a hostile peer sends while a request of ours (id req) is pending. */
const hostile: { name: string; msgs: (req: number) => unknown[]; report?: string }[] = [
  { name: "text message", msgs: () => ["hello"], report: "protocol_error" },
  { name: "empty message", msgs: () => [raw()], report: "protocol_error" },
  { name: "larger than 65535 bytes", msgs: () => [new Uint8Array(65536).fill(5).buffer], report: "protocol_error" },
  { name: "unknown frame type", msgs: () => [raw(0x0b, 0, 0, 0, 1)], report: "protocol_error" },
  { name: "truncated data", msgs: (req) => [raw(0x04, ...u32(req))], report: "protocol_error" },
  { name: "have declaring 65535 bits", msgs: () => [raw(0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff)], report: "protocol_error" },
  { name: "second hello", msgs: () => [raw(0x01, 1, 2, 1)], report: "protocol_error" },
  { name: "chunk for a request never made", msgs: () => [raw(0x05, ...u32(999), 1, 2, 3)], report: "protocol_error" },
  { name: "done before data", msgs: (req) => [raw(0x06, ...u32(req))], report: "protocol_error" },
  { name: "data of 2^32-1 bytes", msgs: (req) => [raw(0x04, ...u32(req), ...u32(0xffffffff), ...u32(0))], report: "digest_mismatch" },
  {
    name: "more bytes than declared",
    msgs: (req) => {
      const chunk = new Uint8Array(5 + GOOD.length + 1);
      chunk[0] = 5;
      chunk.set(u32(req), 1);
      return [raw(0x04, ...u32(req), ...u32(GOOD.length), ...u32(0)), chunk.buffer];
    },
    report: "protocol_error",
  },
  {
    name: "a push flood (a second push before the first ends)",
    msgs: () => [raw(0x0a, ...u32(MIN_PUSH_REQ), 0, 0, 0, 0, 0, 0, 0, 6), raw(0x0a, ...u32(MIN_PUSH_REQ + 1), 0, 0, 0, 0, 0, 0, 0, 7)],
    report: "protocol_error",
  },
  {
    name: "push ids that do not increase",
    msgs: () => [raw(0x0a, ...u32(MIN_PUSH_REQ + 5), 0, 0, 0, 0, 0, 0, 0, 6), raw(0x08, ...u32(MIN_PUSH_REQ + 5)),
      raw(0x0a, ...u32(MIN_PUSH_REQ + 5), 0, 0, 0, 0, 0, 0, 0, 7)],
    report: "protocol_error",
  },
];

for (const h of hostile) {
  test(`a peer that sends ${h.name} is dropped and the segment comes over HTTP`, async () => {
    const { r, pc, dc } = await rig();
    const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
    await flush();
    const req = dc.frames.find((f) => f.type === "request");
    assert.ok(req && req.type === "request", "the segment was requested from the peer");
    for (const m of h.msgs(req.req)) {
      if (dc.readyState === "closed") break;
      dc.onmessage?.({ data: m });
    }
    const got = await p;
    assert.equal(got.source, "http", "plays on over HTTP");
    assert.deepEqual(got.data, GOOD);
    assert.ok(pc.closed, "the peer is dropped");
    assert.equal(r.e.getStats().peers, 0);
    if (h.report) assert.equal(r.ws.of("report")[0]?.reason, h.report);
  });
}

test("a peer that floods requests without reading is dropped, not buffered for", async () => {
  const { r, pc, dc } = await rig();
  dc.bufferedAmount = MAX_BACKLOG + 1; // our answers pile up unread
  const before = dc.frames.length;
  for (let i = 1; i <= 1000 && !pc.closed; i++) dc.recv({ type: "request", req: i, offset: 0, seq: 5 });
  assert.ok(pc.closed, "the peer is dropped");
  assert.equal(dc.frames.length, before, "nothing more was queued for it");
  assert.equal(r.closes[0]?.reason, "not_reading");
  const got = await r.e.load(SEG, { url: SEG, seq: 5, start: 0, duration: 2 });
  assert.equal(got.source, "http", "plays on over HTTP");
});

test("an upload to a peer that stops reading ends after idle_timeout_ms without progress", async () => {
  const { r, pc, dc } = await rig();
  // The viewer gets segment 5 from the peer and then serves it back.
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  const req = dc.frames.find((f) => f.type === "request")!;
  assert.ok(req.type === "request");
  dc.recv({ type: "data", req: req.req, size: GOOD.length, offset: 0 });
  for (let o = 0; o < GOOD.length; o += 16384) dc.recv({ type: "chunk", req: req.req, payload: GOOD.subarray(o, o + 16384) });
  dc.recv({ type: "done", req: req.req });
  assert.equal((await p).source, "p2p");
  await flush();
  dc.bufferedAmount = 1048576 + 1; // above the high mark, and it never drains
  dc.recv({ type: "request", req: 1, offset: 0, seq: 5 });
  await flush();
  assert.ok(!pc.closed, "a full buffer alone is no reason");
  await r.clock.advance(2000);
  assert.ok(pc.closed, "dropped after idle_timeout_ms without progress");
  assert.equal(r.closes.at(-1)?.reason, "not_reading");
});
