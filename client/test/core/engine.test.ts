import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { Deps, Engine } from "../../src/core/engine";
import { RULES } from "../../src/core/config";
import { FLAG_SERVES } from "../../src/core/frame";
import { webHasher } from "../../src/core/integrity";
import { FakeClock, flush } from "../helpers";
import { FakePC, FakeWS } from "../fakes";

const GOOD = new Uint8Array(40000).map((_, i) => i % 251);
const BAD = GOOD.map((b, i) => (i === 100 ? b ^ 1 : b));
const SHA = createHash("sha256").update(GOOD).digest("hex");
const SEG = "http://node.test/live/720p/5.ts?token=x";

interface Rig { e: Engine; clock: FakeClock; ws: FakeWS[]; fetches: { url: string; range?: string }[] }

function rig(o: { webrtc?: boolean; httpFail?: number } = {}): Rig {
  const clock = new FakeClock();
  const ws: FakeWS[] = [];
  const fetches: { url: string; range?: string }[] = [];
  let fails = o.httpFail ?? 0;
  const deps: Deps = {
    clock,
    fetch: (async (url: string, init?: RequestInit) => {
      const range = (init?.headers as Record<string, string> | undefined)?.Range;
      fetches.push({ url, range });
      if (fails-- > 0) return new Response("no", { status: 503 });
      if (range) {
        const from = Number(/bytes=(\d+)-/.exec(range)![1]);
        return new Response(GOOD.slice(from), { status: 206 });
      }
      return new Response(GOOD.slice(), { status: 200 });
    }) as typeof fetch,
    createPC: o.webrtc === false ? undefined : (c) => new FakePC(c) as unknown as RTCPeerConnection,
    createWS: (u) => { const w = new FakeWS(u); ws.push(w); return w; },
    sha256: webHasher(),
    random: () => 0.5,
    userAgent: "test desktop",
    base: "http://node.test/",
  };
  const e = new Engine({}, deps);
  e.setPlayhead(() => ({ time: 0, rate: 1 }));
  return { e, clock, ws, fetches };
}

/** The viewer loads the 720p playlist, connects to the tracker and is welcomed with the default config (with over). */
function welcome(r: Rig, over: Record<string, unknown> = {}): FakeWS {
  r.e.playlist("http://node.test/live/720p.m3u8", "/live/720p.m3u8", "tkt");
  const ws = r.ws[0]!;
  ws.open();
  ws.serve({ type: "welcome", peer_id: "p1", swarm: "/live/720p.m3u8", config: {
    keys: {}, max_peers: 8, max_inflight: 2, chunk_size: 16384, hello_timeout_ms: 5000, request_timeout_ms: 2000,
    idle_timeout_ms: 2000, critical_ms: 8000, prefetch_ms: 30000, keep_segments: 60, stats_interval_ms: 10000, ...over } });
  return ws;
}

/** The tracker lists peer id; this viewer offers and id answers. Returns the new connection. */
async function connectTo(ws: FakeWS, id: string, seeder = false): Promise<FakePC> {
  ws.serve({ type: "peers", peers: [seeder ? { id, seeder } : { id }] });
  await flush();
  const offer = ws.of("relay").find((m) => m.to === id && m.kind === "offer");
  assert.ok(offer, `an offer to ${id}`);
  ws.serve({ type: "relay", from: id, session: offer.session, kind: "answer", sdp: "v=0 answer" });
  await flush();
  return FakePC.all[FakePC.all.length - 1]!;
}

/**
 * Joins a swarm, has the player's first segment delivered (peer
 * connections wait for it), and connects one viewer peer p7 that holds
 * segment 5 (unless holds is false).
 */
async function joinWithPeer(r: Rig, holds = true): Promise<FakePC> {
  const ws = welcome(r);
  await started(r);
  ws.serve({ type: "digest", segments: [{ key: "/live/720p/5.ts", seq: 5, size: GOOD.length, sha256: SHA }] });
  const pc = await connectTo(ws, "p7");
  const dc = pc.dc!;
  assert.deepEqual(dc.frames.map((f) => f.type), ["hello", "have"]);
  dc.recv({ type: "hello", min_version: 1, max_version: 2, flags: FLAG_SERVES });
  dc.recv({ type: "have", have: { base: 5, count: 1, bits: new Uint8Array([holds ? 1 : 0]) } });
  return pc;
}

/** The player's first segment (over HTTP, needed now): afterwards loads may wait for the swarm. */
async function started(r: Rig): Promise<void> {
  const url = "http://node.test/live/720p/4.ts";
  assert.equal((await r.e.load(url, { url, seq: 4, start: 0, duration: 2 })).source, "http");
  r.fetches.length = 0;
}

/** Answers the first request on the channel with bytes. */
function answer(pc: FakePC, bytes: Uint8Array): void {
  const dc = pc.dc!;
  const req = dc.frames.find((f) => f.type === "request");
  assert.ok(req && req.type === "request", "a request was sent");
  assert.equal(req.seq, 5);
  dc.recv({ type: "data", req: req.req, size: bytes.length, offset: 0 });
  for (let o = 0; o < bytes.length; o += 16384) dc.recv({ type: "chunk", req: req.req, payload: bytes.subarray(o, o + 16384) });
  dc.recv({ type: "done", req: req.req });
}



