import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { parseMediaPlaylist, pickVariant, VPlayer, VSeg } from "./vplayer";

const MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nmid/index.m3u8\n";

/** A live playlist of count 2 s segments starting at seq, the first at wall time pdt. */
function live(seq: number, count: number, pdt: number): string {
  let s = `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:${seq}\n#EXT-X-PROGRAM-DATE-TIME:${new Date(pdt).toISOString()}\n`;
  for (let i = 0; i < count; i++) s += `#EXTINF:2.000,\n${seq + i}.ts\n`;
  return s;
}

const flush = async (): Promise<void> => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

test("a media playlist is parsed with sequence numbers, durations and program date-times", () => {
  const p = parseMediaPlaylist(live(100, 3, Date.UTC(2026, 0, 1)));
  assert.equal(p.target, 2);
  assert.equal(p.first, 100);
  assert.equal(p.live, true);
  assert.deepEqual(p.segs.map((s) => s.uri), ["100.ts", "101.ts", "102.ts"]);
  assert.equal(p.segs[2]!.pdt, Date.UTC(2026, 0, 1) + 4000);
  assert.equal(parseMediaPlaylist(live(1, 1, 0) + "#EXT-X-ENDLIST\n").live, false);
  assert.throws(() => parseMediaPlaylist("<html>"), /not an HLS playlist/);
  assert.throws(() => parseMediaPlaylist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n1.ts\n"), /without #EXTINF/);
  assert.throws(() => parseMediaPlaylist("#EXTM3U\n#EXTINF:2,\n1.ts\n"), /TARGETDURATION/);
  assert.equal(pickVariant(MASTER, "mid"), "mid/index.m3u8");
  assert.equal(pickVariant(MASTER, "nope"), "low/index.m3u8");
});

/** A player on mocked timers: a live stream of 12 segments that grows every 2 s. */
function rig(liveSync: number, loadMs: (seg: VSeg) => number) {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const t0 = Date.now();
  const loads: number[] = [];
  const p = new VPlayer({
    master: "http://n/live/master.m3u8", rendition: "mid", liveSync, maxBuffer: 30,
    now: () => Date.now(),
    fetchText: async (url) => {
      if (url.endsWith("master.m3u8")) return { url, text: MASTER };
      // The newest segment ends now: 12 segments, one more every 2 s.
      const n = Math.floor((Date.now() - t0) / 2000);
      return { url, text: live(100 + n, 12, t0 - 24000 + n * 2000) };
    },
    loadSegment: (seg) => new Promise((res) => { loads.push(seg.seq); setTimeout(() => res(1000), loadMs(seg)); }),
  });
  return { p, loads };
}

async function run(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 50) { mock.timers.tick(50); await flush(); }
}

test("the player starts liveSyncDurationCount target durations behind the live edge and keeps up", async (t) => {
  t.after(() => mock.timers.reset());
  const { p, loads } = rig(3, () => 20);
  await p.start();
  await run(10_000);
  p.stop();
  assert.equal(loads[0], 109, "12 segments 100-111: three behind the edge is 109");
  assert.deepEqual(loads.slice(0, 8), [109, 110, 111, 112, 113, 114, 115, 116], "then every new segment, in order");
  const r = p.result();
  assert.equal(r.stalls, 0);
  assert.ok(r.startupMs !== null && r.startupMs < 200, `start-up ${r.startupMs} ms`);
  assert.ok(r.playedS > 9 && r.playedS <= 10, `played ${r.playedS} s in 10 s`);
  assert.ok(r.latencyS > 5.5 && r.latencyS < 8.5, `latency ${r.latencyS} s, about 3 segments behind`);
  // What was played, as the report derives the rendition from it.
  assert.equal(r.mediaS, 2 * r.segments, "every segment lasts its EXTINF of 2 s");
  assert.ok(r.sinceStartS > 9 && r.sinceStartS <= 10, `playing for ${r.sinceStartS} s of 10 s`);
});

test("a segment that arrives after the buffer ran dry is a stall, timed until it arrives", async (t) => {
  t.after(() => mock.timers.reset());
  // Segment 113 takes 9 s: the 6 s buffer runs out and playback waits.
  const { p } = rig(3, (seg) => (seg.seq === 113 ? 9000 : 20));
  await p.start();
  await run(20_000);
  p.stop();
  const r = p.result();
  assert.equal(r.stalls, 1);
  assert.ok(r.stallMs > 2000 && r.stallMs < 5000, `stalled ${r.stallMs} ms`);
  assert.ok(r.playedS < 20 - 2, "stalled time is not played time");
  assert.ok(r.playedS < r.sinceStartS - 2, `played ${r.playedS} s of ${r.sinceStartS} s since the start: less than all`);
});
