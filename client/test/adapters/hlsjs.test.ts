import assert from "node:assert/strict";
import { test } from "node:test";
import { attachHls, HlsLike } from "../../src/adapters/hlsjs";
import { Engine } from "../../src/core/engine";
import { FakeClock } from "../helpers";

// A stand-in for hls.js' default loader: answers from a table.
class BaseLoader {
  static headers: Record<string, string> = {};
  static loads: string[] = [];
  stats = { aborted: false, loaded: 0, total: 0, retry: 0, chunkCount: 0, bwEstimate: 0,
    loading: { start: 0, first: 0, end: 0 }, parsing: { start: 0, end: 0 }, buffering: { start: 0, first: 0, end: 0 } };
  context: unknown = null;
  constructor(_cfg: unknown) {}
  load(c: { url: string }, _cfg: unknown, cb: { onSuccess: (...a: unknown[]) => void }): void {
    BaseLoader.loads.push(c.url);
    const xhr = { getResponseHeader: (n: string) => BaseLoader.headers[n] ?? null };
    cb.onSuccess({ url: c.url, data: "#EXTM3U" }, this.stats, c, xhr);
  }
  abort(): void {}
  destroy(): void {}
}

function fakeHls(): HlsLike & { fire(ev: string, d: unknown): void } {
  const ls: Record<string, ((e: string, d: unknown) => void)[]> = {};
  return {
    config: { loader: BaseLoader as never },
    media: { currentTime: 10, playbackRate: 1, paused: false } as HTMLMediaElement,
    on: (ev, f) => { (ls[ev] ??= []).push(f); },
    fire: (ev, d) => (ls[ev] ?? []).forEach((f) => f(ev, d)),
  };
}

function engine(fetched: string[]): Engine {
  return new Engine({}, {
    clock: new FakeClock(),
    fetch: (async (u: string) => { fetched.push(u); return new Response(new Uint8Array([1, 2, 3])); }) as typeof fetch,
    random: () => 0.5, userAgent: "", base: "http://node.test/",
  });
}

test("hls.js fragments load through the engine and reach hls.js as ArrayBuffers", async () => {
  const fetched: string[] = [];
  const e = engine(fetched);
  const hls = fakeHls();
  attachHls(e, hls);
  const L = hls.config.fLoader!;
  const l = new L({});
  const got = await new Promise<{ data: ArrayBuffer; stats: { loaded: number; loading: { start: number; end: number } } }>((res, rej) => {
    l.load({ url: "http://node.test/a/1.ts", frag: { sn: 1, start: 12, duration: 2, url: "http://node.test/a/1.ts" } }, {}, {
      onSuccess: (r, s) => res({ data: r.data as ArrayBuffer, stats: s }),
      onError: (err) => rej(new Error(err.text)), onTimeout: () => rej(new Error("timeout")),
    });
  });
  assert.ok(got.data instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(got.data)], [1, 2, 3]);
  assert.equal(got.stats.loaded, 3);
  assert.ok(got.stats.loading.end >= got.stats.loading.start);
  assert.deepEqual(fetched, ["http://node.test/a/1.ts"]);
  assert.equal(e.getStats().httpBytes, 3);
});

test("hls.js playlist responses hand their swarm headers to the engine", () => {
  const e = engine([]);
  const seen: unknown[] = [];
  e.playlist = (url, swarm, ticket) => { seen.push([url, swarm, ticket]); };
  const hls = fakeHls();
  attachHls(e, hls);
  BaseLoader.headers = { "Edgeswarm-Swarm": "/live/720p.m3u8", "Edgeswarm-Ticket": "t1" };
  const P = hls.config.pLoader!;
  let ok = false;
  new P({}).load({ url: "http://node.test/live/720p.m3u8" }, {}, {
    onSuccess: () => { ok = true; }, onError: () => undefined, onTimeout: () => undefined,
  });
  assert.ok(ok, "hls.js still gets its playlist");
  assert.deepEqual(seen, [["http://node.test/live/720p.m3u8", "/live/720p.m3u8", "t1"]]);
});

test("level details and stalls reach the engine", () => {
  const e = engine([]);
  const hls = fakeHls();
  let segs: unknown[] = [];
  e.setSegments = (l) => { segs = l; };
  attachHls(e, hls);
  hls.fire("hlsLevelLoaded", { details: { fragments: [{ sn: 7, start: 14, duration: 2, url: "u7" }] } });
  assert.deepEqual(segs, [{ url: "u7", seq: 7, start: 14, duration: 2 }]);
  hls.fire("hlsError", { details: "bufferStalledError" });
  assert.equal(e.getStats().stalls, 1);
});

test("LL-HLS parts load over hls.js' own HTTP loader, never through the swarm", () => {
  const fetched: string[] = [];
  const e = engine(fetched);
  const hls = fakeHls();
  attachHls(e, hls);
  BaseLoader.loads = [];
  let ok = false;
  new (hls.config.fLoader!)({}).load({
    url: "http://node.test/ll/low/5.1.ts", frag: { sn: 5, start: 10, duration: 2, url: "http://node.test/ll/low/5.ts" }, part: { index: 1 },
  }, {}, { onSuccess: () => { ok = true; }, onError: () => undefined, onTimeout: () => undefined });
  assert.ok(ok, "hls.js gets its part");
  assert.deepEqual(BaseLoader.loads, ["http://node.test/ll/low/5.1.ts"]);
  assert.deepEqual(fetched, [], "the engine did not load the part");
  assert.equal(e.getStats().httpBytes, "#EXTM3U".length, "the part's bytes count as HTTP bytes");
});

test("byte-range segments load over hls.js' own loader and their bytes count as HTTP bytes", () => {
  const fetched: string[] = [];
  const e = engine(fetched);
  const hls = fakeHls();
  attachHls(e, hls);
  BaseLoader.loads = [];
  let ok = false;
  new (hls.config.fLoader!)({}).load({
    url: "http://node.test/br/all.ts", rangeStart: 1000, rangeEnd: 2000, frag: { sn: 5, start: 10, duration: 2, url: "http://node.test/br/all.ts" },
  }, {}, { onSuccess: () => { ok = true; }, onError: () => undefined, onTimeout: () => undefined });
  assert.ok(ok, "hls.js gets its range");
  assert.deepEqual(BaseLoader.loads, ["http://node.test/br/all.ts"]);
  assert.deepEqual(fetched, [], "the engine did not load the range");
  assert.equal(e.getStats().httpBytes, "#EXTM3U".length, "the range's bytes count as HTTP bytes");
});

test("aborting a load on hls.js' own loader, which destroys the loader from onAbort as hls.js does, ends", () => {
  const e = engine([]);
  const hls = fakeHls();
  let aborts = 0;
  class AbortingLoader extends BaseLoader {
    private cb?: { onAbort?: () => void };
    override load(c: { url: string }, cfg: unknown, cb: { onSuccess: (...a: unknown[]) => void; onAbort?: () => void }): void { this.cb = cb; void c; void cfg; }
    override abort(): void { this.stats.aborted = true; aborts++; this.cb?.onAbort?.(); }
  }
  hls.config.loader = AbortingLoader as never;
  attachHls(e, hls);
  const l = new (hls.config.fLoader!)({});
  l.load({ url: "http://node.test/ll/low/5.1.ts", frag: { sn: 5, start: 10, duration: 2, url: "u" }, part: {} }, {}, {
    onSuccess: () => undefined, onError: () => undefined, onTimeout: () => undefined, onAbort: () => l.destroy(),
  } as never);
  l.abort();
  assert.equal(aborts, 1);
});
