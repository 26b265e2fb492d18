// The NAT suite: viewers in homes of an emulated internet (internal/netem,
// started around this process by netemrun inside a private network
// namespace), each Chromium in its home's namespace behind a cone or a
// symmetric NAT, the node on the wan with its built-in STUN (and TURN
// relay when a test turns it on). run.sh runs it after the main suite.
//
// Every test asserts what decides whether viewers share: the candidate
// types of the selected pair (getStats() of the page's peer connections),
// segments received from the other viewer, and playback without a stall.

import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Browser, chromium } from "playwright-core";
import { CHROMIUM_FLAGS, Env, mib, NodeProc, PageReport, Viewer, waitFor, watch } from "./harness";

interface Home { netns: string; nat: string; addr: string; public: string }

const env: Env = { node: must("E2E_NODE"), chromium: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium", modules: must("E2E_MODULES") };
const wan = must("NETEM_WAN");
const homes = JSON.parse(must("NETEM_HOMES")) as Home[];

function must(k: string): string {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run client/e2e/run.sh)`);
  return v;
}

class Fail extends Error {}
function check(ok: boolean, msg: string): void { if (!ok) throw new Fail(msg); }

interface T { log: (s: string) => void; cleanup: (f: () => Promise<void>) => void }

/** The selected pair of one peer connection, and whom it was with. */
interface Pair { state: string; local?: string; remote?: string; remoteAddrs: string[] }

// Runs in the page before its scripts: keeps every RTCPeerConnection the
// client makes and the addresses of the remote candidates it is given.
const recordPCs = `(() => {
  const Orig = window.RTCPeerConnection;
  const pcs = window.__pcs = [];
  const W = function (c) {
    const pc = new Orig(c);
    const rec = { pc, remoteAddrs: [], connected: false };
    pcs.push(rec);
    const note = (line) => { const f = String(line || "").trim().split(" "); if (f.length > 7 && !rec.remoteAddrs.includes(f[4])) rec.remoteAddrs.push(f[4]); };
    const add = pc.addIceCandidate.bind(pc);
    pc.addIceCandidate = (c) => { note(c && c.candidate); return add(c); };
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (d) => { for (const l of String(d && d.sdp || "").split("\\n")) if (l.startsWith("a=candidate:")) note(l.slice(2)); return setRemote(d); };
    pc.addEventListener("connectionstatechange", () => { if (pc.connectionState === "connected") rec.connected = true; });
    return pc;
  };
  W.prototype = Orig.prototype;
  window.RTCPeerConnection = W;
})();`;

/** What getStats() says of every peer connection of the page that is still open. */
const pairsJS = `Promise.all(window.__pcs.map(async (r) => {
  const out = { state: r.connected ? "connected" : r.pc.connectionState, remoteAddrs: r.remoteAddrs };
  if (r.pc.connectionState !== "connected") return out;
  const st = await r.pc.getStats();
  const by = new Map(); let id;
  st.forEach((v) => { by.set(v.id, v); if (v.type === "transport" && v.selectedCandidatePairId) id = v.selectedCandidatePairId; });
  const p = id && by.get(id);
  if (p) { out.local = by.get(p.localCandidateId)?.candidateType; out.remote = by.get(p.remoteCandidateId)?.candidateType; }
  return out;
}))`;

/**
 * Starts the node on the wan, with its super-peer, its STUN server
 * (viewers learn their mappings from it; on a port of its own, apart from
 * the super-peer's ICE port) and the TURN relay when asked, which then
 * answers STUN on that port. The super-peer pushes each segment to one of two viewers, so the
 * other has reason to fetch from it.
 */
async function node(t: T, turn: boolean): Promise<NodeProc> {
  // With the relay, the production layout: the relay is the STUN server,
  // on one port (turn.listen is seeder.stun_listen; a fixed port is free
  // in this private namespace).
  const stunAt = turn ? `${wan}:3479` : `${wan}:0`;
  const yaml = turn ? `turn:\n  enabled: true\n  listen: "${stunAt}"\n  allow_private_peers: true\n` : "";
  const n = await NodeProc.start(env, yaml, ["--listen", `${wan}:0`, "--ice-udp", `${wan}:0`, "--stun-listen", stunAt]);
  t.cleanup(() => n.stop());
  return n;
}

/** Opens a viewer in home i: its own Chromium, started in the home's namespace. */
async function viewer(t: T, n: NodeProc, i: number): Promise<Viewer> {
  const h = homes[i];
  if (!h) throw new Fail(`no home ${i}: netemrun made ${homes.length}`);
  const wrapper = join(tmpdir(), `edgeswarm-e2e-chromium-home${i}-${process.pid}`);
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=${h.netns} -- ${env.chromium} "$@"\n`, { mode: 0o755 });
  // The node's wan address is not loopback: the flag makes its pages a
  // secure context (WebCrypto for digests, the permissions the harness grants).
  const browser: Browser = await chromium.launch({
    executablePath: wrapper, headless: true, timeout: 60000,
    args: [...CHROMIUM_FLAGS, `--unsafely-treat-insecure-origin-as-secure=${n.base}`],
  });
  t.cleanup(() => browser.close());
  const v = await Viewer.open(browser, n, env, `home${i} (${h.nat})`, { init: recordPCs });
  t.cleanup(() => v.close());
  return v;
}

