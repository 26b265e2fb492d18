import assert from "node:assert/strict";
import { test } from "node:test";
import { FLAG_ACCEPTS_PUSH, FLAG_SERVES } from "../../src/core/frame";
import { Peer, PeerHost, Receiver } from "../../src/core/peer";
import { DEFAULT_SERVER_CONFIG } from "../../src/core/config";
import { FakeClock, flush } from "../helpers";
import { FakeDC, FakePC } from "../fakes";

const SEG = new Uint8Array(40000).fill(7);

function open(o: { serves?: boolean; acceptsPush?: boolean } = {}) {
  const clock = new FakeClock();
  const closes: string[] = [];
  const relays: unknown[] = [];
  const h: PeerHost = {
    clock, config: () => ({ ...DEFAULT_SERVER_CONFIG, max_inflight: 1 }), rtc: {},
    createPC: (c) => new FakePC(c) as unknown as RTCPeerConnection,
    serves: o.serves ?? true, acceptsPush: o.acceptsPush ?? true,
    relay: (_to, r) => relays.push(r), lookup: (ref) => (ref.seq === 5 ? SEG : undefined),
    haveMap: () => ({ base: 5, count: 1, bits: new Uint8Array([1]) }),
    uploadWait: () => 0, onUpload: () => undefined, onReady: () => undefined, onHave: () => undefined,
    onClose: (_p, why) => closes.push(why), onPush: () => undefined,
  };
  const p = new Peer("p2", false, h);
  return { p, clock, closes, relays, async connect(remoteMax = 2, flags = FLAG_SERVES): Promise<FakeDC> {
    await p.offer();
    await p.relay({ session: p.session, kind: "answer", sdp: "v=0" });
    await flush();
    const dc = (p.pc as unknown as FakePC).dc!;
    dc.recv({ type: "hello", min_version: 1, max_version: remoteMax, flags });
    return dc;
  } };
}

test("hello and have are the first frames; versions negotiate to the common maximum", async () => {
  const t = open();
  const dc = await t.connect(1);
  const hello = dc.frames[0]!;
  assert.ok(hello.type === "hello" && hello.min_version === 1 && hello.max_version === 2 && hello.flags === (FLAG_SERVES | FLAG_ACCEPTS_PUSH));
  assert.equal(dc.frames[1]!.type, "have");
  assert.equal(t.p.version, 1);
  assert.ok(t.p.ready);
});

test("a push on a version 1 connection is a protocol error", async () => {
  const t = open();
  const dc = await t.connect(1);
  dc.recv({ type: "push", req: 0x80000000, seq: 5 });
  assert.deepEqual(t.closes, ["protocol_error"]);
});

test("a first frame other than hello closes the connection", async () => {
  const t = open();
  await t.p.offer();
  await t.p.relay({ session: t.p.session, kind: "answer", sdp: "v=0" });
  await flush();
  (t.p.pc as unknown as FakePC).dc!.recv({ type: "have", have: { base: 0, count: 0, bits: new Uint8Array(0) } });
  assert.deepEqual(t.closes, ["protocol_error"]);
});

test("no hello within hello_timeout_ms closes the attempt", async () => {
  const t = open();
  await t.p.offer();
  await t.clock.advance(DEFAULT_SERVER_CONFIG.hello_timeout_ms + 1);
  assert.deepEqual(t.closes, ["hello_timeout"]);
});

test("the responder answers beyond max_inflight with busy, unknown segments with absent, and stops on cancel", async () => {
  const t = open();
  const dc = await t.connect();
  dc.frames = [];
  dc.bufferedAmount = 1048576 + 1; // above the high-water mark (not past MAX_BACKLOG): the response waits
  dc.recv({ type: "request", req: 1, offset: 0, seq: 5 });
  dc.recv({ type: "request", req: 2, offset: 0, seq: 5 });
  await flush();
  assert.deepEqual(dc.frames.map((f) => f.type), ["data", "busy"], "one response at a time, max_inflight 1");
  dc.recv({ type: "cancel", req: 1 });
  dc.bufferedAmount = 0;
  dc.onbufferedamountlow?.();
  await flush();
  assert.deepEqual(dc.frames.map((f) => f.type), ["data", "busy"], "nothing more after cancel, no done");
  dc.recv({ type: "request", req: 3, offset: 39000, seq: 5 });
  dc.recv({ type: "cancel", req: 3 }); // may race the response: harmless
  await flush();
  dc.frames = [];
  dc.recv({ type: "request", req: 4, offset: 0, seq: 6 });
  await flush();
  assert.deepEqual(dc.frames.map((f) => f.type), ["absent"]);
});

test("a download-only peer answers every request with absent", async () => {
  const t = open({ serves: false });
  const dc = await t.connect();
  const hello = dc.frames[0]!;
  assert.ok(hello.type === "hello" && (hello.flags & FLAG_SERVES) === 0);
  dc.frames = [];
  dc.recv({ type: "request", req: 1, offset: 0, seq: 5 });
  assert.deepEqual(dc.frames.map((f) => f.type), ["absent"]);
});

test("frames for a cancelled request are dropped; more bytes than announced is an error", async () => {
  const t = open();
  const dc = await t.connect();
  const got: string[] = [];
  const r: Receiver = { data: () => true, chunk: () => { got.push("chunk"); return true; }, done: () => got.push("done"), fail: (w) => got.push(w) };
  const id = t.p.request({ seq: 5 }, 0, r);
  t.p.cancel(id);
  dc.recv({ type: "data", req: id, size: 10, offset: 0 });
  dc.recv({ type: "chunk", req: id, payload: new Uint8Array(10) });
  assert.deepEqual(got, []);
  assert.deepEqual(t.closes, []);
  dc.recv({ type: "done", req: 999 });
  assert.deepEqual(t.closes, ["protocol_error"]);
});

test("requests are not sent to a peer whose hello lacks the serves flag", async () => {
  const t = open();
  await t.connect(2, 0);
  assert.equal(t.p.request({ seq: 5 }, 0, { data: () => true, chunk: () => true, done: () => undefined, fail: () => undefined }), -1);
});
