import assert from "node:assert/strict";
import { test } from "node:test";
import { attachDashjs } from "../../src/adapters/dashjs";
import { Engine, SegmentInfo } from "../../src/core/engine";
import { FakeClock } from "../helpers";

test("dash.js: the manifest's swarms are read, a video request joins its Representation's swarm, and segment loads carry dash.js's media times", async () => {
  const g = globalThis as { fetch: typeof fetch };
  const orig = g.fetch;
  const fake = (async (u: RequestInfo | URL) => {
    if (String(u).endsWith(".mpd")) {
      return new Response("<MPD/>", { headers: { "Edgeswarm-Swarms": "/dash/live.mpd#low;ticket=tl, /dash/live.mpd#mid;ticket=tm" } });
    }
    return new Response(new Uint8Array([5, 5, 5]));
  }) as typeof fetch;
  g.fetch = fake;
  try {
    const e = new Engine({ p2p: false }, { clock: new FakeClock(), fetch: fake, random: () => 0.5, userAgent: "", base: "http://n/" });
    const joined: unknown[] = [];
    e.playlist = (u, s, t) => { joined.push([u, s, t]); };
    const loads: (SegmentInfo | undefined)[] = [];
    const load = e.load.bind(e);
    e.load = (url, info, signal) => { loads.push(info); return load(url, info, signal); };
    const handlers: Record<string, ((ev: { request?: object }) => void)[]> = {};
    const player = { on: (t: string, f: (ev: { request?: object }) => void) => { (handlers[t] ??= []).push(f); } };
    const off = attachDashjs(e, player);
    const emit = (t: string, ev: { request?: object } = {}) => { for (const f of handlers[t] ?? []) f(ev); };

    await (await fetch("http://n/dash/live.mpd")).text();
    emit("fragmentLoadingStarted", { request: { url: "http://n/dash/live/audio/7.m4s", type: "MediaSegment", mediaType: "audio", startTime: 14, duration: 2, representation: { id: "audio" } } });
    assert.deepEqual(joined, [["http://n/dash/live.mpd", null, null]], "audio moves no swarm");
    emit("fragmentLoadingStarted", { request: { url: "http://n/dash/live/mid/7.m4s", type: "MediaSegment", mediaType: "video", startTime: 14, duration: 2, representation: { id: "mid" } } });
    assert.deepEqual(joined[1], ["http://n/dash/live.mpd", "/dash/live.mpd#mid", "tm"]);
    const seg = await fetch("http://n/dash/live/mid/7.m4s");
    assert.deepEqual([...new Uint8Array(await seg.arrayBuffer())], [5, 5, 5]);
    assert.deepEqual(loads, [{ url: "http://n/dash/live/mid/7.m4s", start: 14, duration: 2 }]);

    // dash.js 4 names the Representation by representationId.
    emit("fragmentLoadingStarted", { request: { url: "http://n/dash/live/low/8.m4s", type: "MediaSegment", mediaType: "video", startTime: 16, duration: 2, representationId: "low" } });
    assert.deepEqual(joined[2], ["http://n/dash/live.mpd", "/dash/live.mpd#low", "tl"]);

    emit("bufferStalled");
    assert.equal(e.getStats().stalls, 0, "no stall before playback started");
    emit("playbackPlaying");
    emit("bufferStalled");
    assert.equal(e.getStats().stalls, 1);
    off();
    assert.equal(g.fetch, fake);
  } finally {
    g.fetch = orig;
  }
});

test("dash.js: a player that was reset (getVideoElement throws) leaves the engine without a playhead, no error", () => {
  const e = new Engine({ p2p: false }, { clock: new FakeClock(), fetch: globalThis.fetch, random: () => 0.5, userAgent: "", base: "http://n/" });
  let playhead: (() => unknown) | undefined;
  e.setPlayhead = (f) => { playhead = f; };
  const off = attachDashjs(e, { on: () => undefined, getVideoElement: () => { throw new Error("You must first call attachView()"); } });
  assert.equal(playhead!(), undefined);
  off();
});

test("dash.js with its element: a stall is the element's waiting after playback started, not a bufferStalled it played through, nor a seek", () => {
  const e = new Engine({ p2p: false }, { clock: new FakeClock(), fetch: globalThis.fetch, random: () => 0.5, userAgent: "", base: "http://n/" });
  const handlers: Record<string, (() => void)[]> = {};
  const el = new EventTarget() as EventTarget & { seeking: boolean; currentTime: number; paused: boolean; playbackRate: number };
  Object.assign(el, { seeking: false, currentTime: 0, paused: false, playbackRate: 1 });
  const off = attachDashjs(e, { on: (t, f) => { (handlers[t] ??= []).push(f as () => void); }, getVideoElement: () => el as unknown as HTMLVideoElement });
  const emit = (t: string) => { for (const f of handlers[t] ?? []) f(); };
  el.dispatchEvent(new Event("waiting"));
  emit("playbackPlaying");
  assert.equal(e.getStats().stalls, 0, "waiting before playback started is start-up");
  emit("bufferStalled");
  assert.equal(e.getStats().stalls, 0, "a track ran low and the element played on");
  el.seeking = true;
  el.dispatchEvent(new Event("waiting"));
  assert.equal(e.getStats().stalls, 0, "the waiting of a seek is the seek's");
  el.seeking = false;
  el.dispatchEvent(new Event("waiting"));
  assert.equal(e.getStats().stalls, 1, "playback stopped for data");
  emit("playbackPlaying");
  el.dispatchEvent(new Event("waiting"));
  assert.equal(e.getStats().stalls, 2, "one listener, however often playback resumes");
  off();
});