test("join carries the ticket and capabilities from the playlist", async () => {
  const r = rig();
  await joinWithPeer(r);
  const j = r.ws[0]!.of("join")[0]!;
  assert.deepEqual(j, { type: "join", swarm: "/live/720p.m3u8", ticket: "tkt", caps: { upload: true }, client: "edgeswarm-js/0.1.0" });
  assert.equal(r.ws[0]!.url, "ws://node.test/swarm");
  assert.equal(r.e.getStats().peers, 1);
});

test("a verified segment from a viewer reaches the player and counts as p2p", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  answer(pc, GOOD);
  const got = await p;
  assert.equal(got.source, "p2p");
  assert.deepEqual(got.data, GOOD);
  assert.equal(r.fetches.length, 0, "no HTTP");
  const s = r.e.getStats();
  assert.equal(s.p2pBytes, GOOD.length);
  assert.equal(s.segmentsVerified, 1);
  assert.equal(s.httpBytes, GOOD.length, "the first segment only");
  assert.equal(s.offload, 0.5);
});

test("a segment that fails its digest is rejected, the peer dropped and reported, HTTP used", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  answer(pc, BAD);
  const got = await p;
  assert.equal(got.source, "http");
  assert.deepEqual(got.data, GOOD, "the player never sees the bad bytes");
  const s = r.e.getStats();
  assert.equal(s.segmentsRejected, 1);
  assert.equal(s.p2pBytes, 0);
  assert.equal(s.httpBytes, 2 * GOOD.length, "the first segment and this one");
  assert.equal(s.peers, 0);
  assert.ok(pc.closed);
  // The report carries what was received, for the node to check against its digest.
  assert.deepEqual(r.ws[0]!.of("report")[0], { type: "report", peer: "p7", reason: "digest_mismatch", key: "/live/720p/5.ts",
    sha256: createHash("sha256").update(BAD).digest("hex"), size: BAD.length });
});

test("a segment needed within the critical window goes over HTTP even when a peer has it", async () => {
  const r = rig();
  r.e.setPlayhead(() => ({ time: 0, rate: 1 }));
  await joinWithPeer(r);
  // Needed in 0.3 s: inside any critical threshold (its pad alone is 0.5 s).
  const got = await r.e.load(SEG, { url: SEG, seq: 5, start: 0.3, duration: 2 });
  assert.equal(got.source, "http");
});

test("a stalled transfer is cancelled and resumed over HTTP with a Range request", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  const dc = pc.dc!;
  const req = dc.frames.find((f) => f.type === "request")!;
  assert.ok(req.type === "request");
  dc.recv({ type: "data", req: req.req, size: GOOD.length, offset: 0 });
  dc.recv({ type: "chunk", req: req.req, payload: GOOD.subarray(0, 10000) });
  await r.clock.advance(3000); // idle_timeout_ms is 2000
  const got = await p;
  assert.equal(got.source, "http");
  assert.deepEqual(got.data, GOOD);
  assert.equal(r.fetches[0]!.range, "bytes=10000-");
  assert.ok(dc.frames.some((f) => f.type === "cancel" && f.req === req.req), "cancel sent");
  const s = r.e.getStats();
  assert.equal(s.aborts, 1);
  assert.equal(s.httpBytes, GOOD.length + GOOD.length - 10000, "the first segment, and the rest of this one");
  assert.equal(s.p2pBytes, 10000);
  assert.ok(pc.closed, "the stalled peer is dropped");
  assert.equal(r.ws[0]!.of("report")[0]!.reason, "unresponsive");
});

test("without WebRTC the player is served over HTTP and nothing joins", async () => {
  const r = rig({ webrtc: false });
  r.e.playlist("http://node.test/live/720p.m3u8", "/live/720p.m3u8", "tkt");
  const got = await r.e.load(SEG);
  assert.equal(got.source, "http");
  assert.equal(r.ws.length, 0);
  assert.equal(r.e.getStats().httpBytes, GOOD.length);
});

test("HTTP failures are retried with backoff", async () => {
  const r = rig({ webrtc: false, httpFail: 2 });
  const p = r.e.load(SEG);
  await r.clock.advance(5000);
  assert.equal((await p).source, "http");
  assert.equal(r.fetches.length, 3);
});

test("the tracker connection is re-established with backoff after it drops", async () => {
  const r = rig();
  await joinWithPeer(r);
  r.ws[0]!.drop();
  assert.equal(r.e.getStats().peers, 0, "peers of the old join are closed");
  await r.clock.advance(400);
  assert.equal(r.ws.length, 1, "not before the backoff");
  await r.clock.advance(1000);
  assert.equal(r.ws.length, 2);
  r.ws[1]!.open();
  assert.equal(r.ws[1]!.of("join").length, 1, "joins again");
  // Playback continued over HTTP meanwhile.
  assert.equal((await r.e.load(SEG)).source, "http");
});

