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