/**
 * A viewer's connections to the other viewer: those given the other's
 * router address (its server-reflexive candidate, which a symmetric NAT
 * has too), not the super-peer's on the node's address.
 */
async function pairsWith(v: Viewer, other: Home): Promise<Pair[]> {
  const ps = await v.eval<Pair[]>(pairsJS);
  return ps.filter((p) => p.remoteAddrs.includes(other.public));
}

/** Playback as a user saw it: started, no stall, no player or page error, and time played. */
function played(v: Viewer, r: PageReport, minS: number): void {
  check(r.playingAt > 0, `${v.name}: never played`);
  check(r.waiting === 0 && r.stats.stalls === 0, `${v.name}: ${r.waiting} stall(s)`);
  check(r.fatal.length === 0, `${v.name}: fatal player errors: ${r.fatal.join(", ")}`);
  check(v.pageErrors.length === 0, `${v.name}: page errors: ${v.pageErrors.join("; ")}`);
  check(r.played >= minS, `${v.name}: ${r.played.toFixed(1)} s played, want ${minS}`);
}

/** Bytes a viewer got from the other viewer: p2p, and relay where the client counts relayed bytes apart. */
const fromPeer = (r: PageReport): number => r.stats.p2pBytes + ((r.stats as { relayBytes?: number }).relayBytes ?? 0);

/** Waits until the two viewers got segments from each other (one end's bytes may do: the other may hold the pushes). */
async function shared(a: Viewer, b: Viewer, ms: number): Promise<void> {
  try {
    await waitFor("segments between the two viewers", ms, async () => {
      const [ra, rb] = [await a.report(), await b.report()];
      return fromPeer(ra) + fromPeer(rb) > 0;
    }, 500);
  } catch (e) {
    const [ra, rb] = [await a.report(), await b.report()];
    throw new Fail(`${String(e)}; ${a.name}: peers ${ra.stats.peers}, connects ${JSON.stringify(ra.connects)}, closes ${JSON.stringify(ra.closes)}, ` +
      `pairs ${JSON.stringify(await a.eval<Pair[]>(pairsJS))}, errors ${JSON.stringify(ra.errors)}; ${b.name}: peers ${rb.stats.peers}, pairs ${JSON.stringify(await b.eval<Pair[]>(pairsJS))}`);
  }
}

/**
 * Waits until a viewer's connection to the super-peer is up and checks its
 * selected pair. That works because the node's STUN server is not on the
 * super-peer's ICE address (Chromium would hand the super-peer's ICE
 * answers to its STUN client). The super-peer has host candidates only
 * (its address is the node's); the viewer's end is its NAT mapping, its
 * host base, or a mapping the super-peer's checks found (prflx).
 */
