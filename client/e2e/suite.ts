// The end-to-end suite: the node with its demo origin and real Chromium
// viewers playing the live stream. run.sh builds the node and runs this
// file inside a network namespace that has only loopback.
//
// Every test asserts what a viewer would notice: playback starts and never
// stalls after that (the video element's "waiting" events), the bytes each
// viewer got by source (edgeswarm.getStats()), that bytes from peers are
// the node's bytes, and that the node's own counters agree.

import { spawn } from "node:child_process";
import { Browser, devices } from "playwright-core";
import { FirefoxViewer, launchFirefox } from "./firefox";
import { Env, launchChromium, mib, NodeProc, PageReport, Viewer, ViewerOptions, Watched, waitFor, watch } from "./harness";
import { natTests } from "./nat";

const env: Env = {
  node: must("E2E_NODE"),
  chromium: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium",
  modules: must("E2E_MODULES"),
  firefox: process.env.E2E_FIREFOX ?? "/usr/bin/firefox-esr",
};
/** Seconds the main test watches playback ("about a minute"). */
const WATCH_S = Number(process.env.E2E_WATCH_S ?? 60);

function must(k: string): string {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run client/e2e/run.sh)`);
  return v;
}

class Fail extends Error {}
function check(ok: boolean, msg: string): void { if (!ok) throw new Fail(msg); }

interface T { browser: Browser; log: (s: string) => void; cleanup: (f: () => Promise<void>) => void }

/** Starts a node for one test, stopped when the test ends. */
async function node(t: T, extraYAML = ""): Promise<NodeProc> {
  const n = await NodeProc.start(env, extraYAML);
  t.cleanup(() => n.stop());
  return n;
}

/** Opens n viewers concurrently, each in its own browser context, and waits until each plays. */
async function viewers(t: T, n: NodeProc, names: string[], o: ViewerOptions = {}): Promise<Viewer[]> {
  const vs = await Promise.all(names.map((name) => Viewer.open(t.browser, n, env, name, o)));
  for (const v of vs) t.cleanup(() => v.close());
  await Promise.all(vs.map((v) => v.playing().catch(async (e) => {
    throw new Fail(`${v.name} never started playing: ${String(e).split("\n")[0]}; page errors: ${v.pageErrors.join("; ")}; report: ${JSON.stringify(await v.report().catch(() => null))?.slice(0, 600)}`);
  })));
  return vs;
}

/** Playback as a user saw it: started, no stall after start, moved on, no player or page error. */
function played(v: Watched, r: PageReport, watchedS: number): void {
  check(r.playingAt > 0, `${v.name}: never played`);
  check(r.waiting === 0, `${v.name}: ${r.waiting} stall(s) ("waiting" events after playback started): ${JSON.stringify(r.waits)}`);
  check(r.stats.stalls === 0, `${v.name}: the player reported ${r.stats.stalls} stall(s); seeks ${JSON.stringify(r.seeks)}, Shaka's buffering ${JSON.stringify(r.bufferings ?? [])}, modes ${JSON.stringify(r.modes)}`);
  check(r.fatal.length === 0, `${v.name}: fatal player errors: ${r.fatal.join(", ")}`);
  check(v.pageErrors.length === 0, `${v.name}: uncaught page errors: ${v.pageErrors.join("; ")}`);
  check(r.played >= watchedS / 2, `${v.name}: ${r.played.toFixed(1)} s of video played in about ${watchedS} s`);
}

/**
 * Every segment a peer or the super-peer delivered, and that reached the
 * player, has the bytes the node serves over HTTP. Returns how many.
 */
async function peerBytesAreNodeBytes(n: NodeProc, v: Watched, r: PageReport): Promise<number> {
  let checked = 0;
  for (const [path, src] of Object.entries(r.sources)) {
    if (src === "http") continue;
    const got = r.hashes[path];
    if (!got) continue; // stored, not yet played
    const want = await n.sha256(path);
    check(got === want, `${v.name}: ${path} from ${src} reached the player with SHA-256 ${got}, the node serves ${want}`);
    checked++;
  }
  return checked;
}

/** a and b agree within 1% (framing the browser counts and the node does not). */
const near = (a: number, b: number): boolean => Math.abs(a - b) <= 0.01 * Math.max(a, b);

function sum(rs: PageReport[], f: (r: PageReport) => number): number { return rs.reduce((a, r) => a + f(r), 0); }

/** Stops every viewer, then waits until the node's HTTP byte counter settles at what the pages received. */
async function stopAndSettle(n: NodeProc, vs: (Viewer | FirefoxViewer)[]): Promise<{ rs: PageReport[]; nodeHTTP: number; seederSent: number }> {
  await Promise.all(vs.map((v) => v.stop()));
  let rs: PageReport[] = [];
  let nodeHTTP = 0;
  // Responses in flight when loading stopped may still land: poll until
  // the node's count and the pages' count agree (or the deadline passes,
  // and the caller's assertion reports the difference).
  await waitFor("node HTTP bytes equal to the pages' received bytes", 5000, async () => {
    rs = await Promise.all(vs.map((v) => v.report()));
    nodeHTTP = await n.metric("edgeswarm_bytes_sent_total", { path: "http" });
    return near(nodeHTTP, sum(rs, (r) => r.net.all));
  }).catch(() => undefined);
  const seederSent = await n.metric("edgeswarm_seeder_sent_bytes_total");
  return { rs, nodeHTTP, seederSent };
}

function figures(t: T, vs: Watched[], rs: PageReport[]): void {
  rs.forEach((r, i) => {
    const s = r.stats;
    t.log(`${vs[i]!.name}: http ${mib(s.httpBytes)}, p2p ${mib(s.p2pBytes)}, seed ${mib(s.seedBytes)}, uploaded ${mib(s.uploadBytes)}, ` +
      `verified ${s.segmentsVerified}, rejected ${s.segmentsRejected}, aborts ${s.aborts}, peers ${s.peers}, offload ${(s.offload * 100).toFixed(1)}%`);
    if (r.recovered?.length) t.log(`${vs[i]!.name}: errors the player recovered from: ${r.recovered.join("; ")}`);
    if (process.env.E2E_DEBUG) t.log(JSON.stringify({ ...r, hashes: undefined, sources: Object.values(r.sources).join(",") }));
  });
}

const tests: { name: string; run: (t: T) => Promise<void>; known?: string }[] = [];
const test = (name: string, run: (t: T) => Promise<void>): void => { tests.push({ name, run }); };
/**
 * A test of a behaviour known to be broken, with the reason: it is not run
 * (nor counted as passed) unless E2E_KNOWN=1, and the summary lists it.
 */
const knownFailure = (reason: string, name: string, run: (t: T) => Promise<void>): void => { tests.push({ name, run, known: reason }); };

