// NAT traversal in real Chromium, on loopback: the node's built-in STUN
// answers Chromium's gathering requests, two peer connections that may use
// relay candidates only pair through the node's TURN relay with the
// credentials of a welcome, and the client's getStats() reading (usesRelay)
// tells the relayed pair from a direct one.

import type { Browser } from "playwright-core";
import { usesRelay } from "../src/core/path";
import type { Env, NodeProc } from "./harness";

interface T { browser: Browser; log: (s: string) => void; cleanup: (f: () => Promise<void>) => void }

/** What the page saw. */
interface NatReport {
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  stunErrors: string[];
  relayedA: boolean | undefined;
  relayedB: boolean | undefined;
  direct: boolean | undefined;
  received: number;
  localTypes: string[];
}

const PAYLOAD = 60000;

/**
 * Registers the NAT tests. start runs a node with extra YAML; check throws
 * the suite's failure.
 */
export function natTests(
  test: (name: string, run: (t: T) => Promise<void>) => void,
  start: (t: T, yaml: string) => Promise<NodeProc>,
  check: (ok: boolean, msg: string) => void,
  _env: Env,
): void {
  test("Chromium: the node's STUN answers its gathering, TURN relays a relay-only pair, getStats() tells relayed from direct", async (t) => {
    const n = await start(t, "turn:\n  enabled: true\n  listen: \"127.0.0.1:0\"\n  allow_private_peers: true\n");
    const ctx = await t.browser.newContext();
    t.cleanup(() => ctx.close());
    // Without a default route Chromium offers WebRTC no interface unless
    // the page may use media devices; the permission is granted, never used.
    await ctx.grantPermissions(["camera", "microphone"], { origin: n.base });
    const page = await ctx.newPage();
    page.on("console", (m) => { if (m.text().startsWith("nat: ")) t.log(m.text()); });
    // A document from the node's loopback address (its 404 page), so that
    // the page may reach the node (Local Network Access).
    await page.goto(`${n.base}/e2e/nat`);
    const r = await page.evaluate(natPage, { base: n.base, usesRelaySrc: usesRelay.toString(), payload: PAYLOAD });
    t.log(`welcome ice_servers: ${r.iceServers.map((s) => s.urls.join(" ") + (s.username ? " (minted " + s.username + ")" : "")).join(", ")}`);
    t.log(`relay-only pair: local candidate types ${r.localTypes.join(",")}, relayed ${r.relayedA}/${r.relayedB}; direct pair relayed ${r.direct}`);
    check(r.iceServers.length === 2 && r.iceServers[0]!.urls[0]!.startsWith("stun:127.0.0.1:") &&
      r.iceServers[1]!.urls[0]!.startsWith("turn:127.0.0.1:") && !!r.iceServers[1]!.credential, `welcome ice_servers ${JSON.stringify(r.iceServers)}`);
    check(r.stunErrors.length === 0, `Chromium's STUN or TURN gathering failed: ${r.stunErrors.join("; ")}`);
    const answered = await n.metric("edgeswarm_seeder_stun_requests_total", { result: "answered" });
    check(answered >= 1, `the node answered ${answered} STUN Binding requests from Chromium`);
    check(r.received === PAYLOAD, `the relay-only pair carried ${r.received} of ${PAYLOAD} bytes`);
    check(r.localTypes.length > 0 && r.localTypes.every((x) => x === "relay"), `relay-only pair used local candidates ${r.localTypes.join(",")}`);
    check(r.relayedA === true && r.relayedB === true, `usesRelay on the relayed pair: ${r.relayedA}, ${r.relayedB}`);
    check(r.direct === false, `usesRelay on a direct loopback pair: ${r.direct}`);
    const relayed = await n.metric("edgeswarm_turn_relayed_bytes_total");
    check(relayed >= 2 * PAYLOAD, `the node counted ${relayed} relayed bytes for a ${PAYLOAD}-byte message`);
    t.log(`node: ${answered} STUN answers, ${relayed} bytes relayed`);
  });
}

