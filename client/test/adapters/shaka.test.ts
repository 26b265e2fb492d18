import assert from "node:assert/strict";
import { test } from "node:test";
import { attachShaka, ShakaLike, ShakaPlayerLike } from "../../src/adapters/shaka";
import { Engine, SegmentInfo } from "../../src/core/engine";
import { FakeClock } from "../helpers";

type Plugin = (uri: string, req: { uris: string[]; method: string; headers: Record<string, string> }, type: number) => { promise: Promise<{ data: ArrayBuffer; fromCache?: boolean }> };
type Filter = (type: number, req: object, ctx?: object) => void;

const PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n#EXTINF:2,\n40.ts\n#EXTINF:2,\n41.ts\n#EXTINF:2,\n42.ts\n";

/** A shaka namespace whose HTTP plugin serves playlists with the node's headers. */
function fakeShaka(plugins: Record<string, Plugin>, served = { body: PLAYLIST }): ShakaLike {
  return {
    net: {
      NetworkingEngine: { registerScheme: (s, p) => { plugins[s] = p as never; }, RequestType: { MANIFEST: 0, SEGMENT: 1 } },
      HttpFetchPlugin: { parse: (uri) => ({ promise: Promise.resolve({ uri, originalUri: uri, data: new TextEncoder().encode(served.body).buffer, headers: { "edgeswarm-swarm": "/live/p.m3u8" } }) }) },
    },
    util: { AbortableOperation: { notAbortable: (p) => ({ promise: p }) } },
  };
}

function engine(): Engine {
  return new Engine({}, {
    clock: new FakeClock(), random: () => 0.5, userAgent: "", base: "http://n/",
    fetch: (async () => new Response(new Uint8Array([7]))) as typeof fetch,
  });
}

const get = (uris: string[] = []) => ({ uris, method: "GET", headers: {} as Record<string, string> });

test("Shaka segment requests go through the engine; manifests are passed through and read", async () => {
  const plugins: Record<string, Plugin> = {};
  const e = engine();
  const joined: unknown[] = [];
  e.playlist = (u, s) => { joined.push([u, s]); };
  attachShaka(e, fakeShaka(plugins), { currentTime: 0, playbackRate: 1, paused: false } as HTMLMediaElement);
  assert.ok(plugins.http && plugins.https);
  const seg = await plugins.http!("http://n/1.ts", get(), 1).promise;
  assert.deepEqual([...new Uint8Array(seg.data)], [7]);
  assert.equal(seg.fromCache, false, "HTTP bytes count for Shaka's bandwidth estimate");
  await plugins.http!("http://n/live/p.m3u8", get(), 0).promise;
  await Promise.resolve();
  assert.deepEqual(joined, [["http://n/live/p.m3u8", "/live/p.m3u8"]]);
});