test(`hls.js: 3 viewers for ${WATCH_S} s share segments, never stall, verify every P2P segment, agree with the node`, async (t) => {
  // The default push policy: in a swarm of three the super-peer pushes
  // each new segment to one viewer, and the others get it from viewers.
  const n = await node(t, "");
  const vs = await viewers(t, n, ["viewer-1", "viewer-2", "viewer-3"]);
  await watch(WATCH_S * 1000);
  const { rs, nodeHTTP, seederSent } = await stopAndSettle(n, vs);
  figures(t, vs, rs);
  vs.forEach((v, i) => played(v, rs[i]!, WATCH_S));

  const http = sum(rs, (r) => r.stats.httpBytes), p2p = sum(rs, (r) => r.stats.p2pBytes), seed = sum(rs, (r) => r.stats.seedBytes);
  const all = http + p2p + seed;
  t.log(`all viewers: http ${mib(http)}, p2p ${mib(p2p)}, seed ${mib(seed)}: offload ${(p2p / all * 100).toFixed(1)}%, ` +
    `peer efficiency ${((p2p + seed) / all * 100).toFixed(1)}%; node: http ${mib(nodeHTTP)}, super-peer ${mib(seederSent)}`);
  check(p2p > 0, "no bytes went from viewer to viewer");
  for (const [i, r] of rs.entries()) {
    const v = vs[i]!;
    check(r.stats.segmentsRejected === 0, `${v.name}: ${r.stats.segmentsRejected} segment(s) rejected from honest peers`);
    check(r.connects.length > 0, `${v.name}: no peer connection`);
    // What the client counts as HTTP is what the page received over HTTP
    // (the browser's count includes chunked-encoding framing: 1% slack).
    check(near(r.stats.httpBytes, r.net.segments), `${v.name}: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
  }
  check(sum(rs, (r) => r.stats.segmentsVerified) > 0, "no segment verified");
  // The node sent over HTTP exactly what the pages received, and its
  // super-peer at least what the viewers accepted from it.
  check(near(nodeHTTP, sum(rs, (r) => r.net.all)), `node sent ${nodeHTTP} HTTP body bytes, the pages received ${sum(rs, (r) => r.net.all)}`);
  check(seed <= seederSent, `viewers got ${seed} bytes from the super-peer, it sent ${seederSent}`);
  check(p2p <= sum(rs, (r) => r.stats.uploadBytes), `viewers got ${p2p} bytes from viewers, which uploaded ${sum(rs, (r) => r.stats.uploadBytes)}`);
  let checked = 0;
  for (const [i, r] of rs.entries()) checked += await peerBytesAreNodeBytes(n, vs[i]!, r);
  check(checked > 0, "no segment from a peer reached a player");
  t.log(`${checked} segments from peers reached the players, each identical to the node's`);
});

test("hls.js lowLatencyMode with the demo's LL-HLS stream: no stall, distance to live <= 3 s; viewers behind the edge share whole segments", async (t) => {
  const n = await node(t, "");
  const init = "window.__src = '/ll/master.m3u8'; window.__hlsConfig = { lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5 };";
  // Two viewers at the live edge in lowLatencyMode (parts over HTTP), two
  // behind it (hls.js' ordinary live mode: whole segments, from the swarm).
  const ll = await viewers(t, n, ["ll-1", "ll-2"], { init });
  const behind = await viewers(t, n, ["behind-1", "behind-2"], { init: "window.__src = '/ll/master.m3u8'; window.__hlsConfig = { liveSyncDurationCount: 4 };" });
  const vs = [...ll, ...behind];
  const watchS = Math.min(WATCH_S, 40);
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, vs);
  figures(t, vs, rs);
  vs.forEach((v, i) => played(v, rs[i]!, watchS));
  for (const [i, r] of rs.entries()) {
    const v = vs[i]!;
    if (i >= ll.length) continue;
    t.log(`${v.name}: largest distance to live ${r.latency.toFixed(2)} s` + (process.env.E2E_DEBUG ? `; samples ${r.latencies.join(" ")}` : ""));
    check(r.latency > 0 && r.latency <= 3, `${v.name}: distance to live ${r.latency.toFixed(2)} s, want at most 3 s; samples ${r.latencies.join(" ")}; seeks ${JSON.stringify(r.seeks)}`);
    check(r.stats.segmentsRejected === 0, `${v.name}: ${r.stats.segmentsRejected} segment(s) rejected`);
    // Parts bypass the swarm but not the figures: what the client counts as
    // HTTP is what the page received for segments and parts.
    check(r.stats.httpBytes > 0 && near(r.stats.httpBytes, r.net.segments), `${v.name}: getStats() says ${r.stats.httpBytes} HTTP bytes, the network ${r.net.segments}`);
  }
  const http = sum(rs, (r) => r.stats.httpBytes), p2p = sum(rs, (r) => r.stats.p2pBytes), seed = sum(rs, (r) => r.stats.seedBytes);
  t.log(`all viewers: http ${mib(http)}, p2p ${mib(p2p)}, seed ${mib(seed)}: offload ${(p2p / (http + p2p + seed) * 100).toFixed(1)}%`);
  check(p2p > 0, "no whole segment behind the live edge went from viewer to viewer");
  let checked = 0;
  for (const [i, r] of rs.entries()) checked += await peerBytesAreNodeBytes(n, vs[i]!, r);
  check(checked > 0, "no segment from a peer reached a player");
  t.log(`${checked} segments from peers reached the players, each identical to the node's`);
});

test("Shaka Player requests segments from peers, never stalls, verifies them", async (t) => {
  // No pushes: whatever reaches the Shaka viewer from the swarm, it asked for.
  const n = await node(t, "  push_k: 0\n");
  const [shaka] = await viewers(t, n, ["shaka"], { player: "shaka" });
  const others = await viewers(t, n, ["hls.js-1", "hls.js-2"]);
  const all = [shaka!, ...others];
  const watchS = 30;
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, all);
  figures(t, all, rs);
  all.forEach((v, i) => played(v, rs[i]!, watchS));
  const r = rs[0]!;
  check(r.stats.segmentsRejected === 0, `shaka: ${r.stats.segmentsRejected} segment(s) rejected`);
  check(r.stats.seedBytes + r.stats.p2pBytes > 0, "shaka: no segment it requested came from the swarm");
  const checked = await peerBytesAreNodeBytes(n, shaka!, r);
  check(checked > 0, "shaka: no segment from a peer reached the player");
  check(near(r.stats.httpBytes, r.net.segments), `shaka: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
  t.log(`shaka: ${checked} requested segments from peers reached Shaka, each identical to the node's`);
});

test("dash.js 5 with DASH: 3 viewers share segments of one Representation, never stall, verify every P2P segment", async (t) => {
  const n = await node(t, "");
  const vs = await viewers(t, n, ["dashjs-1", "dashjs-2", "dashjs-3"], { player: "dashjs" });
  const watchS = Number(process.env.E2E_DASH_S ?? 40);
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, vs);
  figures(t, vs, rs);
  vs.forEach((v, i) => played(v, rs[i]!, watchS));
  const http = sum(rs, (r) => r.stats.httpBytes), p2p = sum(rs, (r) => r.stats.p2pBytes), seed = sum(rs, (r) => r.stats.seedBytes);
  t.log(`dash.js viewers: http ${mib(http)}, p2p ${mib(p2p)}, seed ${mib(seed)}: peer efficiency ${((p2p + seed) / (http + p2p + seed) * 100).toFixed(1)}%`);
  check(p2p + seed > 0, "no DASH segment came from the swarm");
  for (const [i, r] of rs.entries()) {
    const v = vs[i]!;
    check(r.stats.swarm === "/dash/live.mpd#low", `${v.name}: in swarm ${r.stats.swarm}, want the low Representation's`);
    check(r.stats.segmentsRejected === 0, `${v.name}: ${r.stats.segmentsRejected} segment(s) rejected from honest peers`);
    check(near(r.stats.httpBytes, r.net.segments), `${v.name}: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
  }
  let checked = 0;
  for (const [i, r] of rs.entries()) checked += await peerBytesAreNodeBytes(n, vs[i]!, r);
  check(checked > 0, "no DASH segment from a peer reached dash.js");
  t.log(`${checked} DASH segments from peers reached dash.js, each identical to the node's`);
});

test("Shaka Player with DASH requests segments from peers, never stalls, verifies them", async (t) => {
  // No pushes: whatever reaches the Shaka viewer from the swarm, it asked for.
  const n = await node(t, "  push_k: 0\n");
  const [shaka] = await viewers(t, n, ["shaka-dash"], { player: "shaka-dash" });
  const others = await viewers(t, n, ["dashjs-1", "dashjs-2"], { player: "dashjs" });
  const all = [shaka!, ...others];
  const watchS = Number(process.env.E2E_DASH_S ?? 40);
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, all);
  figures(t, all, rs);
  all.forEach((v, i) => played(v, rs[i]!, watchS));
  const r = rs[0]!;
  check(r.stats.swarm === "/dash/live.mpd#low", `shaka: in swarm ${r.stats.swarm}, want the low Representation's`);
  check(r.stats.segmentsRejected === 0, `shaka: ${r.stats.segmentsRejected} segment(s) rejected`);
  check(r.stats.seedBytes + r.stats.p2pBytes > 0, "shaka: no DASH segment it requested came from the swarm");
  const checked = await peerBytesAreNodeBytes(n, shaka!, r);
  check(checked > 0, "shaka: no DASH segment from a peer reached the player");
  check(near(r.stats.httpBytes, r.net.segments), `shaka: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
  t.log(`shaka (DASH): ${checked} requested segments from peers reached Shaka, each identical to the node's`);
});

test("Video.js 8 (VHS) with the generic interception gets segments from peers, never stalls, verifies them", async (t) => {
  const n = await node(t, "");
  const [vjs] = await viewers(t, n, ["videojs"], { player: "videojs" });
  const others = await viewers(t, n, ["hls.js-1", "hls.js-2"]);
  const all = [vjs!, ...others];
  const watchS = Number(process.env.E2E_VJS_S ?? 40);
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, all);
  figures(t, all, rs);
  all.forEach((v, i) => played(v, rs[i]!, watchS));
  const r = rs[0]!;
  check(r.stats.segmentsRejected === 0, `videojs: ${r.stats.segmentsRejected} segment(s) rejected`);
  check(r.stats.seedBytes + r.stats.p2pBytes > 0, "videojs: no segment came from the swarm");
  const checked = await peerBytesAreNodeBytes(n, vjs!, r);
  check(checked > 0, "videojs: no segment from a peer reached the player");
  check(near(r.stats.httpBytes, r.net.segments), `videojs: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
  t.log(`videojs: ${checked} segments from peers reached Video.js, each identical to the node's`);
});

test("Clappr with its bundled hls.js playback and the generic interception gets segments from peers, never stalls, verifies them", async (t) => {
  const n = await node(t, "");
  const [cl] = await viewers(t, n, ["clappr"], { player: "clappr" });
  const others = await viewers(t, n, ["hls.js-1", "hls.js-2"]);
  const all = [cl!, ...others];
  const watchS = Number(process.env.E2E_CLAPPR_S ?? 30);
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, all);
  figures(t, all, rs);
  all.forEach((v, i) => played(v, rs[i]!, watchS));
  const r = rs[0]!;
  check(r.stats.segmentsRejected === 0, `clappr: ${r.stats.segmentsRejected} segment(s) rejected`);
  check(r.stats.seedBytes + r.stats.p2pBytes > 0, "clappr: no segment came from the swarm");
  const checked = await peerBytesAreNodeBytes(n, cl!, r);
  check(checked > 0, "clappr: no segment from a peer reached the player");
  check(near(r.stats.httpBytes, r.net.segments), `clappr: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
  t.log(`clappr: ${checked} segments from peers reached Clappr, each identical to the node's`);
});

test("dash.js 5 with a SegmentTimeline $Time$ live stream (no startNumber): 3 viewers share segments of one Representation, never stall, verify every P2P segment", async (t) => {
  // The demo's timeline.mpd: the live stream as most packagers write it, a
  // manifest that changes with every segment and names segments by time.
  const n = await node(t, "");
  const vs = await viewers(t, n, ["dashjs-1", "dashjs-2", "dashjs-3"], { player: "dashjs", init: "window.__src = '/dash/timeline.mpd';" });
  const watchS = Number(process.env.E2E_DASH_S ?? 40);
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, vs);
  figures(t, vs, rs);
  vs.forEach((v, i) => played(v, rs[i]!, watchS));
  const http = sum(rs, (r) => r.stats.httpBytes), p2p = sum(rs, (r) => r.stats.p2pBytes), seed = sum(rs, (r) => r.stats.seedBytes);
  t.log(`dash.js viewers ($Time$): http ${mib(http)}, p2p ${mib(p2p)}, seed ${mib(seed)}: peer efficiency ${((p2p + seed) / (http + p2p + seed) * 100).toFixed(1)}%`);
  check(p2p > 0, "no $Time$ DASH segment went from viewer to viewer");
  for (const [i, r] of rs.entries()) {
    const v = vs[i]!;
    check(r.stats.swarm === "/dash/timeline.mpd#low", `${v.name}: in swarm ${r.stats.swarm}, want the low Representation's`);
    check(r.stats.segmentsRejected === 0, `${v.name}: ${r.stats.segmentsRejected} segment(s) rejected from honest peers`);
    check(near(r.stats.httpBytes, r.net.segments), `${v.name}: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
    check(Object.keys(r.sources).every((p) => /\/t\d+\.m4s$/.test(p) || /init\.mp4$/.test(p)), `${v.name}: played segments that are not $Time$ names: ${Object.keys(r.sources).slice(0, 3).join(", ")}`);
  }
  let checked = 0;
  for (const [i, r] of rs.entries()) checked += await peerBytesAreNodeBytes(n, vs[i]!, r);
  check(checked > 0, "no $Time$ DASH segment from a peer reached dash.js");
  t.log(`${checked} $Time$ DASH segments from peers reached dash.js, each identical to the node's`);
});

test("dash.js 5 with on-demand DASH (SegmentBase, byte ranges): two viewers play the VOD through the node over HTTP, never stall; the node fetched each file once", async (t) => {
  // The demo's ondemand.mpd: one file per Representation, read by byte
  // ranges (its init, its sidx, then fragments). Peers share whole
  // segments only, so this plays over HTTP (client/README.md).
  const n = await node(t, "");
  const vs = await viewers(t, n, ["dashjs-od-1", "dashjs-od-2"], { player: "dashjs", init: "window.__src = '/dash/ondemand.mpd';" });
  const watchS = 10;
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, vs);
  figures(t, vs, rs);
  vs.forEach((v, i) => played(v, rs[i]!, watchS));
  for (const [i, r] of rs.entries()) {
    const v = vs[i]!;
    check(r.net.segments > 0, `${v.name}: no bytes of the on-demand files reached the page`);
    check(r.stats.p2pBytes === 0 && r.stats.segmentsRejected === 0, `${v.name}: p2p ${r.stats.p2pBytes}, rejected ${r.stats.segmentsRejected}`);
    // Ranges pass the engine by, not the figures.
    check(near(r.stats.httpBytes, r.net.segments), `${v.name}: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
  }
  // Every range of both viewers came out of one origin fetch per file: the
  // origin saw each viewer's page (the node's 404 document), the manifest
  // and at most the three files.
  const originReqs = await n.metric("edgeswarm_origin_requests_total");
  const hits = await n.metric("edgeswarm_cache_requests_total", { result: "hit" });
  t.log(`node: ${originReqs} origin requests, ${hits} cache hits`);
  check(originReqs <= vs.length + 1 + 3, `the node asked the origin ${originReqs} times for ${vs.length} pages, one manifest and its files`);
  check(hits > 0, "no range came from the node's cache");
});

test("a Firefox viewer and a Chromium viewer exchange segments both ways, never stall, verify them", async (t) => {
  // No pushes, and two rounds on one node: in each, one browser plays
  // further behind the live edge (hls.js liveSyncDurationCount 7 against
  // 3), so every segment it needs next is one the other already holds,
  // and it asks that one. Chromium serves Firefox, then Firefox serves
  // Chromium.
  const n = await node(t, "  push_k: 0\n");
  const firefox = await launchFirefox(env);
  t.cleanup(() => firefox.close());
  const watchS = Number(process.env.E2E_FIREFOX_S ?? 5);
  const behind = "window.__hlsConfig = { liveSyncDurationCount: 7 };";
  for (const late of ["firefox", "chromium"] as const) {
    // Each round's viewers close at its end, or with the test if it fails.
    const open: { close(): Promise<void> }[] = [];
    let closed = false;
    const closeAll = async (): Promise<void> => { if (!closed) { closed = true; for (const v of open) await v.close(); } };
    t.cleanup(closeAll);
    const ff = await FirefoxViewer.open(firefox, n, `firefox${late === "firefox" ? " (behind)" : ""}`, late === "firefox" ? { init: behind } : {});
    open.push(ff);
    const [cr] = await Promise.all([
      Viewer.open(t.browser, n, env, `chromium${late === "chromium" ? " (behind)" : ""}`, late === "chromium" ? { init: behind } : {}).then((v) => { open.push(v); return v; }),
      ff.playing().catch(async (e) => {
        throw new Fail(`firefox never started playing: ${String(e).split("\n")[0]}; page errors: ${ff.pageErrors.join("; ")}; report: ${JSON.stringify(await ff.report().catch(() => null))?.slice(0, 600)}`);
      }),
    ]);
    await cr!.playing();
    const all = [ff, cr!];
    const lateV = all[late === "firefox" ? 0 : 1]!;
    // Until the late one has played segments from the other (a device
    // under load may shed uploads for a while: its risk mode), then a
    // few seconds more of playback.
    await waitFor(`${lateV.name} to play a segment from the other browser`, 45000, async () => {
      const r = await lateV.report();
      return r.stats.p2pBytes > 0 && Object.entries(r.sources).some(([p, src]) => src === "p2p" && r.hashes[p]);
    }, 500).catch(() => undefined);
    await watch(watchS * 1000);
    const { rs } = await stopAndSettle(n, all);
    figures(t, all, rs);
    all.forEach((v, i) => played(v, rs[i]!, (Date.now() - rs[i]!.playingAt) / 1000));
    for (const [i, r] of rs.entries()) {
      check(r.stats.segmentsRejected === 0, `${all[i]!.name}: ${r.stats.segmentsRejected} segment(s) rejected`);
      check(near(r.stats.httpBytes, r.net.segments), `${all[i]!.name}: getStats() says ${r.stats.httpBytes} HTTP segment bytes, the network ${r.net.segments}`);
    }
    // Each viewer's only viewer peer is the other browser: what the late
    // one got from a viewer, the other uploaded.
    const [f, c] = rs as [PageReport, PageReport];
    const [got, from] = late === "firefox" ? [f, c] : [c, f];
    const [gotName, fromName] = late === "firefox" ? ["firefox", "chromium"] : ["chromium", "firefox"];
    check(got.stats.p2pBytes > 0, `${gotName}: no bytes from the ${fromName} viewer (${fromName}'s risk mode ${from.stats.mode}: ${from.stats.modeReason}; ${gotName}'s aborts ${got.stats.aborts})`);
    check(from.stats.uploadBytes >= got.stats.p2pBytes, `${gotName} got ${got.stats.p2pBytes} bytes from a viewer, ${fromName} uploaded ${from.stats.uploadBytes}`);
    const checked = await peerBytesAreNodeBytes(n, lateV, got);
    check(checked > 0, `${gotName}: no segment from ${fromName} reached the player`);
    t.log(`${fromName} -> ${gotName}: ${mib(got.stats.p2pBytes)}, ${checked} segments, each identical to the node's; ` +
      `${gotName} aborted ${got.stats.aborts} peer loads; ${fromName}'s risk mode ${from.stats.mode} (${from.stats.modeReason})`);
    await closeAll();
  }
});

test("an origin sending Cache-Control: no-cache keeps the offload of a cacheable one, no stall", async (t) => {
  // The same three viewers, first against the demo's own (max-age) headers,
  // then against no-cache on playlists and segments (a live packager's
  // habit): the node stores and revalidates, and P2P must not suffer.
  const watchS = Number(process.env.E2E_CACHE_S ?? 40);
  const offload: number[] = [];
  // One pushed copy per segment in both runs: the super-peer's adaptive
  // push (more copies when a segment spreads slowly) depends on timing,
  // not on the headers, and would move the two figures apart by itself.
  const push = "  push_k: 1\n";
  for (const extra of [push, push + "demo:\n  cache_control: no-cache\n"]) {
    const n = await NodeProc.start(env, extra);
    try {
      const vs = await viewers(t, n, ["viewer-1", "viewer-2", "viewer-3"]);
      await watch(watchS * 1000);
      const { rs } = await stopAndSettle(n, vs);
      figures(t, vs, rs);
      vs.forEach((v, i) => played(v, rs[i]!, watchS));
      for (const v of vs) await v.close();
      const http = sum(rs, (r) => r.stats.httpBytes), p2p = sum(rs, (r) => r.stats.p2pBytes), seed = sum(rs, (r) => r.stats.seedBytes);
      offload.push(p2p / (http + p2p + seed));
      if (extra) {
        const revalidated = await n.metric("edgeswarm_origin_requests_total");
        t.log(`no-cache origin: ${revalidated} origin requests`);
      }
    } finally {
      await n.stop();
    }
  }
  const [cacheable, noCache] = offload as [number, number];
  t.log(`offload: cacheable headers ${(cacheable * 100).toFixed(1)}%, no-cache ${(noCache * 100).toFixed(1)}%`);
  check(noCache > 0, "no bytes went from viewer to viewer with a no-cache origin");
  check(noCache >= cacheable - 0.05, `offload with no-cache ${(noCache * 100).toFixed(1)}% is more than 5 points below the cacheable run's ${(cacheable * 100).toFixed(1)}%`);
});

/** Removes WebRTC from a page before its scripts run. */
const NO_WEBRTC = `for (const k of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel", "RTCSessionDescription", "RTCIceCandidate"]) delete window[k];`;

test("a viewer whose page has no WebRTC plays over HTTP only", async (t) => {
  const n = await node(t);
  const [plain] = await viewers(t, n, ["no-webrtc"], { init: NO_WEBRTC });
  const [other] = await viewers(t, n, ["with-webrtc"]);
  const watchS = 20;
  await watch(watchS * 1000);
  const { rs } = await stopAndSettle(n, [plain!, other!]);
  figures(t, [plain!, other!], rs);
  played(plain!, rs[0]!, watchS);
  played(other!, rs[1]!, watchS);
  const r = rs[0]!, s = r.stats;
  check(!r.supported, "no-webrtc: edgeswarm.supported() is true without RTCPeerConnection");
  check(s.httpBytes > 0 && s.p2pBytes === 0 && s.seedBytes === 0 && s.uploadBytes === 0, "no-webrtc: bytes other than HTTP");
  check(s.peers === 0 && r.connects.length === 0 && !s.connected, "no-webrtc: a peer or tracker connection");
  check(plain!.websockets === 0, `no-webrtc: the page opened ${plain!.websockets} WebSocket(s)`);
  check(r.errors.length === 0, `no-webrtc: error events: ${JSON.stringify(r.errors)}`);
  check(near(s.httpBytes, r.net.segments), `no-webrtc: getStats() says ${s.httpBytes} HTTP bytes, the network ${r.net.segments}`);
  // Without signaling it reports by beacon, and the node took the beacons.
  check(await n.metric("edgeswarm_telemetry_reports_total", { via: "beacon" }) >= 1, "no-webrtc: the node got no beacon");
  check(await n.metric("edgeswarm_telemetry_dropped_total") === 0, "no-webrtc: the node dropped beacons");
  check(await n.metric("edgeswarm_stream_viewers", { group: "http" }) >= 0.5, "no-webrtc: no HTTP-only viewer in the node's figures");
});

/** Makes a page's peer serve wrong bytes: the last byte of every data chunk it sends is flipped. */
const CORRUPT = `(() => {
  const send = RTCDataChannel.prototype.send;
  window.__corrupted = 0;
  RTCDataChannel.prototype.send = function (d) {
    if (d instanceof Uint8Array && d[0] === 5 && d.length > 5) { d = d.slice(); d[d.length - 1] ^= 0xff; window.__corrupted++; }
    return send.call(this, d);
  };
})();`;

test("peers that send wrong bytes are rejected and playback goes on", async (t) => {
  // No pushes, and the honest viewer plays further behind the live edge
  // than the liars (hls.js liveSyncDurationCount 7 against 3): every
  // segment it needs next is one the liars already hold, so it asks them.
  const n = await node(t, "  push_k: 0\n");
  const bad = await viewers(t, n, ["liar-1", "liar-2"], { init: CORRUPT });
  const [good] = await viewers(t, n, ["honest"], { init: "window.__hlsConfig = { liveSyncDurationCount: 7 };" });
  await waitFor("the honest viewer to reject a segment", 40000, async () => (await good!.report()).stats.segmentsRejected > 0, 500)
    .catch(() => undefined);
  await watch(15000); // playback after the rejection
  const { rs } = await stopAndSettle(n, [good!, ...bad]);
  figures(t, [good!, ...bad], rs);
  const r = rs[0]!;
  played(good!, r, (Date.now() - r.playingAt) / 1000);
  const corrupted = await Promise.all(bad.map((v) => v.eval<number>("window.__corrupted")));
  t.log(`chunks corrupted by the liars: ${corrupted.join(", ")}; honest viewer closed: ${JSON.stringify(r.closes)}`);
  check(r.stats.segmentsRejected > 0, "the honest viewer never rejected a segment");
  const liarIds = new Set(rs.slice(1).map((x) => x.stats.peerId));
  check(r.closes.some((c) => c.reason === "digest_mismatch" && liarIds.has(c.id)), "the honest viewer did not drop a liar for a digest mismatch");
  check(await n.metric("edgeswarm_signal_reports_total", { reason: "digest_mismatch" }) > 0, "the node got no digest_mismatch report");
  await peerBytesAreNodeBytes(n, good!, r);
});

/**
 * Makes a page's peer hostile on the DataChannel: right after its hello it
 * sends a push flood (a second push while the first is open) and a
 * truncated data frame, on every connection it opens.
 */
const HOSTILE = `(() => {
  const send = RTCDataChannel.prototype.send;
  window.__hostile = 0;
  const push = (id) => { const b = new Uint8Array(13); b[0] = 0x0a; new DataView(b.buffer).setUint32(1, id); b[12] = 1; return b; };
  RTCDataChannel.prototype.send = function (d) {
    const r = send.call(this, d);
    if (d instanceof Uint8Array && d[0] === 1 && d.length === 4) {
      for (let i = 0; i < 64; i++) send.call(this, push(0x80000000 + i));
      send.call(this, new Uint8Array([4, 0, 0, 0, 1]));
      window.__hostile++;
    }
    return r;
  };
})();`;

test("peers that send malformed frames and push floods are dropped and playback goes on", async (t) => {
  const n = await node(t, "  push_k: 0\n");
  const bad = await viewers(t, n, ["hostile-1", "hostile-2"], { init: HOSTILE });
  const [good] = await viewers(t, n, ["honest"], { init: "window.__hlsConfig = { liveSyncDurationCount: 7 };" });
  const liars = new Set((await Promise.all(bad.map((v) => v.report()))).map((r) => r.stats.peerId));
  await waitFor("the honest viewer to drop a hostile peer", 40000, async () =>
    (await good!.report()).closes.some((c) => c.reason.startsWith("protocol_error") && liars.has(c.id)), 500).catch(() => undefined);
  await watch(15000); // playback after the drops
  const { rs } = await stopAndSettle(n, [good!, ...bad]);
  figures(t, [good!, ...bad], rs);
  const r = rs[0]!;
  played(good!, r, (Date.now() - r.playingAt) / 1000);
  const sent = await Promise.all(bad.map((v) => v.eval<number>("window.__hostile")));
  t.log(`hostile connections opened: ${sent.join(", ")}; honest viewer closed: ${JSON.stringify(r.closes)}`);
  check(r.closes.some((c) => c.reason.startsWith("protocol_error") && liars.has(c.id)), "the honest viewer did not drop a hostile peer for a protocol error");
  check(r.stats.httpBytes > 0, "the honest viewer got nothing over HTTP");
  check(await n.metric("edgeswarm_signal_reports_total", { reason: "protocol_error" }) > 0, "the node got no protocol_error report");
  check(await n.metric("edgeswarm_seeder_peers_dropped_total", { reason: "protocol_error" }) > 0, "the super-peer did not drop a hostile peer");
});

/** Keeps every WebSocket the page opens in window.__sockets. */
const KEEP_SOCKETS = `(() => {
  const W = window.WebSocket;
  const all = window.__sockets = [];
  window.WebSocket = class extends W { constructor(...a) { super(...a); all.push(this); } };
})();`;

test("killing the signaling connection mid-play causes no stall; the viewer rejoins", async (t) => {
  const n = await node(t);
  const [a, b] = await viewers(t, n, ["killed", "other"], { init: KEEP_SOCKETS });
  const before = await waitFor("the viewer to be in the swarm with a peer", 30000, async () => {
    const r = await a!.report();
    return r.stats.connected && r.stats.peers > 0 ? r : undefined;
  }, 250);
  await watch(5000);
  const closed = await a!.eval<number>("window.__sockets.filter((s) => s.readyState === 1).map((s) => s.close()).length");
  check(closed === 1, `${closed} open signaling connections were closed`);
  const killedAt = Date.now();
  const after = await waitFor("the viewer to rejoin the swarm", 30000, async () => {
    const r = await a!.report();
    return r.stats.connected && r.stats.peerId !== before.stats.peerId && r.stats.peers > 0 ? r : undefined;
  }, 250);
  t.log(`rejoined as ${after.stats.peerId} (was ${before.stats.peerId}) after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
  await watch(10000);
  const { rs } = await stopAndSettle(n, [a!, b!]);
  figures(t, [a!, b!], rs);
  const watched = (Date.now() - rs[0]!.playingAt) / 1000;
  played(a!, rs[0]!, watched);
  played(b!, rs[1]!, watched);
  const total = (r: PageReport): number => r.stats.httpBytes + r.stats.p2pBytes + r.stats.seedBytes;
  check(total(rs[0]!) > total(after), "no segment arrived after the rejoin");
  check(await n.metric("edgeswarm_signal_disconnects_total") > 0, "the node saw no signaling disconnect");
});

test("the node restarts (SIGTERM) mid-play: viewers play on, rejoin the restarted node and get segments from it", async (t) => {
  const n = await NodeProc.start(env);
  let up = true;
  t.cleanup(async () => { if (up) await n.stop(); });
  const vs = await viewers(t, n, ["a", "b"]);
  const before = await waitFor("both viewers in the swarm", 30000, async () => {
    const rs = await Promise.all(vs.map((v) => v.report()));
    return rs.every((r) => r.stats.connected && r.stats.peers > 0) ? rs : undefined;
  }, 250);
  await watch(3000);
  // SIGTERM: the node drains (in-flight responses finish, every viewer is
  // sent going_away) and exits; a new one takes its address.
  await n.stop();
  up = false;
  const n2 = await NodeProc.start(env, "", ["--listen", new URL(n.base).host]);
  t.cleanup(() => n2.stop());
  const after = await waitFor("both viewers to rejoin the restarted node", 45000, async () => {
    const rs = await Promise.all(vs.map((v) => v.report()));
    return rs.every((r, i) => r.stats.connected && r.stats.peerId !== before[i]!.stats.peerId) ? rs : undefined;
  }, 250);
  await watch(10000);
  const { rs } = await stopAndSettle(n2, vs);
  figures(t, vs, rs);
  const total = (r: PageReport): number => r.stats.httpBytes + r.stats.p2pBytes + r.stats.seedBytes;
  rs.forEach((r, i) => {
    played(vs[i]!, r, (Date.now() - r.playingAt) / 1000);
    check(total(r) > total(after[i]!), `${vs[i]!.name}: no segment arrived after the rejoin`);
  });
  check(await n2.metric("edgeswarm_signal_joins_total") >= 2, "the restarted node saw fewer joins than viewers");
  check(await n2.metric("edgeswarm_bytes_sent_total", { path: "http" }) > 0, "the restarted node served nothing over HTTP");
});

/** GET an analytics API path with the token. */
async function adminGet<T>(admin: string, token: string, path: string): Promise<T> {
  const r = await fetch(admin + path, { headers: { Authorization: "Bearer " + token } });
  if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

interface APISummary { stream: string; viewers: number; peer_efficiency: number; offload: number; offload_limit: number; egress_saved_bytes: number }
interface APIOverview { time: number; node: APISummary; streams: APISummary[] }

test("the dashboard on the admin port plots the viewers' reports and shows the API's figures", async (t) => {
  const token = "e2e-dashboard-token-0123";
  const n = await node(t, `admin_token: ${token}\nanalytics:\n  interval: 1s\n  push_interval: 500ms\n`);
  const admin = n.metricsURL.replace(/\/metrics$/, "");
  const vs = await viewers(t, n, ["dash-a", "dash-b"]);
  // One report a second from each: a complete 10 s point counts both.
  await waitFor("the API to count both viewers and bytes from peers", 60000, async () => {
    const o = await adminGet<APIOverview>(admin, token, "/api/v1/streams?window=5m");
    return o.node.viewers >= 1.5 && o.node.peer_efficiency > 0 && o.streams.some((s) => s.stream === "/live/master.m3u8") ? o : undefined;
  }, 500);

  const ctx = await t.browser.newContext();
  t.cleanup(() => ctx.close());
  const page = await ctx.newPage();
  const elsewhere: string[] = [];
  page.on("request", (r) => { if (!r.url().startsWith(admin + "/")) elsewhere.push(r.url()); });
  await page.goto(admin + "/");
  // Without a token the page asks for one.
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.fill("#token", token);
  await page.click("#login button");
  await page.waitForFunction(() => {
    const d = (window as unknown as { edgeswarmDashboard?: { updates: number; plots: { [k: string]: { data: (number | null)[][] } } } }).edgeswarmDashboard;
    const eff = d?.plots.efficiency?.data, by = d?.plots.bytes?.data;
    return !!d && d.updates >= 2 && !!eff && eff[0]!.length > 0 && eff[1]!.some((v) => (v ?? 0) > 0) && !!by && by.slice(1).some((s) => s.some((v) => (v ?? 0) > 0));
  }, undefined, { timeout: 30000 });
  const shown = await page.evaluate(() => {
    const d = (window as unknown as { edgeswarmDashboard: { event: { overview: { time: number } } } }).edgeswarmDashboard;
    const val = (sel: string): number => Number(document.querySelector<HTMLElement>(sel)?.dataset.value);
    const rows = [...document.querySelectorAll<HTMLTableRowElement>("#streams tbody tr")].map((tr) => ({
      stream: tr.dataset.stream!, viewers: Number(tr.querySelector<HTMLElement>('[data-fig="viewers"]')!.dataset.value),
      offload: Number(tr.querySelector<HTMLElement>('[data-fig="offload"]')!.dataset.value),
    }));
    const qoe = [...document.querySelectorAll<HTMLTableRowElement>("#qoe tbody tr")].map((tr) => ({
      group: tr.dataset.group!, reports: Number(tr.querySelector<HTMLElement>('[data-fig="reports"]')!.dataset.value),
    }));
    return { time: d.event.overview.time, viewers: val('[data-fig="node.viewers"]'), efficiency: val('[data-fig="node.peer_efficiency"]'),
      offload: val('[data-fig="node.offload"]'), limit: val('[data-fig="node.offload_limit"]'), saved: val('[data-fig="node.egress_saved_bytes"]'),
      rows, qoe, text: document.querySelector('[data-fig="node.peer_efficiency"]')!.textContent };
  });
  const o = await adminGet<APIOverview & { node: { groups: { [g: string]: { reports: number } } } }>(admin, token, `/api/v1/streams?window=5m&at=${shown.time}`);
  t.log(`dashboard at ${shown.time}: ${shown.viewers} viewers, peer efficiency ${shown.text}, ${shown.rows.length} stream rows`);
  check(shown.viewers === o.node.viewers && shown.viewers > 0, `viewers: dashboard ${shown.viewers}, API ${o.node.viewers}`);
  check(shown.efficiency === o.node.peer_efficiency && shown.efficiency > 0, `peer efficiency: dashboard ${shown.efficiency}, API ${o.node.peer_efficiency}`);
  check(shown.offload === o.node.offload, `offload: dashboard ${shown.offload}, API ${o.node.offload}`);
  check(shown.limit === o.node.offload_limit, `offload limit: dashboard ${shown.limit}, API ${o.node.offload_limit}`);
  check(shown.saved === o.node.egress_saved_bytes, `egress saved: dashboard ${shown.saved}, API ${o.node.egress_saved_bytes}`);
  for (const s of o.streams) {
    const row = shown.rows.find((r) => r.stream === s.stream);
    check(!!row && row.viewers === s.viewers && row.offload === s.offload, `stream ${s.stream}: dashboard ${JSON.stringify(row)}, API viewers ${s.viewers} offload ${s.offload}`);
  }
  const p2p = shown.qoe.find((q) => q.group === "p2p");
  check(!!p2p && p2p.reports === o.node.groups.p2p!.reports && p2p.reports > 0, `P2P sample size: dashboard ${p2p?.reports}, API ${o.node.groups.p2p!.reports}`);
  check(elsewhere.length === 0, `the dashboard loaded from elsewhere: ${elsewhere.join(", ")}`);
  for (const v of vs) check(v.pageErrors.length === 0, `${v.name}: page errors ${v.pageErrors.join("; ")}`);
});
natTests(test, node, check, env);

/** The node's control API (admin port, bearer token). */
const ADMIN_TOKEN = "e2e-admin-token-0123456789";
async function adminAPI(n: NodeProc, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(n.metricsURL.replace(/\/metrics$/, "") + path, {
    method, headers: { Authorization: "Bearer " + ADMIN_TOKEN, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

test("P2P switched off for the stream through the control API: viewers stop P2P within 5 s with no stall; back on, P2P resumes", async (t) => {
  const n = await node(t, `admin: {token: ${ADMIN_TOKEN}}\n`);
  const vs = await viewers(t, n, ["viewer-1", "viewer-2", "viewer-3"]);
  const p2p = async (): Promise<number[]> => (await Promise.all(vs.map((v) => v.report()))).map((r) => r.stats.p2pBytes);
  const total = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  await waitFor("viewers to exchange segments", 60000, async () => total(await p2p()) > 0, 250);
  // Open viewer-to-viewer connections of a page: connects minus closes, by id.
  const viewerPeers = async (v: Viewer): Promise<number> => {
    const r = await v.report();
    let open = 0;
    for (const c of r.connects) if (!c.seeder) open++;
    for (const c of r.closes) if (r.connects.some((x) => x.id === c.id && !x.seeder)) open--;
    return open;
  };
  const off = await adminAPI(n, "PUT", "/api/v1/policies/live-p2p-off", { prefix: "/live/", p2p: false });
  check(off.status === 201, `PUT policy: ${off.status} ${JSON.stringify(off.json)}`);
  const offAt = Date.now();
  await waitFor("every viewer to close its viewer connections", 5000, async () =>
    (await Promise.all(vs.map(viewerPeers))).every((x) => x <= 0), 100).catch(async (e) => {
    throw new Fail(`${String(e)}; open viewer connections: ${(await Promise.all(vs.map(viewerPeers))).join(", ")}`);
  });
  t.log(`P2P off: viewer connections closed ${((Date.now() - offAt) / 1000).toFixed(1)} s after the API call`);
  const frozen = await p2p();
  await watch(15000);
  const still = await p2p();
  check(total(still) === total(frozen), `P2P went on with P2P off: ${mib(total(frozen))} then ${mib(total(still))}`);
  const peers = await adminAPI(n, "GET", "/api/v1/peers?swarm=" + encodeURIComponent((await vs[0]!.report()).stats.swarm ?? ""));
  check(peers.status === 200, `GET peers: ${peers.status} ${JSON.stringify(peers.json)}`);
  const on = await adminAPI(n, "DELETE", "/api/v1/policies/live-p2p-off");
  check(on.status === 204, `DELETE policy: ${on.status}`);
  const onAt = Date.now();
  await waitFor("P2P to resume", 60000, async () => total(await p2p()) > total(still), 250).catch(async (e) => {
    const rs = await Promise.all(vs.map((v) => v.report()));
    throw new Fail(`${String(e)}; ` + rs.map((r, i) => `${vs[i]!.name}: peers ${r.stats.peers}, mode ${(r.stats as { mode?: string }).mode}, ` +
      `connects ${JSON.stringify(r.connects.slice(-4))}, closes ${JSON.stringify(r.closes.slice(-4))}, errors ${JSON.stringify(r.errors.slice(-3))}`).join("; "));
  });
  t.log(`P2P back on: viewer bytes flow again ${((Date.now() - onAt) / 1000).toFixed(1)} s after the API call`);
  await watch(5000);
  const { rs } = await stopAndSettle(n, vs);
  figures(t, vs, rs);
  rs.forEach((r, i) => played(vs[i]!, r, (Date.now() - r.playingAt) / 1000));
  check(rs.every((r) => r.stats.segmentsRejected === 0), "segments rejected from honest peers");
  check(rs.some((r) => r.closes.some((c) => c.reason === "policy")), "no connection was closed by the policy");
});

test("an emulated mobile viewer (Chromium device emulation) uploads 0 bytes by default and still downloads from peers", async (t) => {
  const n = await node(t, `admin: {token: ${ADMIN_TOKEN}}\n`);
  const desk = await viewers(t, n, ["desktop-1", "desktop-2"]);
  const [mob] = await viewers(t, n, ["mobile"], { context: { ...devices["Pixel 7"] } });
  const ua = await mob!.eval<string>("navigator.userAgent");
  check(/Android/.test(ua), `the emulated device's user agent: ${ua}`);
  await waitFor("the mobile viewer to receive segments from peers", 90000, async () => (await mob!.report()).stats.p2pBytes > 0, 250);
  await watch(10000);
  const swarm = (await mob!.report()).stats.swarm ?? "";
  const peers = await adminAPI(n, "GET", "/api/v1/peers?swarm=" + encodeURIComponent(swarm));
  const list = (peers.json as { peers: { id: string; platform: string; upload: boolean }[] }).peers;
  const myID = (await mob!.report()).stats.peerId;
  const me = list.find((p) => p.id === myID);
  check(me?.platform === "mobile" && me.upload === false, `the node sees the mobile viewer as ${JSON.stringify(me)}`);
  const all = [...desk, mob!];
  const { rs } = await stopAndSettle(n, all);
  figures(t, all, rs);
  rs.forEach((r, i) => played(all[i]!, r, (Date.now() - r.playingAt) / 1000));
  const m = rs[2]!.stats;
  check(m.uploadBytes === 0, `the mobile viewer uploaded ${m.uploadBytes} bytes`);
  check(m.p2pBytes > 0, "the mobile viewer got nothing from peers");
  check(await peerBytesAreNodeBytes(n, mob!, rs[2]!) > 0, "no peer segment reached the mobile viewer's player");
});

/**
 * A mobile viewer (Chromium device emulation) made to upload by how, in a
 * node started with yaml: no pushes, and a desktop viewer playing further
 * behind the live edge than the mobile one, so that every segment it needs
 * next the mobile one holds and is its only viewer peer. The node's API
 * must see the mobile viewer as uploading, and the desktop viewer must play
 * segments the mobile one uploaded, with the node's bytes.
 */
async function mobileUploads(t: T, how: string, yaml: string, init: string): Promise<void> {
  const n = await node(t, `  push_k: 0\nadmin: {token: ${ADMIN_TOKEN}}\n${yaml}`);
  const [[mob], [desk]] = await Promise.all([
    viewers(t, n, ["mobile"], { context: { ...devices["Pixel 7"] }, init }),
    viewers(t, n, ["desktop (behind)"], { init: "window.__hlsConfig = { liveSyncDurationCount: 7 };" }),
  ]);
  await waitFor(`the desktop viewer to play a segment from the mobile one (${how})`, 60000, async () => {
    const r = await desk!.report();
    return r.stats.p2pBytes > 0 && Object.entries(r.sources).some(([p, src]) => src === "p2p" && r.hashes[p]);
  }, 500).catch(() => undefined);
  const swarm = (await mob!.report()).stats.swarm ?? "";
  const peers = await adminAPI(n, "GET", "/api/v1/peers?swarm=" + encodeURIComponent(swarm));
  const myID = (await mob!.report()).stats.peerId;
  const me = (peers.json as { peers: { id: string; platform: string; upload: boolean }[] }).peers.find((p) => p.id === myID);
  const all = [mob!, desk!];
  const { rs } = await stopAndSettle(n, all);
  figures(t, all, rs);
  rs.forEach((r, i) => played(all[i]!, r, (Date.now() - r.playingAt) / 1000));
  const [m, d] = rs as [PageReport, PageReport];
  check(me?.platform === "mobile" && me.upload === true, `${how}: the node sees the mobile viewer as ${JSON.stringify(me)}`);
  check(d.stats.p2pBytes > 0, `${how}: the desktop viewer got nothing from the mobile one (mobile's risk mode ${m.stats.mode}: ${m.stats.modeReason})`);
  check(m.stats.uploadBytes >= d.stats.p2pBytes, `${how}: the desktop viewer got ${d.stats.p2pBytes} bytes from a viewer, the mobile one uploaded ${m.stats.uploadBytes}`);
  check(d.stats.segmentsRejected === 0, `${how}: ${d.stats.segmentsRejected} segment(s) rejected`);
  const checked = await peerBytesAreNodeBytes(n, desk!, d);
  check(checked > 0, `${how}: no segment from the mobile viewer reached the desktop's player`);
  t.log(`${how}: mobile -> desktop ${mib(d.stats.p2pBytes)}, ${checked} segments, each identical to the node's`);
}

test("a node policy (upload.mobile) makes an emulated mobile viewer upload: a desktop viewer behind it gets its segments", (t) =>
  mobileUploads(t, "the node's policy upload.mobile", "policies:\n  - {name: mobile-up, prefix: /live/, upload: {mobile: true}}\n", ""));

test("the page's option upload: true makes an emulated mobile viewer upload: a desktop viewer behind it gets its segments", (t) =>
  mobileUploads(t, "the page's option upload: true", "", "window.__esOptions = { upload: true };"));

/**
 * Records the page's signaling and peer events with their times in
 * window.__timeline: peers offered, relays sent and received (kind, the other
 * peer, session), errors, connections made and closed. What a failing
 * cross-node test prints, to tell a lost relay from a slow or refused one.
 */
const TIMELINE = `(() => {
  const W = window.WebSocket;
  const tl = window.__timeline = [];
  const t0 = Date.now();
  const note = (dir, m) => {
    if (m.type === "relay") tl.push([Date.now() - t0, dir, m.kind, m.to || m.from, m.session]);
    else if (m.type === "peers") tl.push([Date.now() - t0, dir, "peers", m.peers.map((p) => p.id).join(",")]);
    else if (m.type === "welcome" || m.type === "error" || m.type === "peer_left") tl.push([Date.now() - t0, dir, m.type, m.peer_id || m.id || m.code || ""]);
  };
  window.WebSocket = class extends W {
    constructor(...a) {
      super(...a);
      this.addEventListener("message", (e) => { try { note("in", JSON.parse(e.data)); } catch {} });
    }
    send(d) { try { note("out", JSON.parse(d)); } catch {} return super.send(d); }
  };
  const hook = () => {
    if (!window.edgeswarm) return setTimeout(hook, 10);
    window.edgeswarm.on("peer-connect", (e) => tl.push([Date.now() - t0, "peer", "connect", e.id]));
    window.edgeswarm.on("peer-close", (e) => tl.push([Date.now() - t0, "peer", "close " + e.reason, e.id]));
    window.edgeswarm.on("segment", (e) => { if (!window.__firstSeg) { window.__firstSeg = 1; tl.push([Date.now() - t0, "player", "first segment " + e.source, ""]); } });
  };
  hook();
})();`;

test("two nodes, one swarm: a viewer on one node gets segments from a viewer on the other, no stall", async (t) => {
  // Node a serves the demo origin and runs the super-peer; node b uses a
  // as its origin, has no super-peer, and joins a's embedded NATS server:
  // what b's viewer gets over WebRTC can only come from a's viewer.
  const secret = "signal:\n  ticket_secret: an-e2e-secret-shared-by-both-nodes\n";
  const a = await node(t, secret + "cluster:\n  name: a\n  nats:\n    listen: 127.0.0.1:0\n");
  const bus = await waitFor("a's embedded NATS address in its log", 20000, () => /nats=(nats:\/\/127\.0\.0\.1:\d+)/.exec(a.stderr())?.[1]);
  const b = await NodeProc.start(env, secret + `cluster:\n  name: b\n  nats:\n    url: ${bus}\n`, ["--origin", a.base, "--super-peer", "false"]);
  t.cleanup(() => b.stop());
  await waitFor("both nodes to see each other", 20000, async () => await a.metric("edgeswarm_cluster_nodes") === 2 && await b.metric("edgeswarm_cluster_nodes") === 2);
  const [va] = await viewers(t, a, ["viewer-on-a"], { init: TIMELINE });
  const [vb] = await viewers(t, b, ["viewer-on-b"], { init: TIMELINE });
  const watchS = 40;
  await watch(watchS * 1000);
  const ra = await va!.report(), rb = await vb!.report();
  if (process.env.E2E_DEBUG === "1" || !rb.connects.some((c) => c.id === ra.stats.peerId)) {
    for (const v of [va!, vb!]) t.log(`${v.name} timeline (ms since its page opened): ${JSON.stringify(await v.eval("window.__timeline"))}`);
  }
  await Promise.all([va!.stop(), vb!.stop()]);
  figures(t, [va!, vb!], [ra, rb]);
  t.log(`swarms: a ${ra.stats.swarm}, b ${rb.stats.swarm}; b knows ${await b.metric("edgeswarm_cluster_remote_peers")} remote peer(s), a ${await a.metric("edgeswarm_cluster_remote_peers")}`);
  played(va!, ra, watchS);
  played(vb!, rb, watchS);
  check(rb.connects.some((c) => c.id === ra.stats.peerId), `viewer-on-b never connected to viewer-on-a (${ra.stats.peerId}): ${JSON.stringify(rb.connects)}`);
  check(rb.stats.p2pBytes > 0 && rb.stats.seedBytes === 0, `viewer-on-b: p2p ${rb.stats.p2pBytes}, seed ${rb.stats.seedBytes}; want segments from viewer-on-a only`);
  check(rb.stats.segmentsRejected === 0, `viewer-on-b: ${rb.stats.segmentsRejected} segment(s) rejected`);
  check(await b.metric("edgeswarm_cluster_bus_sent_total", { kind: "relay" }) > 0, "b sent no relay over the bus");
  const checked = await peerBytesAreNodeBytes(b, vb!, rb);
  check(checked > 0, "viewer-on-b: no segment from viewer-on-a reached its player");
  t.log(`viewer-on-b: ${mib(rb.stats.p2pBytes)} from viewer-on-a across the bus, ${checked} segments identical to the node's`);
});

test("a node killed mid-stream: its viewer rejoins the other node within 3 s, no stall", async (t) => {
  // The demo origin runs alone, behind both nodes. The viewer plays over
  // HTTP from node b (the operator's load balancer, which keeps serving)
  // and signals to node a; a is killed (SIGKILL, no goodbye) and the
  // viewer must rejoin its swarm on b, listed in a's welcome.
  const origin = spawn(env.node, ["demo-origin", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  t.cleanup(async () => { origin.kill("SIGKILL"); });
  let out = "";
  origin.stdout!.on("data", (b: Buffer) => { out += b.toString(); });
  const originURL = await waitFor("the demo origin's address", 20000, () => /demo origin: (http:\/\/\S+)\/live\/master\.m3u8/.exec(out)?.[1]);
  const secret = "signal:\n  ticket_secret: an-e2e-secret-shared-by-both-nodes\n";
  const a = await NodeProc.start(env, secret + "cluster:\n  name: a\n  nats:\n    listen: 127.0.0.1:0\n", ["--origin", originURL]);
  t.cleanup(() => a.stop());
  const bus = await waitFor("a's embedded NATS address in its log", 20000, () => /nats=(nats:\/\/127\.0\.0\.1:\d+)/.exec(a.stderr())?.[1]);
  const b = await NodeProc.start(env, secret + `cluster:\n  name: b\n  nats:\n    url: ${bus}\n`, ["--origin", originURL]);
  t.cleanup(() => b.stop());
  await waitFor("both nodes to see each other", 20000, async () => await a.metric("edgeswarm_cluster_nodes") === 2 && await b.metric("edgeswarm_cluster_nodes") === 2);
  const [v] = await viewers(t, b, ["viewer"], { init: `window.__esOptions = { node: ${JSON.stringify(a.base)} };` });
  const before = await waitFor("the viewer joined on a", 20000, async () => {
    const r = await v!.report();
    return r.stats.connected && r.stats.peerId && await a.metric("edgeswarm_signal_joins_total") >= 1 ? r : undefined;
  }, 100);
  await watch(5000);
  const killed = Date.now();
  a.proc.kill("SIGKILL");
  const after = await waitFor("the viewer to rejoin on b", 10000, async () => {
    const r = await v!.report();
    return r.stats.connected && r.stats.peerId !== before.stats.peerId ? r : undefined;
  }, 50);
  const rejoinMs = Date.now() - killed;
  t.log(`rejoined on b ${rejoinMs} ms after a was killed (peer ${before.stats.peerId} -> ${after.stats.peerId})`);
  check(rejoinMs <= 3000, `the viewer rejoined ${rejoinMs} ms after its node died, want within 3 s`);
  check(await b.metric("edgeswarm_signal_joins_total") >= 1, "b saw no join");
  await watch(10000);
  const r = await v!.report();
  await v!.stop();
  figures(t, [v!], [r]);
  played(v!, r, (Date.now() - r.playingAt) / 1000);
});

async function main(): Promise<number> {
  const started = Date.now();
  const browser = await launchChromium(env);
  let passed = 0, failed = 0;
  const only = process.env.E2E_ONLY;
  const known: string[] = [];
  for (const tc of tests) {
    if (only && !tc.name.includes(only)) continue;
    if (tc.known && process.env.E2E_KNOWN !== "1") {
      known.push(tc.name);
      console.log(`--- ${tc.name}\nnot run: known failure (${tc.known}); E2E_KNOWN=1 runs it`);
      continue;
    }
    const cleanups: (() => Promise<void>)[] = [];
    const t: T = { browser, log: (s) => console.log("    " + s), cleanup: (f) => cleanups.push(f) };
    const t0 = Date.now();
    console.log(`--- ${tc.name}`);
    try {
      await tc.run(t);
      passed++;
      console.log(`ok   ${tc.name} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${tc.name} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n    ${e instanceof Fail ? e.message : (e as Error)?.stack ?? String(e)}`);
    }
    for (const f of cleanups.reverse()) await f().catch((e) => console.log(`    cleanup: ${String(e)}`));
  }
  await browser.close();
  console.log(`e2e suite took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`${passed} passed, ${failed} failed` + (known.length ? `, ${known.length} known failure(s) not run` : ""));
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => { console.log(String(e?.stack ?? e)); console.log("0 passed, 1 failed"); process.exit(1); });
