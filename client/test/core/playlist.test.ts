import assert from "node:assert/strict";
import { test } from "node:test";
import { isMediaPlaylist, parseMedia, Timeline } from "../../src/core/playlist";

test("media playlist parsing maps URLs to sequences and start times", () => {
  const segs = parseMedia("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:100\n#EXTINF:2.0,\n100.ts\n#EXTINF:2.5,\nhttp://x/101.ts?a=1\n", "http://node.test/live/720p.m3u8");
  assert.deepEqual(segs, [
    { url: "http://node.test/live/100.ts", seq: 100, start: 0, duration: 2 },
    { url: "http://x/101.ts?a=1", seq: 101, start: 2, duration: 2.5 },
  ]);
  assert.ok(isMediaPlaylist("#EXTM3U\n#EXTINF:2,\n1.ts\n"));
  assert.ok(!isMediaPlaylist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p.m3u8\n"), "a master playlist has no segments");
});

const pl = (first: number, n: number): string =>
  "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:" + first + "\n" + Array.from({ length: n }, (_, i) => `#EXTINF:2,\n${first + i}.ts\n`).join("");

test("the timeline places a playlist by the segment the player asked for and keeps it while the playlist slides", () => {
  const t = new Timeline();
  const u = "http://n/live/a.m3u8";
  assert.ok(t.update(u, pl(10, 3)));
  assert.equal(t.info("http://n/live/11.ts")?.start, undefined, "not placed yet");
  assert.deepEqual(t.segments(), []);
  t.requested("http://n/live/11.ts", 50);
  assert.deepEqual(t.segments().map((s) => [s.seq, s.start]), [[10, 48], [11, 50], [12, 52]]);
  t.update(u, pl(12, 3));
  assert.deepEqual(t.segments().map((s) => [s.seq, s.start]), [[12, 52], [13, 54], [14, 56]]);
  assert.deepEqual(t.info("http://n/live/14.ts"), { url: "http://n/live/14.ts", seq: 14, start: 56, duration: 2 });
  assert.equal(t.info("http://n/live/10.ts"), undefined, "segments that left the playlist are forgotten");
  // A playlist that shares nothing with the last one is not placed until the player asks again.
  t.update(u, pl(40, 2));
  assert.deepEqual(t.segments(), []);
  t.requested("http://n/live/41.ts", 100);
  assert.deepEqual(t.segments().map((s) => [s.seq, s.start]), [[40, 98], [41, 100]]);
});

test("the timeline reports the playlist the player last asked from", () => {
  const t = new Timeline();
  t.update("http://n/a.m3u8", "#EXTM3U\n#EXTINF:2,\na1.ts\n");
  t.update("http://n/b.m3u8", "#EXTM3U\n#EXTINF:2,\nb1.ts\n");
  t.requested("http://n/a1.ts", 0);
  t.requested("http://n/b1.ts", 10);
  assert.deepEqual(t.segments().map((s) => s.url), ["http://n/b1.ts"]);
  t.requested("http://n/a1.ts");
  assert.deepEqual(t.segments().map((s) => [s.url, s.start]), [["http://n/a1.ts", 0]], "placed before, still placed");
  assert.ok(!t.update("http://n/c.m3u8", "#EXTM3U\n"), "no segments");
});