test("given the player, each requested segment reaches the engine with its media time and sequence, and places the playlist for prefetch", async () => {
  const plugins: Record<string, Plugin> = {};
  const filters: Filter[] = [];
  const listeners: Record<string, (e: { buffering?: boolean }) => void> = {};
  const video = { currentTime: 100, playbackRate: 1, paused: false } as HTMLMediaElement;
  const player: ShakaPlayerLike = {
    getNetworkingEngine: () => ({ registerRequestFilter: (f) => { filters.push(f as Filter); } }),
    getMediaElement: () => video,
    addEventListener: (t, f) => { listeners[t] = f; },
  };
  const e = engine();
  e.playlist = () => undefined;
  const loads: SegmentInfo[] = [];
  e.load = async (url, info) => { loads.push({ ...info!, url }); return { data: new Uint8Array([1, 2]), source: "p2p" }; };
  const seen = { segs: [] as SegmentInfo[] };
  e.setSegments = (l) => { seen.segs = l; };
  const segs = (): SegmentInfo[] => seen.segs;
  const served = { body: PLAYLIST };
  attachShaka(e, fakeShaka(plugins, served), player);
  assert.equal(filters.length, 1, "a request filter is registered on the player's networking engine");

  await plugins.http!("http://n/live/p.m3u8", get(), 0).promise;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(segs(), [], "no media times before the player asked for a segment");

  // Shaka runs the filter, then the scheme plugin with the same request object.
  const req = get(["http://n/live/41.ts"]);
  filters[0]!(1, req, { segment: { getStartTime: () => 104, getEndTime: () => 106 } });
  const res = await plugins.http!("http://n/live/41.ts", req, 1).promise;
  assert.deepEqual([...new Uint8Array(res.data)], [1, 2]);
  assert.equal(res.fromCache, true, "peer bytes stay out of Shaka's bandwidth estimate");
  assert.deepEqual(loads, [{ url: "http://n/live/41.ts", seq: 41, start: 104, duration: 2 }]);
  assert.deepEqual(segs().map((s) => [s.seq, s.start]), [[40, 102], [41, 104], [42, 106]]);
  assert.deepEqual(e.getStats().stalls, 0);

  // The live playlist slides: its segments keep their media times.
  served.body = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:2,\n41.ts\n#EXTINF:2,\n42.ts\n#EXTINF:2.5,\n43.ts\n";
  await plugins.http!("http://n/live/p.m3u8", get(), 0).promise;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(segs().map((s) => [s.seq, s.start, s.duration]), [[41, 104, 2], [42, 106, 2], [43, 108, 2.5]]);

  // Without the player's context (a segment the filter did not see) the playlist's placement is used.
  await plugins.http!("http://n/live/43.ts", get(), 1).promise;
  assert.deepEqual(loads[1], { url: "http://n/live/43.ts", seq: 43, start: 108, duration: 2.5 });

  // Shaka 5 on a live DASH stream, as seen in Chromium: the startup
  // buffering ends while the element still sits paused at 0 (the buffer
  // ahead of 0 is all of it), then the seek to the live start buffers again.
  const v = video as { currentTime: number; paused: boolean; seeking: boolean };
  v.paused = true; v.currentTime = 0;
  listeners.buffering?.({ buffering: true });
  listeners.buffering?.({ buffering: false });
  v.currentTime = 100; v.seeking = true;
  listeners.buffering?.({ buffering: true });
  assert.equal(e.getStats().stalls, 0, "the startup buffering, ended before the start seek, is no stall");
  v.paused = false; v.seeking = false;
  listeners.buffering?.({ buffering: false });
  listeners.buffering?.({ buffering: true });
  assert.equal(e.getStats().stalls, 1, "buffering after playback started is a stall");
  listeners.buffering?.({ buffering: false });
  v.seeking = true;
  listeners.buffering?.({ buffering: true });
  assert.equal(e.getStats().stalls, 1, "the buffering of a seek is no stall");
});

test("DASH: a video request joins its Representation's swarm with the manifest's ticket and reports the coming segments from Shaka's index", async () => {
  const plugins: Record<string, Plugin> = {};
  const filters: Filter[] = [];
  const player: ShakaPlayerLike = {
    getNetworkingEngine: () => ({ registerRequestFilter: (f) => { filters.push(f as Filter); } }),
    getMediaElement: () => ({ currentTime: 0, playbackRate: 1, paused: false }) as HTMLMediaElement,
  };
  const shaka = fakeShaka(plugins, { body: "<MPD/>" });
  shaka.net.HttpFetchPlugin.parse = ((uri: string) => ({ promise: Promise.resolve({ uri, originalUri: uri, data: new ArrayBuffer(0),
    headers: { "edgeswarm-swarms": "/dash/live.mpd#low;ticket=tl, /dash/live.mpd#mid;ticket=tm, /dash/live.mpd#audio;ticket=ta" } }) })) as never;
  const e = engine();
  const joined: unknown[] = [];
  e.playlist = (u, s, t) => { joined.push([u, s, t]); };
  e.load = async () => ({ data: new Uint8Array([1]), source: "http" });
  let segs: SegmentInfo[] = [];
  e.setSegments = (l) => { segs = l; };
  attachShaka(e, shaka, player);
  await plugins.http!("http://n/dash/live.mpd", get(), 0).promise;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(joined, [["http://n/dash/live.mpd", null, null]], "the manifest itself is no swarm");

  const ref = (n: number) => ({ getStartTime: () => 2 * n, getEndTime: () => 2 * n + 2, getUris: () => [`http://n/dash/live/mid/${n}.m4s`] });
  const index = { find: (t: number) => t / 2, get: (i: number) => (i < 103 ? ref(i) : null) };
  // Audio requests do not move the viewer's swarm.
  filters[0]!(1, get(), { segment: ref(100), stream: { type: "audio", originalId: "audio", segmentIndex: index } });
  assert.equal(joined.length, 1);
  filters[0]!(1, get(), { segment: ref(100), stream: { type: "video", originalId: "mid", segmentIndex: index } });
  assert.deepEqual(joined[1], ["http://n/dash/live.mpd", "/dash/live.mpd#mid", "tm"]);
  assert.deepEqual(segs.map((s) => [s.url, s.start, s.duration]), [
    ["http://n/dash/live/mid/100.m4s", 200, 2], ["http://n/dash/live/mid/101.m4s", 202, 2], ["http://n/dash/live/mid/102.m4s", 204, 2]]);
});

