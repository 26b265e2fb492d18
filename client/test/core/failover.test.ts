import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_SERVER_CONFIG } from "../../src/core/config";
import { SignalURLs } from "../../src/core/failover";
import { Signaling } from "../../src/core/signaling";
import { FakeClock } from "../helpers";
import { FakeWS } from "../fakes";

test("the cluster's URLs follow the one in use, once each", () => {
  const u = new SignalURLs("ws://a/swarm");
  u.welcomed(["ws://b/swarm", "ws://a/swarm", "ws://c/swarm", "ws://b/swarm"]);
  assert.equal(u.current, "ws://a/swarm");
  assert.equal(u.failed(), true);
  assert.equal(u.current, "ws://b/swarm");
  assert.equal(u.failed(), true);
  assert.equal(u.current, "ws://c/swarm");
  assert.equal(u.failed(), false, "every node failed in a row: back off");
  assert.equal(u.current, "ws://a/swarm");
});

test("a single node is retried with backoff, never failed over", () => {
  const u = new SignalURLs("ws://a/swarm");
  u.welcomed(undefined);
  assert.equal(u.failed(), false);
  assert.equal(u.current, "ws://a/swarm");
});

function setup() {
  const clock = new FakeClock();
  const ws: FakeWS[] = [];
  const s = new Signaling("ws://a/swarm", {
    clock, random: () => 1, createWS: (u) => { const w = new FakeWS(u); ws.push(w); return w; },
    onMessage: () => undefined, onDown: () => undefined, onError: () => undefined,
  });
  return { clock, ws, s };
}
const req = { swarm: "/a.m3u8", ticket: "t", upload: true, mobile: false, client: "t" };
const welcome = (urls: string[]) => ({ type: "welcome" as const, peer_id: "p1", swarm: "/a.m3u8",
  config: { ...DEFAULT_SERVER_CONFIG, signal_urls: urls } });

test("when its node dies the client rejoins the swarm on another node within the failover jitter", async () => {
  const { clock, ws, s } = setup();
  s.want(req);
  ws[0]!.open();
  ws[0]!.serve(welcome(["ws://a/swarm", "ws://b/swarm", "ws://c/swarm"]));
  ws[0]!.drop();
  await clock.advance(250);
  assert.equal(ws.length, 2);
  assert.equal(ws[1]!.url, "ws://b/swarm");
  ws[1]!.open();
  assert.deepEqual(ws[1]!.of("join").map((j) => [j.swarm, j.ticket]), [["/a.m3u8", "t"]], "the same swarm, with the same ticket");
  assert.equal(s.url, "ws://b/swarm");

  // b dies too before welcoming; c is next, at once.
  ws[1]!.drop();
  await clock.advance(250);
  assert.equal(ws[2]!.url, "ws://c/swarm");
  // c is down as well: every node failed in a row, so the client backs off.
  ws[2]!.drop();
  await clock.advance(250);
  assert.equal(ws.length, 3, "no reconnect storm while the whole cluster is down");
  await clock.advance(60000);
  assert.equal(ws.length, 4);
  assert.equal(ws[3]!.url, "ws://a/swarm");
});

test("a welcome without signal_urls keeps a single node's reconnect backoff", async () => {
  const { clock, ws, s } = setup();
  s.want(req);
  ws[0]!.open();
  ws[0]!.serve({ type: "welcome", peer_id: "p1", swarm: "/a.m3u8", config: DEFAULT_SERVER_CONFIG });
  ws[0]!.drop();
  await clock.advance(250);
  assert.equal(ws.length, 1);
  await clock.advance(1000);
  assert.equal(ws.length, 2);
  assert.equal(ws[1]!.url, "ws://a/swarm");
});
