import assert from "node:assert/strict";
import { test } from "node:test";
import { attachGeneric, parseMedia } from "../../src/adapters/generic";
import { Engine } from "../../src/core/engine";
import { FakeClock } from "../helpers";

test("media playlist parsing maps URLs to sequences and start times", () => {
  const segs = parseMedia("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:100\n#EXTINF:2.0,\n100.ts\n#EXTINF:2.5,\nhttp://x/101.ts?a=1\n", "http://node.test/live/720p.m3u8");
  assert.deepEqual(segs, [
    { url: "http://node.test/live/100.ts", seq: 100, start: 0, duration: 2 },
    { url: "http://x/101.ts?a=1", seq: 101, start: 2, duration: 2.5 },
  ]);
});

test("generic mode routes segment fetches through the engine and notices playlists", async () => {
  const g = globalThis as { fetch: typeof fetch };
  const orig = g.fetch;
  const calls: string[] = [];
  const fake = (async (u: RequestInfo | URL) => {
    calls.push(String(u));
    if (String(u).endsWith(".m3u8")) return new Response("#EXTM3U\n#EXTINF:2,\n1.ts\n", { headers: { "Edgeswarm-Swarm": "/l/p.m3u8" } });
    return new Response(new Uint8Array([9, 9]));
  }) as typeof fetch;
  g.fetch = fake;
  try {
    const e = new Engine({ p2p: false }, {
      // The engine keeps the fetch it was created with, not the wrapper.
      clock: new FakeClock(), fetch: fake, random: () => 0.5, userAgent: "", base: "http://node.test/",
    });
    const joined: unknown[] = [];
    e.playlist = (url, swarm) => { joined.push([url, swarm]); };
    const off = attachGeneric(e);
    const pl = await fetch("http://node.test/l/p.m3u8");
    assert.equal(await pl.text(), "#EXTM3U\n#EXTINF:2,\n1.ts\n", "the player still reads the body");
    assert.deepEqual(joined, [["http://node.test/l/p.m3u8", "/l/p.m3u8"]]);
    const seg = await fetch("http://node.test/l/1.ts");
    assert.deepEqual([...new Uint8Array(await seg.arrayBuffer())], [9, 9]);
    assert.equal(e.getStats().httpBytes, 2, "the segment went through the engine");
    off();
    assert.equal(g.fetch, fake, "detaching restores fetch");
  } finally {
    g.fetch = orig;
  }
});