test("a level switch leaves the old swarm and joins the new one, after a stats report", async () => {
  const r = rig();
  await joinWithPeer(r);
  r.e.playlist("http://node.test/live/1080p.m3u8", "/live/1080p.m3u8", "t2");
  const types = r.ws[0]!.sent.map((m) => m.type);
  assert.deepEqual(types.slice(-3), ["stats", "leave", "join"]);
  assert.equal(r.ws[0]!.of("join")[1]!.swarm, "/live/1080p.m3u8");
});

test("verified segments are served to a peer that asks", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  answer(pc, GOOD);
  await p;
  const dc = pc.dc!;
  dc.frames = [];
  dc.recv({ type: "request", req: 1, offset: 0, seq: 5 });
  await flush();
  const types = dc.frames.map((f) => f.type);
  assert.deepEqual(types, ["data", "chunk", "chunk", "chunk", "done"]);
  const body = dc.frames.filter((f) => f.type === "chunk").map((f) => (f.type === "chunk" ? f.payload : new Uint8Array()));
  assert.deepEqual(Buffer.concat(body), Buffer.from(GOOD));
  assert.equal(r.e.getStats().uploadBytes, GOOD.length);
  dc.recv({ type: "request", req: 2, offset: 0, seq: 99 });
  await flush();
  assert.equal(dc.frames[dc.frames.length - 1]!.type, "absent");
});

test("a segment pushed by the super-peer is verified, kept and counted as seed", async () => {
  const r = rig();
  const ws = welcome(r);
  await started(r);
  const dc = (await connectTo(ws, "s0", true)).dc!;
  const hello = dc.frames[0]!;
  assert.ok(hello.type === "hello" && hello.max_version === 2 && hello.flags === 3, "serves and accepts push");
  dc.recv({ type: "hello", min_version: 1, max_version: 2, flags: FLAG_SERVES });
  const stored = new Promise((res) => r.e.events.on("segment", res));
  // The push arrives before its digest: kept until the digest comes.
  dc.recv({ type: "push", req: 0x80000000, seq: 5 });
  dc.recv({ type: "data", req: 0x80000000, size: GOOD.length, offset: 0 });
  dc.recv({ type: "chunk", req: 0x80000000, payload: GOOD.subarray(0, 30000) });
  dc.recv({ type: "chunk", req: 0x80000000, payload: GOOD.subarray(30000) });
  dc.recv({ type: "done", req: 0x80000000 });
  ws.serve({ type: "digest", segments: [{ key: "/live/720p/5.ts", seq: 5, size: GOOD.length, sha256: SHA }] });
  await r.clock.advance(1000);
  assert.deepEqual(await stored, { url: "/live/720p/5.ts", key: "/live/720p/5.ts", source: "seed", bytes: GOOD.length });
  const s = r.e.getStats();
  assert.equal(s.seedBytes, GOOD.length);
  assert.equal(s.p2pBytes, 0, "super-peer bytes are seed, not p2p");
  const got = await r.e.load(SEG);
  assert.equal(got.source, "memory");
  assert.deepEqual(got.data, GOOD);
  assert.equal(r.fetches.length, 0);
  await r.clock.advance(1000);
  assert.deepEqual(ws.of("have").at(-1), { type: "have", ranges: [[5, 5]] }, "the tracker hears what we hold");
});

