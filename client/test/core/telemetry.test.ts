import assert from "node:assert/strict";
import { test } from "node:test";
import { Deps, Engine, Playhead } from "../../src/core/engine";
import { webHasher } from "../../src/core/integrity";
import { decodeSignal, SignalMessage } from "../../src/core/signal";
import { browserOf, Telemetry } from "../../src/core/telemetry";
import { FakeClock, flush } from "../helpers";
import { FakePC, FakeWS } from "../fakes";

test("browser family and major version from user agents", () => {
  const cases: [string, string, number][] = [
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "chrome", 131],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.68", "edge", 130],
    ["Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", "firefox", 140],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "safari", 17],
    ["Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "samsung", 25],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 OPR/115.0.0.0", "opera", 115],
    ["curl/8.5.0", "other", 0],
  ];
  for (const [ua, b, major] of cases) assert.deepEqual(browserOf(ua), { browser: b, major }, ua);
});

test("telemetry measures start-up, playing time and stall episodes from the playhead", async () => {
  const clock = new FakeClock();
  let ph: { time: number; playing: boolean } = { time: 0, playing: false };
  const t = new Telemetry({ clock, sample: () => ({ time: ph.time, media: { playing: ph.playing }, bitrate: 2e6, liveMs: 7000 }),
    onPeriod: () => undefined, periodMs: () => 10000 }, "Chrome/131.0", () => 0.5, false, true);
  await clock.advance(450);
  t.stall(); // waiting before the first frame is start-up, not a stall
  ph = { time: 0.1, playing: true };
  await clock.advance(100);
  assert.equal(t.startupMs, 500);
  for (let i = 0; i < 10; i++) { ph = { time: ph.time + 1, playing: true }; await clock.advance(1000); }
  t.stall();
  t.stall(); // the same episode
  await clock.advance(3000); // the playhead does not move
  ph = { time: ph.time + 1, playing: true };
  await clock.advance(1000);
  const f = t.fields(undefined, true, "join1");
  assert.equal(f.stalls, 1);
  assert.ok(f.stall_ms! >= 3000 && f.stall_ms! <= 4000, "stall_ms " + f.stall_ms);
  assert.ok(f.watch_ms! >= 10500 && f.watch_ms! <= 11500, "watch_ms " + f.watch_ms); // 10 s, then 1 s after the stall
  assert.equal(f.startup_ms, 500);
  assert.equal(f.bitrate, 2e6);
  assert.equal(f.live_ms, 7000);
  assert.equal(f.browser, "chrome");
  // The start-up belongs to the first join that reported it.
  assert.equal(t.fields(undefined, true, "join2").startup_ms, 0);
  assert.equal(t.fields(undefined, true, "join1").startup_ms, 500);
  t.stop();
});

interface Rig { e: Engine; clock: FakeClock; ws: FakeWS[]; beacons: { url: string; body: string }[]; ph: Playhead }

function rig(webrtc: boolean, ua = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"): Rig {
  const clock = new FakeClock();
  const ws: FakeWS[] = [];
  const beacons: { url: string; body: string }[] = [];
  const deps: Deps = {
    clock,
    fetch: (async () => new Response(new Uint8Array(1000), { status: 200 })) as typeof fetch,
    createPC: webrtc ? (c) => new FakePC(c) as unknown as RTCPeerConnection : undefined,
    createWS: (u) => { const w = new FakeWS(u); ws.push(w); return w; },
    sha256: webHasher(),
    random: () => 0.25,
    userAgent: ua,
    base: "http://page.test/watch",
    beacon: (url, body) => { beacons.push({ url, body }); return true; },
  };
  const e = new Engine({ node: "http://node.test/" }, deps);
  const r: Rig = { e, clock, ws, beacons, ph: { time: 0, rate: 1, media: { playing: false }, bitrate: 800000 } };
  e.setPlayhead(() => r.ph);
  return r;
}

async function play(r: Rig, seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    r.ph = { ...r.ph, time: r.ph.time + 1, media: { playing: true } };
    await r.clock.advance(1000);
  }
}

test("stats over signaling carry the telemetry, the stream and the group", async () => {
  const r = rig(true);
  r.e.playlist("http://node.test/live/master.m3u8", null, null);
  r.e.playlist("http://node.test/live/720p.m3u8", "/live/720p.m3u8", "tkt");
  const ws = r.ws[0]!;
  ws.open();
  ws.serve({ type: "welcome", peer_id: "p1", swarm: "/live/720p.m3u8", config: {
    keys: {}, max_peers: 8, max_inflight: 2, chunk_size: 16384, hello_timeout_ms: 5000, request_timeout_ms: 2000,
    idle_timeout_ms: 2000, critical_ms: 8000, prefetch_ms: 30000, keep_segments: 60, stats_interval_ms: 10000 } });
  await r.e.load("http://node.test/live/720p/1.ts", { url: "http://node.test/live/720p/1.ts" });
  await play(r, 10);
  await flush();
  const st = ws.of("stats");
  assert.equal(st.length, 1);
  const m = st[0]!;
  assert.equal(m.http_bytes, 1000);
  assert.equal(m.group, "p2p");
  assert.equal(m.stream, "/live/master.m3u8");
  assert.equal(m.browser, "chrome");
  assert.equal(m.browser_major, 131);
  assert.equal(m.webrtc, true);
  assert.equal(m.upload, true);
  assert.equal(m.bitrate, 800000);
  assert.ok(m.startup_ms! > 0 && m.watch_ms! >= 8000, JSON.stringify(m));
  assert.equal(m.swarm, undefined, "over signaling the joined swarm counts");
  assert.equal(r.beacons.length, 0, "a viewer on signaling sends no beacon");
  r.e.destroy();
});

test("a viewer without WebRTC reports by beacon: HTTP bytes, its rendition, group http, a page session", async () => {
  const r = rig(false, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1");
  r.e.playlist("http://node.test/live/master.m3u8", null, null);
  r.e.playlist("http://node.test/live/480p.m3u8", "/live/480p.m3u8", "tkt");
  await r.e.load("http://node.test/live/480p/1.ts", { url: "http://node.test/live/480p/1.ts" });
  await play(r, 10);
  assert.equal(r.ws.length, 0, "no signaling without WebRTC");
  assert.equal(r.beacons.length, 1);
  const b = r.beacons[0]!;
  assert.equal(b.url, "http://node.test/edgeswarm/report");
  const m = decodeSignal(b.body, "client") as Extract<SignalMessage, { type: "stats" }>;
  assert.equal(m.type, "stats");
  assert.equal(m.http_bytes, 1000);
  assert.equal(m.group, "http");
  assert.equal(m.swarm, "/live/480p.m3u8");
  assert.equal(m.stream, "/live/master.m3u8");
  assert.equal(m.browser, "safari");
  assert.equal(m.mobile, true);
  assert.equal(m.webrtc, undefined);
  assert.match(m.session!, /^[A-Za-z0-9]{12}$/);
  assert.ok(m.startup_ms! > 0);
  await play(r, 10);
  assert.equal(r.beacons.length, 2);
  const m2 = decodeSignal(r.beacons[1]!.body, "client") as Extract<SignalMessage, { type: "stats" }>;
  assert.equal(m2.session, m.session, "one session per page");
  assert.equal(m2.startup_ms, m.startup_ms, "start-up stays in its session");
  assert.ok(m2.watch_ms! > m.watch_ms!);
  r.e.destroy();
  assert.equal(r.beacons.length, 3, "a last beacon when the player goes");
});
