import assert from "node:assert/strict";
import { test } from "node:test";
import { DashSwarms, parseSwarms, representationSwarm } from "../../src/core/dash";
import type { Engine } from "../../src/core/engine";
import { golden } from "../helpers";

const g = golden<{
  swarms: { manifest: string; representation: string; swarm: string }[];
  headers: { list: { swarm: string; ticket?: string }[]; header: string }[];
  invalid_headers: string[];
}>("wire/testdata/dash.json");

for (const c of g.swarms) {
  test(`dash swarm: ${c.manifest} ${JSON.stringify(c.representation)}`, () => {
    assert.equal(representationSwarm(c.manifest, c.representation), c.swarm);
  });
}
for (const c of g.headers) {
  test(`swarms header: ${c.header}`, () => {
    assert.deepEqual(parseSwarms(c.header), c.list);
  });
}
for (const h of g.invalid_headers) {
  test(`swarms header refused: ${JSON.stringify(h)}`, () => {
    assert.throws(() => parseSwarms(h), /swarms header/);
  });
}

/** An engine that records the swarms it is asked to join. */
function recorder(): { engine: Engine; joins: [string, string | null, string | null][] } {
  const joins: [string, string | null, string | null][] = [];
  const engine = { playlist: (u: string, s: string | null, t: string | null) => { joins.push([u, s, t]); } } as unknown as Engine;
  return { engine, joins };
}

test("DashSwarms joins the Representation the player fetches, with a fresh ticket on every manifest", () => {
  const { engine, joins } = recorder();
  const d = new DashSwarms(engine);
  d.representation("low"); // before any manifest: nothing to join
  assert.equal(joins.length, 0);
  d.manifest("http://n/dash/live.mpd", "/dash/live.mpd#low;ticket=a, /dash/live.mpd#mid;ticket=b");
  assert.ok(d.active);
  d.representation("low");
  d.representation("low");
  assert.deepEqual(joins, [["http://n/dash/live.mpd", "/dash/live.mpd#low", "a"]]);
  d.manifest("http://n/dash/live.mpd", "/dash/live.mpd#low;ticket=a2, /dash/live.mpd#mid;ticket=b2");
  assert.deepEqual(joins[1], ["http://n/dash/live.mpd", "/dash/live.mpd#low", "a2"]);
  d.representation("mid"); // ABR switch
  assert.deepEqual(joins[2], ["http://n/dash/live.mpd", "/dash/live.mpd#mid", "b2"]);
  d.representation("unknown");
  assert.equal(joins.length, 3);
  d.manifest("http://n/dash/live.mpd", "/dash/live.mpd#mid;ticket="); // malformed: no swarms
  assert.ok(!d.active);
});