test("mobile viewers join download-only and do not accept pushes", async () => {
  const r = rig();
  const e = new Engine({}, { ...(r.e.d), userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile" });
  e.playlist("http://node.test/live/720p.m3u8", "/live/720p.m3u8", null);
  r.ws[0]!.open();
  assert.deepEqual(r.ws[0]!.of("join")[0], { type: "join", swarm: "/live/720p.m3u8", caps: { mobile: true }, client: "edgeswarm-js/0.1.0" });
  e.destroy();
});

test("stats are reported to the node every stats_interval_ms, cumulative since the join", async () => {
  const r = rig();
  await joinWithPeer(r);
  await r.e.load(SEG, { url: SEG, seq: 5, start: 0.3, duration: 2 }); // HTTP: needed in 0.3 s, inside its critical threshold
  await r.clock.advance(10000);
  const st = r.ws[0]!.of("stats");
  assert.equal(st.length, 1);
  assert.equal(st[0]!.http_bytes, 2 * GOOD.length, "the first segment and this one");
  assert.equal(st[0]!.peers, 1);
});

test("a protocol error from a peer closes it and reports it", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  pc.dc!.recv({ type: "done", req: 42 }); // a response to nothing
  await flush();
  assert.ok(pc.closed);
  assert.equal(r.ws[0]!.of("report")[0]!.reason, "protocol_error");
});

test("glare: the peer with the smaller id keeps its own offer", async () => {
  const r = rig();
  await joinWithPeer(r); // we are p1 and offered to p7
  const ws = r.ws[0]!;
  ws.serve({ type: "peers", peers: [{ id: "p9" }] });
  await flush();
  const before = ws.of("relay").length;
  // p9 offers to us while our offer to p9 is unanswered: p1 < p9, ours wins.
  ws.serve({ type: "relay", from: "p9", session: "zz", kind: "offer", sdp: "v=0" });
  await flush();
  assert.equal(ws.of("relay").filter((m) => m.kind === "answer").length, 0);
  assert.equal(ws.of("relay").length, before);
});

test("glare: the peer with the larger id answers the other's offer in place of its own, and they connect", async () => {
  // Two viewers dial each other at once (across nodes a viewer is offered
  // to a peer over the bus while that peer dials it from its welcome): the
  // larger id drops its own attempt for the other's. Dropping it must not
  // end the connection being answered.
  const r = rig();
  const ws = welcome(r); // we are p1
  await started(r);
  const closes: string[] = [];
  r.e.events.on("peer-close", (e) => closes.push(e.reason));
  let connected = false;
  r.e.events.on("peer-connect", () => { connected = true; });
  ws.serve({ type: "peers", peers: [{ id: "p0" }] });
  await flush();
  const ours = ws.of("relay").find((m) => m.to === "p0" && m.kind === "offer");
  assert.ok(ours, "we dialled p0");
  const mine = FakePC.all[FakePC.all.length - 1]!;
  // p0 < p1: p0 keeps its offer, so ours goes unanswered and we answer its.
  ws.serve({ type: "relay", from: "p0", session: "s-p0", kind: "offer", sdp: "v=0 offer" });
  await flush();
  assert.ok(mine.closed, "our own attempt is dropped");
  assert.deepEqual(closes, [], "the connection to p0 lives on");
  const ans = ws.of("relay").filter((m) => m.kind === "answer");
  assert.deepEqual(ans.map((m) => `${m.to} ${m.session}`), ["p0 s-p0"], "p0's offer is answered, in its session");
  const dc = FakePC.all[FakePC.all.length - 1]!.dc!;
  assert.deepEqual(dc.frames.map((f) => f.type), ["hello", "have"]);
  dc.recv({ type: "hello", min_version: 1, max_version: 2, flags: FLAG_SERVES });
  assert.ok(connected, "connected to p0");
  assert.equal(r.e.getStats().peers, 1);
});

test("glare: an offer of ours that is ready only after we took the other's is not sent", async () => {
  const r = rig();
  const ws = welcome(r); // we are p1
  await started(r);
  // Our offer takes time to create (a busy device); p0's arrives meanwhile.
  let release!: () => void;
  const gate = new Promise<void>((res) => { release = res; });
  const create = FakePC.prototype.createOffer;
  FakePC.prototype.createOffer = async function () { await gate; return create.call(this); };
  try {
    ws.serve({ type: "peers", peers: [{ id: "p0" }] });
    await flush();
    ws.serve({ type: "relay", from: "p0", session: "s-p0", kind: "offer", sdp: "v=0 offer" });
    await flush();
    release();
    await flush();
  } finally {
    FakePC.prototype.createOffer = create;
  }
  assert.deepEqual(ws.of("relay").filter((m) => m.kind !== "candidate").map((m) => `${m.kind} ${m.to} ${m.session}`), ["answer p0 s-p0"],
    "no offer in p0's session, only the answer");
});

test("a segment whose digest arrives while its HTTP fetch runs is verified and offered to peers", async () => {
  const r = rig();
  const ws = welcome(r);
  // This viewer's fetch is what makes the node fill and hash the segment,
  // so the digest lands before the body does.
  let release!: () => void;
  const gate = new Promise<void>((res) => { release = res; });
  (r.e.d as { fetch: typeof fetch }).fetch = (async () => { await gate; return new Response(GOOD.slice(), { status: 200 }); }) as typeof fetch;
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  // Nobody fetched it yet: this viewer waits its share of the election
  // time (random() is 0.5 here), then fetches.
  await r.clock.advance(1500);
  ws.serve({ type: "digest", segments: [{ key: "/live/720p/5.ts", seq: 5, size: GOOD.length, sha256: SHA }] });
  release();
  assert.equal((await p).source, "http");
  for (let i = 0; i < 2000 && r.e.store.verifiedSeqs().length === 0; i++) await flush(); // WebCrypto hashes off the event loop
  assert.deepEqual(r.e.store.verifiedSeqs(), [5], "the segment is in the have-map");
});

test("a requested segment that no viewer holds yet waits for one and comes from it, not over HTTP", async () => {
  const r = rig();
  const pc = await joinWithPeer(r, false);
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await r.clock.advance(2000);
  assert.equal(r.fetches.length, 0, "its digest is known and it is needed in 20 s: it waits for a viewer");
  assert.ok(!pc.dc!.frames.some((f) => f.type === "request"), "nothing asked of a peer that does not hold it");
  pc.dc!.recv({ type: "have", have: { base: 5, count: 1, bits: new Uint8Array([1]) } });
  await flush();
  answer(pc, GOOD);
  const got = await p;
  assert.equal(got.source, "p2p");
  assert.equal(r.fetches.length, 0, "no HTTP");
});

test("a segment nobody fetched yet goes over HTTP after a random share of the election time", async () => {
  const r = rig();
  await joinWithPeer(r);
  const url = "http://node.test/live/720p/6.ts";
  const p = r.e.load(url, { url, seq: 6, start: 20, duration: 2 });
  await r.clock.advance(1400);
  assert.equal(r.fetches.length, 0, "random() is 0.5: it waits 1.5 s of the 3 s");
  await r.clock.advance(200);
  assert.equal((await p).source, "http");
  assert.equal(r.fetches.length, 1);
});

test("a waiting segment goes over HTTP when its spare time runs out, before its critical threshold", async () => {
  const r = rig();
  r.e.setPlayhead(() => ({ time: r.clock.now() / 1000, rate: 1 }));
  await joinWithPeer(r, false);
  // Needed in 3 s; the measured HTTP fetch (instant here) gives a critical
  // threshold of about 0.5 s (the pad), and the 1 s reserve leaves about
  // 1.5 s to wait for a viewer.
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: r.clock.now() / 1000 + 3, duration: 2 });
  await r.clock.advance(1300);
  assert.equal(r.fetches.length, 0, "still time to wait");
  await r.clock.advance(400);
  assert.equal((await p).source, "http");
  assert.equal(r.fetches.length, 1);
});