async function reachesSuperPeer(t: T, v: Viewer, relay = false): Promise<void> {
  // The super-peer's connections: given the node's address and no home's
  // (a viewer relayed by the node has the node's address too, beside its
  // router's).
  const toNode = async (): Promise<Pair[]> => (await v.eval<Pair[]>(pairsJS))
    .filter((p) => p.remoteAddrs.includes(wan) && !homes.some((h) => p.remoteAddrs.includes(h.public)));
  try {
    await waitFor(`${v.name}: a connection to the super-peer`, 30000, async () => (await toNode()).some((p) => p.state === "connected"), 500);
  } catch (e) {
    throw new Fail(`${String(e)}: ${JSON.stringify(await toNode())}`);
  }
  const up = (await toNode()).filter((p) => p.state === "connected");
  t.log(`${v.name} to the super-peer: ${JSON.stringify(up.map((p) => [p.state, p.local, p.remote]))}`);
  for (const p of up) {
    const local = p.local === "srflx" || p.local === "prflx" || p.local === "host" || (relay && p.local === "relay");
    check(local && (p.remote === "host" || p.remote === "prflx"),
      `${v.name}: the selected pair to the super-peer is ${p.local}/${p.remote}, want srflx/host (or a host or prflx end${relay ? ", or a relay" : ""})`);
  }
}

const tests: { name: string; run: (t: T) => Promise<void> }[] = [];
const test = (name: string, run: (t: T) => Promise<void>): void => { tests.push({ name, run }); };

/** The indexes of the first two homes behind the given NATs. */
function pick(nat: string): [number, number] {
  const is = homes.map((h, i) => (h.nat === nat ? i : -1)).filter((i) => i >= 0);
  if (is.length < 2) throw new Fail(`netemrun made fewer than two ${nat} homes`);
  return [is[0]!, is[1]!];
}

test("two viewers behind two cone NATs share segments over server-reflexive candidates and reach the super-peer", async (t) => {
  const n = await node(t, false);
  const [i, j] = pick("cone");
  const a = await viewer(t, n, i), b = await viewer(t, n, j);
  await Promise.all([a.playing(), b.playing()]);
  await shared(a, b, 45000);
  for (const [v, other] of [[a, homes[j]!], [b, homes[i]!]] as const) {
    const ps = await pairsWith(v, other);
    t.log(`${v.name}: ${JSON.stringify(ps.map((p) => [p.state, p.local, p.remote]))}`);
    const up = ps.filter((p) => p.state === "connected");
    check(up.length > 0, `${v.name}: no connection to the other viewer's public address ${other.public} connected: ${JSON.stringify(ps)}`);
    for (const p of up) {
      // The local end is the NAT's mapping; the remote one too, or the
      // same mapping learned from the other's checks first (prflx).
      check(p.local === "srflx" && (p.remote === "srflx" || p.remote === "prflx"),
        `${v.name}: the selected pair is ${p.local}/${p.remote}, want srflx/srflx (or srflx/prflx)`);
    }
  }
  for (const v of [a, b]) await reachesSuperPeer(t, v);
  // The super-peer's pushes arrive over those connections as seed bytes.
  await waitFor("seed bytes from the super-peer", 30000, async () => {
    const [ra, rb] = [await a.report(), await b.report()];
    return ra.stats.seedBytes + rb.stats.seedBytes > 0;
  }, 500);
  await watch(6000);
  const [ra, rb] = [await a.report(), await b.report()];
  played(a, ra, 3);
  played(b, rb, 3);
  t.log(`p2p ${mib(ra.stats.p2pBytes)} + ${mib(rb.stats.p2pBytes)}, seed ${mib(ra.stats.seedBytes + rb.stats.seedBytes)}, http ${mib(ra.stats.httpBytes + rb.stats.httpBytes)}`);
});