test("a failed segment load reaches Shaka as the shaka.util.Error its own HTTP plugin would throw, so that Shaka retries it", async () => {
  class FakeShakaError extends Error {
    static Severity = { RECOVERABLE: 1, CRITICAL: 2 };
    static Category = { NETWORK: 1 };
    static Code = { BAD_HTTP_STATUS: 1001, HTTP_ERROR: 1002, OPERATION_ABORTED: 7001 };
    readonly data: unknown[];
    constructor(readonly severity: number, readonly category: number, readonly code: number, ...data: unknown[]) { super("shaka " + code); this.data = data; }
  }
  const status: Record<string, number> = { "http://n/live/9.ts": 404, "http://n/live/10.ts": 403 };
  const clock = new FakeClock();
  const e = new Engine({}, {
    clock, random: () => 0.5, userAgent: "", base: "http://n/",
    fetch: (async (u: string) => {
      const s = status[String(u)];
      if (!s) throw new TypeError("Failed to fetch");
      return new Response("gone", { status: s });
    }) as typeof fetch,
  });
  const plugins: Record<string, Plugin> = {};
  const shaka = fakeShaka(plugins);
  shaka.util.Error = FakeShakaError;
  attachShaka(e, shaka, { currentTime: 0, playbackRate: 1, paused: false } as HTMLMediaElement);
  const failure = async (uri: string): Promise<FakeShakaError> => {
    const load = plugins.http!(uri, get(), 1).promise.then(() => undefined, (err: unknown) => err);
    await clock.advance(60_000); // the engine's own retries
    const err = await load;
    assert.ok(err instanceof FakeShakaError, `a shaka.util.Error, not ${String(err)}`);
    return err;
  };
  const notFound = await failure("http://n/live/9.ts");
  assert.deepEqual([notFound.severity, notFound.category, notFound.code, notFound.data[1]], [1, 1, 1001, 404], "a 404 is a recoverable BAD_HTTP_STATUS with its status");
  const forbidden = await failure("http://n/live/10.ts");
  assert.deepEqual([forbidden.severity, forbidden.code, forbidden.data[1]], [2, 1001, 403], "403 is critical, as with Shaka's plugin");
  const down = await failure("http://n/live/11.ts");
  assert.deepEqual([down.severity, down.code], [1, 1002], "a network failure is a recoverable HTTP_ERROR");
});

test("a segment load Shaka aborts stops the engine's fetch and rejects with OPERATION_ABORTED, as Shaka's own plugin does", async () => {
  class FakeShakaError extends Error {
    static Code = { BAD_HTTP_STATUS: 1001, HTTP_ERROR: 1002, OPERATION_ABORTED: 7001 };
    constructor(readonly severity: number, readonly category: number, readonly code: number) { super("shaka " + code); }
  }
  class FakeOperation<T> {
    static notAbortable<T>(p: Promise<T>): unknown { return { promise: p, abort: () => Promise.resolve() }; }
    constructor(readonly promise: Promise<T>, readonly abort: () => Promise<unknown>) {}
  }
  let fetchSignal: AbortSignal | undefined;
  const e = new Engine({}, {
    clock: new FakeClock(), random: () => 0.5, userAgent: "", base: "http://n/",
    // A fetch that answers only when aborted, as a browser's does.
    fetch: ((_u: string, init?: RequestInit) => new Promise<Response>((_res, rej) => {
      fetchSignal = init?.signal ?? undefined;
      fetchSignal?.addEventListener("abort", () => rej(new DOMException("aborted", "AbortError")));
    })) as typeof fetch,
  });
  const plugins: Record<string, Plugin> = {};
  const shaka = fakeShaka(plugins);
  shaka.util.Error = FakeShakaError;
  shaka.util.AbortableOperation = FakeOperation;
  attachShaka(e, shaka, { currentTime: 0, playbackRate: 1, paused: false } as HTMLMediaElement);
  const op = plugins.http!("http://n/live/5.ts", get(), 1) as unknown as FakeOperation<unknown>;
  assert.ok(op instanceof FakeOperation, "an abortable operation");
  const outcome = op.promise.then(() => undefined, (err: unknown) => err);
  for (let i = 0; i < 20 && !fetchSignal; i++) await new Promise((r) => setImmediate(r));
  assert.ok(fetchSignal, "the engine fetched the segment");
  await op.abort();
  const err = await outcome;
  assert.ok(err instanceof FakeShakaError && err.code === 7001, `OPERATION_ABORTED, not ${String(err)}`);
  assert.equal(fetchSignal.aborted, true, "the HTTP fetch was aborted");
});