test("peer connections, ours and other viewers', wait until the player's first segment is delivered", async () => {
  const r = rig();
  let release!: () => void;
  const gate = new Promise<void>((res) => { release = res; });
  (r.e.d as { fetch: typeof fetch }).fetch = (async () => { await gate; return new Response(GOOD.slice(), { status: 200 }); }) as typeof fetch;
  const ws = welcome(r);
  // The swarm's peers and a viewer's offer come with the media playlist,
  // before the player asks for anything.
  ws.serve({ type: "peers", peers: [{ id: "p7" }, { id: "p8" }] });
  ws.serve({ type: "relay", from: "pz", session: "s-pz", kind: "offer", sdp: "v=0 offer" });
  await flush();
  assert.equal(ws.of("relay").length, 0, "no offer, no answer before the first segment");
  // Needed now: HTTP at once, and slow (3 s).
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 0, duration: 2 });
  await r.clock.advance(3000);
  ws.serve({ type: "relay", from: "p9", session: "s-p9", kind: "offer", sdp: "v=0 offer" });
  await flush();
  assert.equal(ws.of("relay").length, 0, "none while it loads");
  release();
  assert.equal((await p).source, "http");
  await flush();
  assert.deepEqual(ws.of("relay").map((m) => `${m.kind} ${m.to}`).sort(), ["answer p9", "offer p7", "offer p8"],
    "once it is delivered: ours go out, and the offer still awaited is answered (pz's, 3 s old, is not)");
});

test("a viewer that opened all the connections it seeks still answers late joiners, up to 3 more", async () => {
  const r = rig();
  const ws = welcome(r, { max_peers: 2 });
  await started(r);
  ws.serve({ type: "peers", peers: [{ id: "p7" }, { id: "p8" }, { id: "p9" }] });
  await flush();
  assert.deepEqual(ws.of("relay").map((m) => m.to), ["p7", "p8"], "it opens max_peers connections itself");
  for (const id of ["pa", "pb", "pc", "pd"]) {
    ws.serve({ type: "relay", from: id, session: "s-" + id, kind: "offer", sdp: "v=0 offer" });
    await flush();
  }
  const answered = ws.of("relay").filter((m) => m.kind === "answer").map((m) => m.to);
  assert.deepEqual(answered, ["pa", "pb", "pc"], "late joiners find room; the fourth beyond max_peers does not");
});

test("the super-peer is never asked for a segment: a viewer or, in the end, HTTP", async () => {
  const r = rig();
  r.e.setPlayhead(() => ({ time: r.clock.now() / 1000, rate: 1 }));
  const ws = welcome(r);
  await started(r);
  ws.serve({ type: "digest", segments: [{ key: "/live/720p/5.ts", seq: 5, size: GOOD.length, sha256: SHA }] });
  const dc = (await connectTo(ws, "s0", true)).dc!;
  dc.recv({ type: "hello", min_version: 1, max_version: 2, flags: FLAG_SERVES });
  dc.recv({ type: "have", have: { base: 5, count: 1, bits: new Uint8Array([1]) } });
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: r.clock.now() / 1000 + 12, duration: 2 });
  await r.clock.advance(6500); // past the longest wait for a viewer
  assert.equal((await p).source, "http");
  assert.ok(!dc.frames.some((f) => f.type === "request"), "no request to the super-peer, which holds it");
});

test("a viewer runs at most 3 connection attempts at once, the next when one ends", async () => {
  const r = rig();
  const ws = welcome(r);
  await started(r);
  ws.serve({ type: "peers", peers: [{ id: "pa" }, { id: "pb" }, { id: "pc" }, { id: "pd" }, { id: "pe" }] });
  await flush();
  assert.deepEqual(ws.of("relay").map((m) => m.to), ["pa", "pb", "pc"]);
  ws.serve({ type: "peer_left", id: "pa" });
  await flush();
  assert.deepEqual(ws.of("relay").map((m) => m.to), ["pa", "pb", "pc", "pd"], "one attempt ended: the next starts");
});