test("two viewers behind symmetric NATs share segments through the node's TURN relay", async (t) => {
  const n = await node(t, true);
  const [i, j] = pick("symmetric");
  const a = await viewer(t, n, i), b = await viewer(t, n, j);
  await Promise.all([a.playing(), b.playing()]);
  await shared(a, b, 45000);
  const ps = [...await pairsWith(a, homes[j]!), ...await pairsWith(b, homes[i]!)].filter((p) => p.state === "connected");
  t.log(JSON.stringify(ps.map((p) => [p.local, p.remote])));
  check(ps.length > 0 && ps.every((p) => p.local === "relay" || p.remote === "relay"),
    `the viewers' connections to each other do not all go through the relay: ${JSON.stringify(ps.map((p) => [p.local, p.remote]))}`);
  check(await n.metric("edgeswarm_turn_relayed_bytes_total") > 0, "the node's relay counted no relayed bytes");
  // The relay answered the viewers' STUN on the shared port: the
  // super-peer's own STUN server did not run.
  const own = await n.metric("edgeswarm_seeder_stun_requests_total", { result: "answered" });
  check(own === 0, `the super-peer's STUN server answered ${own} requests beside the relay on its port`);
  for (const v of [a, b]) await reachesSuperPeer(t, v, true);
  await watch(6000);
  const [ra, rb] = [await a.report(), await b.report()];
  // Relayed bytes are the node's egress: the client counts them as relay, never as p2p.
  const relay = (r: PageReport): number => (r.stats as { relayBytes?: number }).relayBytes ?? 0;
  check(relay(ra) + relay(rb) > 0 && ra.stats.p2pBytes + rb.stats.p2pBytes === 0,
    `bytes between the viewers: relay ${relay(ra) + relay(rb)}, p2p ${ra.stats.p2pBytes + rb.stats.p2pBytes}; want all of them relay`);
  played(a, ra, 3);
  played(b, rb, 3);
});

test("two viewers behind symmetric NATs without TURN reach the super-peer and play over HTTP with no stall", async (t) => {
  const n = await node(t, false);
  const [i, j] = pick("symmetric");
  const a = await viewer(t, n, i), b = await viewer(t, n, j);
  await Promise.all([a.playing(), b.playing()]);
  // Their connections to the super-peer (whose address is the node's)
  // work: a symmetric NAT's mapping toward the node is what the
  // super-peer sees its checks come from.
  for (const v of [a, b]) await reachesSuperPeer(t, v);
  // Both gave up on each other: every connection attempt between them
  // ended without connecting (ICE fails after its checks time out).
  const between = async (): Promise<Pair[]> => [...await pairsWith(a, homes[j]!), ...await pairsWith(b, homes[i]!)];
  await waitFor("the viewers' connection attempts to each other to fail", 60000, async () => {
    const ps = await between();
    return ps.length > 0 && ps.every((p) => p.state === "failed" || p.state === "closed");
  }, 500);
  await watch(10000);
  const [ra, rb] = [await a.report(), await b.report()];
  check(fromPeer(ra) + fromPeer(rb) === 0, "bytes between two viewers behind symmetric NATs without a relay");
  played(a, ra, 5);
  played(b, rb, 5);
  t.log(`http ${mib(ra.stats.httpBytes)} + ${mib(rb.stats.httpBytes)}`);
});

async function main(): Promise<number> {
  const started = Date.now();
  let passed = 0, failed = 0;
  const only = process.env.E2E_ONLY;
  for (const tc of tests) {
    if (only && !tc.name.includes(only)) continue;
    const cleanups: (() => Promise<void>)[] = [];
    const t: T = { log: (s) => console.log("    " + s), cleanup: (f) => cleanups.push(f) };
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
  console.log(`NAT suite took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  // A filter that selects none of these tests is not a failure here: the main suite has them.
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => { console.log(String(e?.stack ?? e)); console.log("0 passed, 1 failed"); process.exit(1); });
