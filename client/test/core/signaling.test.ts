import assert from "node:assert/strict";
import { test } from "node:test";
import { Signaling } from "../../src/core/signaling";
import { FakeClock } from "../helpers";
import { FakeWS } from "../fakes";

function setup() {
  const clock = new FakeClock();
  const ws: FakeWS[] = [];
  const s = new Signaling("ws://n/swarm", {
    clock, random: () => 0.5, createWS: (u) => { const w = new FakeWS(u); ws.push(w); return w; },
    onMessage: () => undefined, onDown: () => undefined, onError: () => undefined,
  });
  return { clock, ws, s };
}
const req = (ticket: string) => ({ swarm: "/a.m3u8", ticket, upload: true, mobile: false, client: "t" });

test("after ticket_invalid the client waits for a new ticket before joining again", async () => {
  const { clock, ws, s } = setup();
  s.want(req("old"));
  ws[0]!.open();
  ws[0]!.serve({ type: "error", code: "ticket_invalid", message: "expired" });
  ws[0]!.drop();
  await clock.advance(2000);
  ws[1]!.open();
  assert.equal(ws[1]!.of("join").length, 0, "no join with the refused ticket");
  s.want(req("new"));
  assert.equal(ws[1]!.of("join")[0]!.ticket, "new");
});

test("live playlist refreshes do not reconnect before the backoff", async () => {
  const { clock, ws, s } = setup();
  s.want(req("t"));
  ws[0]!.drop();
  s.want(req("t"));
  s.want(req("t"));
  assert.equal(ws.length, 1);
  await clock.advance(1500);
  assert.equal(ws.length, 2);
});

test("going_away (a node shutting down or restarting): the client rejoins after retry_ms, not before", async () => {
  const { clock, ws, s } = setup();
  s.want(req("t"));
  ws[0]!.open();
  ws[0]!.serve({ type: "error", code: "going_away", message: "the node is shutting down; reconnect", retry_ms: 1000 });
  ws[0]!.drop();
  await clock.advance(999);
  assert.equal(ws.length, 1, "no reconnect before retry_ms");
  await clock.advance(4000);
  assert.equal(ws.length, 2, "reconnected");
  ws[1]!.open();
  assert.equal(ws[1]!.of("join")[0]!.ticket, "t", "joined the same swarm again");
});