/** Runs in the page: joins a swarm for a welcome, then builds the pairs. */
async function natPage(a: { base: string; usesRelaySrc: string; payload: number }): Promise<NatReport> {
  const step = (s: string): void => console.log("nat: " + s);
  const uses = new Function("return " + a.usesRelaySrc)() as (r: RTCStatsReport) => boolean | undefined;
  const pl = await fetch(a.base + "/live/low/index.m3u8");
  const swarm = pl.headers.get("Edgeswarm-Swarm"), ticket = pl.headers.get("Edgeswarm-Ticket");
  const ws = new WebSocket(a.base.replace(/^http/, "ws") + "/swarm");
  const welcome = await new Promise<{ config: { ice_servers?: NatReport["iceServers"] } }>((res, rej) => {
    ws.onopen = () => ws.send(JSON.stringify({ v: 1, type: "join", swarm, ticket }));
    ws.onmessage = (e) => { const m = JSON.parse(String(e.data)); if (m.type === "welcome") res(m); else if (m.type === "error") rej(new Error(m.message)); };
    ws.onerror = () => rej(new Error("signaling WebSocket failed"));
  });
  const ice = welcome.config.ice_servers ?? [];
  step("welcome " + JSON.stringify(ice));
  const gathered = (pc: RTCPeerConnection): Promise<void> => new Promise((res) => {
    if (pc.iceGatheringState === "complete") return res();
    pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") res(); });
  });
  // A pair connected without trickle: each side's full description.
  const pair = async (cfg: RTCConfiguration): Promise<{ a: RTCPeerConnection; b: RTCPeerConnection; received: number; errors: string[] }> => {
    const pa = new RTCPeerConnection(cfg), pb = new RTCPeerConnection(cfg);
    const errors: string[] = [];
    for (const pc of [pa, pb]) pc.addEventListener("icecandidateerror", (e) => { const x = e as RTCPeerConnectionIceErrorEvent; errors.push(`${x.url}: ${x.errorCode} ${x.errorText}`); });
    const dc = pa.createDataChannel("nat");
    const opened = new Promise<void>((res) => { dc.onopen = () => res(); });
    const got = new Promise<number>((res) => {
      pb.ondatachannel = (e) => { e.channel.binaryType = "arraybuffer"; e.channel.onmessage = (m) => res((m.data as ArrayBuffer).byteLength); };
    });
    await pa.setLocalDescription(await pa.createOffer());
    await gathered(pa);
    await pb.setRemoteDescription(pa.localDescription!);
    await pb.setLocalDescription(await pb.createAnswer());
    await gathered(pb);
    await pa.setRemoteDescription(pb.localDescription!);
    await new Promise<void>((res, rej) => {
      void opened.then(res);
      // A bound on a failure, not a readiness wait: on loopback the pair
      // connects in well under a second.
      setTimeout(() => rej(new Error(`no connection (${pa.iceConnectionState}/${pb.iceConnectionState}); offer: ${pa.localDescription?.sdp.split("\n").filter((l) => l.startsWith("a=candidate")).join(" | ")}; errors: ${errors.join("; ")}`)), 30000);
    });
    dc.send(new Uint8Array(a.payload));
    return { a: pa, b: pb, received: await got, errors };
  };
  // Gathering with the node's STUN only: Chromium's Binding requests.
  const g = new RTCPeerConnection({ iceServers: ice.filter((x) => x.urls.every((u) => u.startsWith("stun:"))) });
  const stunErrors: string[] = [];
  g.addEventListener("icecandidateerror", (e) => { const x = e as RTCPeerConnectionIceErrorEvent; stunErrors.push(`${x.url}: ${x.errorCode} ${x.errorText}`); });
  g.createDataChannel("gather");
  await g.setLocalDescription(await g.createOffer());
  await gathered(g);
  step("gathered with STUN: " + g.localDescription?.sdp.split("\n").filter((l) => l.startsWith("a=candidate")).join(" | "));
  g.close();
  const relay = await pair({ iceServers: ice, iceTransportPolicy: "relay" });
  step("relay pair connected");
  const statsA = await relay.a.getStats(), statsB = await relay.b.getStats();
  const localTypes: string[] = [];
  statsA.forEach((s: { type: string; candidateType?: string; id: string }) => {
    if (s.type === "local-candidate" && s.candidateType) localTypes.push(s.candidateType);
  });
  const direct = await pair({ iceServers: [] });
  const report: NatReport = {
    iceServers: ice, stunErrors: [...stunErrors, ...relay.errors],
    relayedA: uses(statsA), relayedB: uses(statsB), direct: uses(await direct.a.getStats()),
    received: relay.received, localTypes,
  };
  for (const pc of [relay.a, relay.b, direct.a, direct.b]) pc.close();
  ws.close();
  return report;
}