test("a player whose playhead does not move waits at most 6 s for the swarm, then HTTP", async () => {
  const r = rig(); // the playhead stays at 0: a player waiting for this very segment
  await joinWithPeer(r, false);
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 60, duration: 2 });
  await r.clock.advance(5900);
  assert.equal(r.fetches.length, 0, "still waiting for a viewer to hold it");
  await r.clock.advance(200);
  assert.equal((await p).source, "http");
});

test("the player's first segment never waits for the swarm", async () => {
  const r = rig(); // playhead at 0, the segment at 20 s: a player that has not started
  const ws = welcome(r);
  ws.serve({ type: "digest", segments: [{ key: "/live/720p/5.ts", seq: 5, size: GOOD.length, sha256: SHA }] });
  ws.serve({ type: "peers", peers: [{ id: "p7" }] });
  await flush();
  const got = await r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  assert.equal(got.source, "http");
});

// ---- risk control ----

test("a lagging event loop moves the mode to cautious and uploads are answered busy", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  answer(pc, GOOD);
  await p;
  const modes: string[] = [];
  r.e.events.on("mode", (m) => modes.push(m.mode + " " + m.reason));
  const dc = pc.dc!;
  dc.frames = [];
  // The main thread is busy: the next tick runs that late, less up to one tick.
  r.clock.block(RULES.risk.lagMs[0] + 300);
  await r.clock.advance(0);
  const s = r.e.getStats();
  assert.equal(s.mode, "cautious");
  assert.equal(s.modeReason, "lag");
  assert.ok(s.risk.lagMs >= RULES.risk.lagMs[0], `lag ${s.risk.lagMs}`);
  assert.deepEqual(modes, ["cautious lag"]);
  dc.recv({ type: "request", req: 1, offset: 0, seq: 5 });
  await flush();
  assert.deepEqual(dc.frames.filter((f) => f.type !== "have"), [{ type: "busy", req: 1, retry_after_ms: 2000 }],
    "a busy device answers busy at once rather than send slowly");
  assert.equal(r.e.getStats().uploadBytes, 0);
  assert.ok(!pc.closed, "the peer stays (cautious keeps two)");
});

test("a slow peer load runs until its segment turns critical, then HTTP resumes it, and it is not asked from peers again", async () => {
  const r = rig();
  r.e.setPlayhead(() => ({ time: r.clock.now() / 1000, rate: 1 }));
  const pc = await joinWithPeer(r);
  const t0 = r.clock.now();
  const info = { url: SEG, seq: 5, start: t0 / 1000 + 10, duration: 2 };
  r.e.setSegments([info]);
  await r.clock.advance(300); // a tick prefetches it
  const dc = pc.dc!;
  const reqs = (): number => dc.frames.filter((f) => f.type === "request").length;
  assert.equal(reqs(), 1);
  const req = dc.frames.find((f) => f.type === "request")!;
  assert.ok(req.type === "request");
  dc.recv({ type: "data", req: req.req, size: GOOD.length, offset: 0 });
  // 1000 bytes every 500 ms: the 40 kB would take 20 s, it is needed in 10 s.
  let cancelledAt = -1;
  for (let i = 0; i < 30 && cancelledAt < 0; i++) {
    dc.recv({ type: "chunk", req: req.req, payload: GOOD.subarray(i * 1000, (i + 1) * 1000) });
    await r.clock.advance(500);
    if (dc.frames.some((f) => f.type === "cancel" && f.req === req.req)) cancelledAt = r.clock.now();
  }
  assert.ok(cancelledAt >= 0, "the slow load is cancelled");
  const left = info.start * 1000 - cancelledAt;
  // HTTP is instant here: the threshold is the 500 ms pad, and a tick is 250 ms.
  const crit = r.e.sched.criticalMs(GOOD.length - 1000 * Math.floor((cancelledAt - t0) / 500));
  assert.ok(left > 0 && left <= crit + RULES.tickMs, `cancelled at the last tick before its critical threshold (${Math.round(crit)} ms), not earlier for a slow rate: ${left} ms left`);
  await r.clock.advance(3000);
  assert.equal(reqs(), 1, "not asked again from a peer (its bytes would be sent twice)");
  const got = await r.e.load(SEG, info);
  assert.equal(got.source, "http");
  assert.deepEqual(got.data, GOOD);
  assert.match(r.fetches[0]!.range ?? "", /^bytes=\d+-$/, "HTTP resumes after the bytes that came");
  assert.equal(reqs(), 1);
  const s = r.e.getStats();
  assert.equal(s.aborts, 1);
  assert.equal(s.risk.lateLoads, 0, "HTTP brought it in time: no late load for the risk control");
  assert.ok(!pc.closed, "a slow peer is not an unresponsive one");
  assert.equal(r.ws[0]!.of("report").length, 0);
});

