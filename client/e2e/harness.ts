// The pieces every end-to-end test uses: the node process, Chromium, viewer
// pages, the node's metrics, and waiting on conditions with deadlines.

import { ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Browser, BrowserContext, BrowserContextOptions, chromium, Page } from "playwright-core";
import { viewerHTML } from "./page";

/** Where things are, from the environment run.sh sets. */
export interface Env {
  /** The node binary. */
  node: string;
  /** Chromium. */
  chromium: string;
  /** client/node_modules, for Shaka Player. */
  modules: string;
  /** Firefox (Debian's firefox-esr), for the tests with a Firefox viewer. */
  firefox?: string;
}

/** Polls cond until it returns a value other than undefined/false, or throws after ms. */
export async function waitFor<T>(what: string, ms: number, cond: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v !== undefined && v !== false) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}` + (last ? `: ${String(last)}` : ""));
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Lets playback run for ms: the observation window of a test (not a readiness wait). */
export const watch = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A running node: its public base URL and its metrics URL. */
export class NodeProc {
  private constructor(readonly proc: ChildProcess, readonly base: string, readonly metricsURL: string, private dir: string, readonly stderr: () => string) {}

  /**
   * Starts the node on loopback ports chosen by the kernel, with the demo
   * origin unless args name another; extra is YAML appended to the config,
   * args are further flags.
   */
  static async start(env: Env, extra = "", args: string[] = []): Promise<NodeProc> {
    const dir = mkdtempSync(join(tmpdir(), "edgeswarm-e2e-"));
    const cfg = join(dir, "edgeswarm.yaml");
    writeFileSync(cfg, "seeder:\n  loopback: true\n" + extra);
    const proc = spawn(env.node, ["--config", cfg, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--ice-udp", "127.0.0.1:0", "--stun-listen", "127.0.0.1:0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    proc.stdout!.on("data", (b: Buffer) => { out += b.toString(); });
    proc.stderr!.on("data", (b: Buffer) => { err = (err + b.toString()).slice(-20000); });
    let exited = false;
    proc.on("exit", () => { exited = true; });
    try {
      const [base, metrics] = await waitFor("the node's addresses on its stdout", 20000, () => {
        if (exited) throw new Error("node exited: " + err.slice(-2000));
        // "stream URL/live/master.m3u8" with the demo origin, "serving URL" without.
        const open = /(http:\/\/\S+)\/live\/master\.m3u8/.exec(out) ?? /serving (http:\/\/\S+)\n/.exec(out);
        const m = /metrics (http:\/\/\S+\/metrics)/.exec(out);
        return open && m ? [open[1]!, m[1]!] as const : undefined;
      });
      return new NodeProc(proc, base, metrics, dir, () => err);
    } catch (e) {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The node's metrics: sum of the samples of name whose labels include every given one. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(this.metricsURL)).text();
    return sumMetric(text, name, labels);
  }

  /** SHA-256 (hex) of a path as the node serves it over HTTP. */
  async sha256(path: string): Promise<string> {
    const res = await fetch(this.base + path);
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return createHash("sha256").update(new Uint8Array(await res.arrayBuffer())).digest("hex");
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const gone = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 10000);
      await gone;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Parses the Prometheus text format just enough to sum one metric's samples. */
export function sumMetric(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required",
];

/**
 * Launches Chromium. playwright-core gives every launch a fresh temporary
 * --user-data-dir of its own and removes it on close (it refuses the flag
 * from the caller).
 */
export async function launchChromium(env: Env): Promise<Browser> {
  return chromium.launch({ executablePath: env.chromium, headless: true, args: CHROMIUM_FLAGS, timeout: 60000 });
}

/** What a viewer page reports (window.e2e in page.ts). */
export interface PageReport {
  playingAt: number;
  /** Seconds of media played since the first "playing" event. */
  played: number;
  currentTime: number;
  waiting: number;
  fatal: string[];
  errors: { code: string; message: string }[];
  sources: Record<string, string>;
  hashes: Record<string, string>;
  connects: { id: string; seeder: boolean }[];
  closes: { id: string; reason: string }[];
  /** Risk mode changes, ms after the page started, with the inputs then. */
  modes: { at: number; mode: string; reason: string; risk: Record<string, unknown> }[];
  /** Each "waiting" after playback started: ms after, media seconds played by then, the playhead, the buffered ranges. */
  waits: { at: number; played: number; currentTime: number; buffered: [number, number][] }[];
  seeks: { at: number; currentTime: number }[];
  /** Errors the player reported as recoverable (Shaka viewers only). */
  recovered?: string[];
  /** Shaka's "buffering" events (Shaka viewers only). */
  bufferings?: { at: number; buffering: boolean; currentTime: number; rate: number; paused: boolean; seeking: boolean; readyState: number; buffered: [number, number][] }[];
  stats: Stats;
  supported: boolean;
  /** hls.js: the largest distance to live (s) after the first 10 s of playing; 0 for other players. */
  latency: number;
  /** hls.js: the distance to live at each timeupdate after the first 10 s. */
  latencies: number[];
  /** Body bytes this page received from the node over HTTP, as the browser's network layer saw them. */
  net: { segments: number; all: number; failed: number };
}

/** edgeswarm.getStats(), as the page returns it. */
export interface Stats {
  httpBytes: number; p2pBytes: number; seedBytes: number; uploadBytes: number; peers: number;
  peerEfficiency: number; offload: number; segmentsVerified: number; segmentsRejected: number;
  aborts: number; stalls: number; swarm?: string; peerId?: string; connected: boolean;
  /** The risk mode ("p2p", "cautious", "http-only") and its reason. */
  mode?: string; modeReason?: string;
}

export interface ViewerOptions {
  player?: "hls" | "shaka" | "shaka-dash" | "dashjs" | "videojs" | "clappr";
  /** Script run in the page before any of its own (e.g. to remove WebRTC or patch it). */
  init?: string;
  /** Options of the viewer's browser context (e.g. a playwright device, for mobile emulation). */
  context?: BrowserContextOptions;
}

/** What the suite's checks read of a viewer, in Chromium or Firefox. */
export interface Watched { readonly name: string; readonly pageErrors: string[] }

/** One viewer: a browser context with one page playing the live stream. */
export class Viewer {
  readonly pageErrors: string[] = [];
  private net = { segments: 0, all: 0, failed: 0 };
  /** WebSockets the page opened. */
  websockets = 0;
  private sizes: Promise<void>[] = [];
  private constructor(readonly name: string, readonly ctx: BrowserContext, readonly page: Page) {}

  static async open(browser: Browser, node: NodeProc, env: Env, name: string, o: ViewerOptions = {}): Promise<Viewer> {
    const ctx = await browser.newContext(o.context);
    // Without a default route Chromium offers WebRTC no interface unless the
    // page may use media devices; the permission is granted, never used.
    await ctx.grantPermissions(["camera", "microphone"], { origin: node.base });
    await ctx.route(node.base + "/e2e/shaka-player.js", (route) => route.fulfill({
      contentType: "text/javascript; charset=utf-8",
      body: readFileSync(join(env.modules, "shaka-player/dist/shaka-player.compiled.js")),
    }));
    await ctx.route(node.base + "/e2e/dash.all.min.js", (route) => route.fulfill({
      contentType: "text/javascript; charset=utf-8",
      body: readFileSync(join(env.modules, "dashjs/dist/modern/umd/dash.all.min.js")),
    }));
    await ctx.route(node.base + "/e2e/video.min.js", (route) => route.fulfill({
      contentType: "text/javascript; charset=utf-8",
      body: readFileSync(join(env.modules, "video.js/dist/video.min.js")),
    }));
    await ctx.route(node.base + "/e2e/clappr.min.js", (route) => route.fulfill({
      contentType: "text/javascript; charset=utf-8",
      body: readFileSync(join(env.modules, "@clappr/player/dist/clappr.min.js")),
    }));
    if (o.init) await ctx.addInitScript(o.init);
    const page = await ctx.newPage();
    const v = new Viewer(name, ctx, page);
    page.on("pageerror", (e) => v.pageErrors.push(String(e.stack ?? e).split("\n").slice(0, 8).join(" | ")));
    page.on("websocket", () => { v.websockets++; });
    // Count what the node sent this page: every response body from the
    // node's address (the player scripts are served by the test, not the node).
    ctx.on("requestfinished", (req) => {
      const u = new URL(req.url());
      if (u.origin !== node.base || u.pathname === "/e2e/shaka-player.js" || u.pathname === "/e2e/dash.all.min.js" || u.pathname === "/e2e/video.min.js" || u.pathname === "/e2e/clappr.min.js") return;
      v.sizes.push(req.sizes().then((s) => {
        v.net.all += s.responseBodySize;
        if (/\.(ts|m4s|mp4)$/.test(u.pathname)) v.net.segments += s.responseBodySize;
      }, () => undefined));
    });
    ctx.on("requestfailed", (req) => { if (req.url().startsWith(node.base + "/")) v.net.failed++; });
    // The page must be a document from the node's (loopback) address: a
    // page Chromium got from anywhere else may not open the WebSocket to
    // the node (Local Network Access). So load one of the node's own
    // documents (its 404 page) and write the viewer into it.
    const res = await page.goto(`${node.base}/e2e/viewer`);
    if (!res) throw new Error("no response for the viewer page");
    await page.setContent(viewerHTML(o.player ?? "hls"));
    return v;
  }

  /** Waits until the video plays (its first "playing" event). */
  async playing(ms = 30000): Promise<void> {
    await this.page.waitForFunction(() => (window as unknown as { e2e?: { playingAt: number } }).e2e?.playingAt! > 0, undefined, { timeout: ms, polling: 100 });
  }

  async report(): Promise<PageReport> {
    const r = await this.page.evaluate(() => (window as unknown as { e2eReport(): Omit<PageReport, "net"> }).e2eReport());
    await Promise.all(this.sizes);
    return { ...r, net: { ...this.net } };
  }

  async eval<T>(js: string): Promise<T> { return this.page.evaluate(js) as Promise<T>; }

  /** Stops loading (no more requests to the node) and pauses. */
  async stop(): Promise<void> { await this.page.evaluate(() => (window as unknown as { e2eStop(): Promise<void> }).e2eStop()); }

  async close(): Promise<void> { await this.ctx.close(); }
}

/** Formats bytes as MiB with two decimals. */
export const mib = (n: number): string => (n / 1048576).toFixed(2) + " MiB";