test("an abandoned peer load counts as late for the risk control when HTTP then brings it late too", async () => {
  const r = rig();
  r.e.setPlayhead(() => ({ time: r.clock.now() / 1000, rate: 1 }));
  const pc = await joinWithPeer(r);
  const info = { url: SEG, seq: 5, start: r.clock.now() / 1000 + 10, duration: 2 };
  r.e.setSegments([info]);
  await r.clock.advance(300);
  const dc = pc.dc!;
  const req = dc.frames.find((f) => f.type === "request")!;
  assert.ok(req.type === "request");
  dc.recv({ type: "data", req: req.req, size: GOOD.length, offset: 0 });
  dc.recv({ type: "chunk", req: req.req, payload: GOOD.subarray(0, 1000) });
  // Silent: abandoned when idle, its segment still 7 s away.
  await r.clock.advance(3000);
  assert.ok(dc.frames.some((f) => f.type === "cancel" && f.req === req.req));
  assert.equal(r.e.getStats().risk.lateLoads, 0);
  // The player asks for it only when it is due: HTTP brings it late.
  await r.clock.advance(7000);
  assert.equal((await r.e.load(SEG, info)).source, "http");
  await r.clock.advance(300);
  assert.equal(r.e.getStats().risk.lateLoads, 1);
});

test("a peer that went silent while our own event loop lagged is not judged unresponsive", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  const dc = pc.dc!;
  const req = dc.frames.find((f) => f.type === "request")!;
  assert.ok(req.type === "request");
  dc.recv({ type: "data", req: req.req, size: GOOD.length, offset: 0 });
  dc.recv({ type: "chunk", req: req.req, payload: GOOD.subarray(0, 10000) });
  await r.clock.advance(1900);
  r.clock.block(RULES.risk.lagMs[0] + 300); // busy: the peer's next chunks wait behind the late tick
  await r.clock.advance(0);
  assert.ok(!dc.frames.some((f) => f.type === "cancel"), "not cancelled for a silence that was ours");
  for (let o = 10000; o < GOOD.length; o += 10000) dc.recv({ type: "chunk", req: req.req, payload: GOOD.subarray(o, o + 10000) });
  dc.recv({ type: "done", req: req.req });
  const got = await p;
  assert.equal(got.source, "p2p");
  assert.ok(!pc.closed);
  assert.equal(r.ws[0]!.of("report").length, 0, "nobody reported");
});

test("a device far behind goes http-only: peers closed, loads over HTTP, pushes refused; it recovers after sustained calm", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const ws = r.ws[0]!;
  const offers = (): number => ws.of("relay").filter((m) => m.kind === "offer" && m.to === "p7").length;
  const before = offers();
  r.clock.block(RULES.risk.lagMs[1] + 1000);
  await r.clock.advance(0);
  assert.equal(r.e.getStats().mode, "http-only");
  assert.ok(pc.closed, "peer connections are cut");
  assert.equal(r.e.getStats().peers, 0);
  const got = await r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  assert.equal(got.source, "http", "at once, without waiting for the swarm");
  ws.serve({ type: "relay", from: "pz", session: "s-pz", kind: "offer", sdp: "v=0 offer" });
  // The lag peak decays below the http-only threshold within about 2.5 s.
  await r.clock.advance(RULES.risk.calmMs[1]! - 1000);
  assert.equal(r.e.getStats().mode, "http-only", "calm, but not for long enough");
  assert.equal(r.e.getStats().modeReason, "recovering");
  assert.equal(offers(), before, "no new connection meanwhile");
  assert.ok(!ws.of("relay").some((m) => m.kind === "answer" && m.to === "pz"), "nor an answer to an offer");
  await r.clock.advance(5000);
  assert.equal(r.e.getStats().mode, "cautious", "one step down");
  assert.equal(offers(), before + 1, "the cut peer is asked again");
  await r.clock.advance(RULES.risk.calmMs[0]! + 5000);
  assert.equal(r.e.getStats().mode, "p2p");
  assert.equal(r.e.getStats().modeReason, "calm");
});

test("a stall the player reports makes the viewer http-only", async () => {
  const r = rig();
  await joinWithPeer(r);
  r.e.stall();
  await r.clock.advance(300);
  const s = r.e.getStats();
  assert.equal(s.mode, "http-only");
  assert.equal(s.modeReason, "stall");
  assert.equal(s.stalls, 1);
});

test("bytes from a viewer over a relayed candidate pair count as relay, never p2p", async () => {
  FakePC.report = [
    { type: "transport", id: "T", selectedCandidatePairId: "CP" },
    { type: "candidate-pair", id: "CP", localCandidateId: "L", remoteCandidateId: "R", state: "succeeded", nominated: true },
    { type: "local-candidate", id: "L", candidateType: "srflx" },
    { type: "remote-candidate", id: "R", candidateType: "relay" },
  ];
  try {
    const r = rig();
    const pc = await joinWithPeer(r);
    const segs: string[] = [];
    r.e.events.on("segment", (s) => segs.push(s.source));
    const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
    await flush();
    answer(pc, GOOD);
    const got = await p;
    assert.equal(got.source, "relay");
    assert.deepEqual(got.data, GOOD);
    const s = r.e.getStats();
    assert.equal(s.relayBytes, GOOD.length);
    assert.equal(s.p2pBytes, 0, "relayed bytes are node egress, not p2p");
    assert.equal(s.offload, 0, "offload counts p2p only");
    assert.equal(s.peerEfficiency, 0.5, "they came over WebRTC");
    assert.ok(segs.includes("relay"), "the segment event says relay");
    await r.clock.advance(10000);
    const st = r.ws[0]!.of("stats").at(-1)!;
    assert.equal(st.relay_bytes, GOOD.length);
    assert.equal(st.p2p_bytes ?? 0, 0);
  } finally {
    FakePC.report = [];
  }
});

test("load and peer-load events say where each segment came from and why not from a peer", async () => {
  const r = rig();
  const loads: { source: string; why: string }[] = [];
  const peerLoads: { outcome: string; reason: string; requested: boolean; bytes: number }[] = [];
  r.e.events.on("load", (e) => loads.push({ source: e.source, why: e.why }));
  r.e.events.on("peer-load", (e) => peerLoads.push({ outcome: e.outcome, reason: e.reason, requested: e.requested, bytes: e.bytes }));
  const pc = await joinWithPeer(r);
  assert.deepEqual(loads, [{ source: "http", why: "startup" }], "the first segment never waits for the swarm");
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  answer(pc, GOOD);
  assert.equal((await p).source, "p2p");
  assert.deepEqual(loads[1], { source: "p2p", why: "" });
  assert.deepEqual(peerLoads, [{ outcome: "done", reason: "", requested: true, bytes: GOOD.length }]);
  const url = "http://node.test/live/720p/6.ts";
  const q = r.e.load(url, { url, seq: 6, start: 20, duration: 2 });
  await r.clock.advance(1600);
  assert.equal((await q).source, "http");
  assert.deepEqual(loads[2], { source: "http", why: "no_digest" }, "nobody fetched it yet");
});

test("a segment verified from a peer is announced to the other peers at once, not at the next tick", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const other = await connectTo(r.ws[0]!, "p8");
  other.dc!.recv({ type: "hello", min_version: 1, max_version: 2, flags: FLAG_SERVES });
  await r.clock.advance(2 * RULES.havePeerMs); // the last have-map went out more than havePeerMs ago
  const haves = (): number => other.dc!.frames.filter((f) => f.type === "have").length;
  const before = haves();
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  answer(pc, GOOD);
  assert.equal((await p).source, "p2p");
  await flush();
  assert.equal(haves(), before + 1, "p8 hears of segment 5 without waiting for a tick");
  const last = other.dc!.frames.filter((f) => f.type === "have").pop()!;
  assert.ok(last.type === "have" && last.have.base <= 5 && last.have.base + last.have.count > 5);
});

test("viewers that do not serve do not take the room of sources: a viewer dials until maxPeers of its peers serve", async () => {
  const r = rig();
  const ws = welcome(r);
  await started(r);
  const ids = ["pa", "pb", "pc", "pd", "pe", "pf", "pg", "ph"];
  const first = FakePC.all.length;
  ws.serve({ type: "peers", peers: ids.map((id) => ({ id })) });
  const offers = () => ws.of("relay").filter((m) => m.kind === "offer");
  const offered = (): string[] => offers().map((m) => m.to!);
  // Each attempt is answered; pa and pb are download-only (mobile), the others serve.
  for (let done = 0, round = 0; round < 8; round++) {
    await flush();
    const os = offers();
    for (; done < os.length; done++) {
      const m = os[done]!;
      ws.serve({ type: "relay", from: m.to!, session: m.session, kind: "answer", sdp: "v=0 answer" });
      await flush();
      FakePC.all[first + done]!.dc!.recv({ type: "hello", min_version: 1, max_version: 2, flags: m.to === "pa" || m.to === "pb" ? 0 : FLAG_SERVES });
    }
  }
  await flush();
  assert.deepEqual(offered(), ids.slice(0, 7), "5 that serve (maxPeers) beside the 2 that do not");
  assert.equal(r.e.getStats().peers, 7);
});

test("a viewer that answers busy leaves the load to another one that holds the segment, not to HTTP", async () => {
  const r = rig();
  const pc = await joinWithPeer(r);
  const other = await connectTo(r.ws[0]!, "p8");
  other.dc!.recv({ type: "hello", min_version: 1, max_version: 2, flags: FLAG_SERVES });
  other.dc!.recv({ type: "have", have: { base: 5, count: 1, bits: new Uint8Array([1]) } });
  await flush();
  const p = r.e.load(SEG, { url: SEG, seq: 5, start: 20, duration: 2 });
  await flush();
  // Whichever was asked first answers busy.
  const asked = [pc, other].find((c) => c.dc!.frames.some((f) => f.type === "request"))!;
  const req = asked.dc!.frames.find((f) => f.type === "request")!;
  assert.ok(req.type === "request");
  asked.dc!.recv({ type: "busy", req: req.req, retry_after_ms: 2000 });
  await flush();
  const next = asked === pc ? other : pc;
  answer(next, GOOD);
  const got = await p;
  assert.equal(got.source, "p2p");
  assert.equal(r.fetches.length, 0, "no HTTP");
});
