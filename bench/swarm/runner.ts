// The swarm benchmark's runner: for every latency setting, viewer count and
// scenario it starts a fresh node, opens N viewers in headless Chromium
// (each in its own browser context, joining staggered), lets them watch,
// and writes what each viewer got and noticed, with the node's own
// counters, to the raw results file. `go run ./bench swarm` builds this
// file and runs it inside a network namespace that has only loopback;
// it also turns the raw file into the report.
//
// `go run ./bench soak` runs it with `attach` set: one case, its viewers
// watching the soak's own node (started by the soak, never by the runner)
// until the runner's stdin ends, with no churn; the raw file then holds
// that one case, without the node's CPU time and counters (the soak
// samples the node itself).

import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Browser, BrowserContext, chromium, Page } from "playwright-core";
import { CHROMIUM_FLAGS, Env, launchChromium, NodeProc, sumMetric } from "../../client/e2e/harness";
import type { BenchConfig, ConnResult, DiagResult, PageResult } from "./page";

type Scenario = "http" | "p2p" | "super" | "p2pml";

/** What the Go command passes (a JSON file named by the first argument). */
interface RunConfig {
  node: string;
  chromium: string;
  /** The bundled page script. */
  pageJS: string;
  /** The p2p-media-loader browser bundle and the tracker module, when p2pml runs. */
  p2pmlJS?: string;
  trackerModule?: string;
  /** Where the raw results go. */
  out: string;
  viewers: number[];
  scenarios: Scenario[];
  latencies: number[];
  mode: "virtual" | "video";
  watchS: number;
  staggerMs: number;
  /** Every churnS seconds of watching, the longest-watching viewer leaves and a new one joins (0: never). */
  churnS: number;
  /** The stream's master playlist: a path on the node. */
  stream: string;
  rendition: string;
  /** Flags for the node (e.g. --origin). */
  nodeArgs: string[];
  /** Echoed into the raw file. */
  settings: Record<string, unknown>;
  /** The bench binary, whose hidden busy command is the competing process. */
  bench: string;
  /** Cores the competing process burns during each case (0: none). */
  busyCores: number;
  /**
   * The soak: the first of viewers, scenarios and latencies, played on the
   * node at base (already running) until stdin ends or SIGTERM, with a
   * progress line every progressS seconds.
   */
  attach?: { base: string; progressS: number };
  /** --net: the emulated internet the Go command built; viewer i plays in home i (modulo their number). */
  net?: RunNet;
}

/** The emulated internet (bench/swarmnet.go runNet). */
interface RunNet {
  profile: string;
  /** Per home: Chromium started in the home's namespace, its NAT, its link kind and public address. */
  homes: { chromium: string; nat: string; kind: string; public: string; mobile: boolean }[];
  /** YAML appended to the node's config (the TURN relay with --turn). */
  nodeYAML?: string;
  /** overload: the runner caps the egress of wanDev (the node's uplink) at overload x N x the rendition's bitrate. */
  wanDev?: string;
  overload?: number;
}

interface ViewerResult {
  name: string; join_ms: number; startup_ms: number | null; since_start_s: number; played_s: number; stalls: number; stall_ms: number;
  latency_s: number | null; bytes: { http: number; p2p: number; seed: number; relay?: number }; upload_bytes: number;
  p2p_failures: number; rejected: number; peers: number;
  /** What was played: segments, their bytes and EXTINF seconds. */
  segments: number; segment_bytes: number; media_s: number;
  /** Video mode: decoded and dropped frames, picture size. */
  frames?: { total: number; dropped: number; width: number; height: number };
  errors: string[];
  /** --net: the viewer's home (index), its NAT and link kind, and its peer connections. */
  home?: number; nat?: string; kind?: string; public?: string; conns?: ConnResult[];
  /** edgeswarm viewers: where the segments came from and why (page.ts DiagResult). */
  diag?: DiagResult;
  /** Virtual player: the last 64 segments, [seq, asked ms, arrived ms, buffer ahead s when asked]. */
  log?: [number, number, number, number][];
}

interface CaseResult {
  scenario: Scenario; latency: number; mode: string; n: number; watch_s: number; wall_s: number;
  node: { cpu_s: number; http_bytes: number; http_all_bytes: number; seed_bytes: number; origin_requests: number; relay_bytes?: number };
  /** How busy the machine's CPUs were (%, all CPUs together): while viewers joined, and over the case. */
  host?: { join_busy_pct: number; busy_pct: number; load1?: number };
  /** The competing process: the cores asked for and the CPU seconds it used over the case. */
  busy?: { cores: number; cpu_s: number };
  viewers: ViewerResult[]; errors: string[];
  /** --net: the profile and the node's uplink cap in this case (0: none). */
  net?: { profile: string; wan_rate_bps: number };
}

const cfg: RunConfig = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as RunConfig;
const env: Env = { node: cfg.node, chromium: cfg.chromium, modules: "" };
const tty = process.stderr.isTTY;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (n: number): string => (n / 1048576).toFixed(1);

/** User+system CPU seconds of a process (Linux /proc; 0 elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat (utime, stime), counted from the state (field 3), in clock ticks of 1/100 s.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Busy and total CPU time of the machine so far (Linux /proc/stat; undefined elsewhere). */
function hostTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    const total = f.slice(0, 8).reduce((a, v) => a + v, 0);
    return { busy: total - f[3]! - f[4]!, total };
  } catch {
    return undefined;
  }
}

/** The machine's 1-minute load average at the end of a case: how oversubscribed a host at 100 % busy was (Linux /proc/loadavg). */
function loadAvg(): { load1?: number } {
  try {
    const v = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
    return Number.isFinite(v) && v >= 0 ? { load1: v } : {};
  } catch {
    return {};
  }
}

function busyPct(a: { busy: number; total: number } | undefined, b: { busy: number; total: number } | undefined): number | undefined {
  return a && b && b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : undefined;
}

let progressShown = false;
function progress(s: string): void {
  if (tty) {
    process.stderr.write("\r\x1b[K" + s);
    progressShown = true;
  } else {
    process.stderr.write(s + "\n");
  }
}
function log(s: string): void {
  if (progressShown) { process.stderr.write("\n"); progressShown = false; }
  process.stderr.write(s + "\n");
}

class BenchViewer {
  readonly errors: string[] = [];
  result?: PageResult;
  conns?: ConnResult[];
  /** --net: the viewer's home, and the browser started in it, which close() stops. */
  home?: number;
  own?: Browser;
  private constructor(readonly name: string, readonly joinMs: number, readonly ctx: BrowserContext, readonly page: Page) {}

  static async open(browser: Browser, node: { readonly base: string }, name: string, joinMs: number, pc: BenchConfig, scripts: string[], inline: string[]): Promise<BenchViewer> {
    const ctx = await browser.newContext();
    try {
      // Without a default route Chromium offers WebRTC no interface unless
      // the page may use media devices; granted, never used.
      await ctx.grantPermissions(["camera", "microphone"], { origin: node.base });
      const page = await ctx.newPage();
      const v = new BenchViewer(name, joinMs, ctx, page);
      page.on("pageerror", (e) => v.errors.push("pageerror: " + String(e).slice(0, 300)));
      page.on("crash", () => v.errors.push("page crashed"));
      // A document of the node's origin (its 404 page), so that the page
      // may open WebSockets and fetch from the node (Local Network Access).
      await page.goto(`${node.base}/bench/viewer`);
      const tags = scripts.map((s) => `<script src="${s}"></script>`).join("\n");
      await page.setContent(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${name}</title></head><body>
<script>window.__bench = ${JSON.stringify(pc)};</script>
${tags}
</body></html>`);
      for (const js of inline) await page.addScriptTag({ content: js });
      return v;
    } catch (e) {
      await ctx.close().catch(() => undefined);
      throw e;
    }
  }

  async report(): Promise<PageResult | undefined> {
    try {
      this.result = await this.page.evaluate(() => (window as unknown as { benchReport(): PageResult }).benchReport());
      if (this.home !== undefined) {
        this.conns = await this.page.evaluate(() => (window as unknown as { benchConns?(): Promise<ConnResult[]> }).benchConns?.() ?? Promise.resolve([]));
      }
    } catch (e) {
      this.errors.push("report: " + String(e).split("\n")[0]);
    }
    return this.result;
  }

  toResult(): ViewerResult {
    const r = this.result;
    return {
      name: this.name, join_ms: Math.round(this.joinMs), startup_ms: r?.startupMs ?? null, since_start_s: r?.sinceStartS ?? 0,
      played_s: r?.playedS ?? 0, stalls: r?.stalls ?? 0, stall_ms: r?.stallMs ?? 0, latency_s: r?.latencyS ?? null,
      bytes: r?.bytes ?? { http: 0, p2p: 0, seed: 0 }, upload_bytes: r?.upload ?? 0, p2p_failures: r?.failures ?? 0,
      rejected: r?.rejected ?? 0, peers: r?.peers ?? 0,
      segments: r?.segments ?? 0, segment_bytes: r?.segmentBytes ?? 0, media_s: r?.mediaS ?? 0,
      ...(r?.frames ? { frames: r.frames } : {}),
      ...(r?.diag ? { diag: r.diag } : {}),
      ...(r?.log ? { log: r.log } : {}),
      errors: [...(r?.errors ?? []), ...this.errors].slice(0, 20),
      ...(this.home !== undefined && cfg.net ? {
        home: this.home, nat: cfg.net.homes[this.home]?.nat, kind: cfg.net.homes[this.home]?.kind,
        public: cfg.net.homes[this.home]?.public, conns: this.conns ?? [],
      } : {}),
    };
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as { benchStop?(): void }).benchStop?.()).catch(() => undefined);
    await this.ctx.close().catch(() => undefined);
    await this.own?.close().catch(() => undefined);
  }
}

/** The bitrate of the rendition viewers play: its AVERAGE-BANDWIDTH, else its BANDWIDTH, from the master playlist. */
async function renditionBitrate(base: string): Promise<number> {
  const text = await (await fetch(base + cfg.stream)).text();
  const lines = text.split("\n").map((l) => l.trim());
  for (let i = 0; i < lines.length - 1; i++) {
    const l = lines[i]!;
    if (!l.startsWith("#EXT-X-STREAM-INF:") || !lines[i + 1]!.includes(cfg.rendition)) continue;
    const avg = /AVERAGE-BANDWIDTH=(\d+)/.exec(l), peak = /[:,]BANDWIDTH=(\d+)/.exec(l);
    const v = Number((avg ?? peak)?.[1] ?? 0);
    if (v > 0) return v;
  }
  throw new Error(`no variant of ${cfg.stream} matches ${cfg.rendition} with a bandwidth`);
}

/** Caps the egress of dev with tc tbf at rate bit/s (0: removes the cap). */
function capEgress(dev: string, rate: number): void {
  if (rate <= 0) {
    spawnSync("tc", ["qdisc", "del", "dev", dev, "root"]);
    return;
  }
  const burst = Math.max(Math.round(rate / 8 / 200), 2 * 1514);
  const r = spawnSync("tc", ["qdisc", "replace", "dev", dev, "root", "tbf", "rate", `${Math.round(rate)}bit`, "burst", String(burst), "latency", "100ms"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tc on ${dev}: ${r.stderr || r.error}`);
}

interface Tracker { url: string; close(): Promise<void> }

/**
 * The competing process of --busy: the bench's hidden busy command, for one
 * case. It also exits when its stdin closes, should this runner die.
 */
class Busy {
  private readonly cpu0: number;
  private constructor(readonly cores: number, private readonly proc: ChildProcess) {
    this.cpu0 = cpuSeconds(proc.pid);
  }

  static start(cores: number): Busy {
    const proc = spawn(cfg.bench, ["busy", "--cores", String(cores), "--exit-on-eof"], { stdio: ["pipe", "ignore", "inherit"] });
    proc.on("error", (e) => log("busy process: " + String(e)));
    return new Busy(cores, proc);
  }

  /** CPU seconds used since the start. */
  cpu(): number { return Math.max(0, cpuSeconds(this.proc.pid) - this.cpu0); }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(t);
  }
}

/** Resolves once the soak asks the runner to stop: its stdin ended, or SIGTERM/SIGINT. */
function stopRequested(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on("end", () => resolve());
    process.stdin.on("close", () => resolve());
    process.stdin.on("error", () => resolve());
    process.stdin.resume();
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
}

/**
 * One case: a fresh node with n viewers watching for cfg.watchS, or, with
 * attached, n viewers of that node watching until stop resolves.
 */
async function runCase(scenario: Scenario, latency: number, n: number, label: string, attached?: { base: string; stop: Promise<void> }): Promise<CaseResult> {
  const errors: string[] = [];
  const yaml = (scenario === "p2p" ? "super_peer: false\n" : "") + (cfg.net?.nodeYAML ?? "");
  const node = attached ? undefined : await NodeProc.start(env, yaml, cfg.nodeArgs);
  const target = attached ?? node!;
  let stopped = false;
  void attached?.stop.then(() => { stopped = true; });
  let tracker: Tracker | undefined;
  let browser: Browser | undefined;
  let busy: Busy | undefined;
  let capped: string | undefined;
  let netInfo: CaseResult["net"];
  const all: BenchViewer[] = [];
  const done: ViewerResult[] = [];
  try {
    const scripts: string[] = [];
    const inline: string[] = [];
    let script: BenchConfig["scenario"] = "http";
    if (scenario === "p2p" || scenario === "super") {
      script = "edgeswarm";
      if (cfg.mode === "video") scripts.push("/vendor/hls.light.min.js");
      scripts.push("/edgeswarm.js");
    } else if (scenario === "p2pml") {
      script = "p2pml";
      if (!cfg.p2pmlJS || !cfg.trackerModule) throw new Error("p2pml: no bundle or tracker module given");
      const m = (await import(cfg.trackerModule)) as { startTracker(): Promise<Tracker> };
      tracker = await m.startTracker();
      inline.push(readFileSync(cfg.p2pmlJS, "utf8"));
    } else if (cfg.mode === "video") {
      scripts.push("/vendor/hls.light.min.js");
    }
    inline.push(readFileSync(cfg.pageJS, "utf8"));
    const pc: BenchConfig = { scenario: script, mode: cfg.mode, master: cfg.stream, rendition: cfg.rendition, liveSync: latency, trackers: tracker ? [tracker.url] : [] };
    const net = cfg.net;
    if (net) pc.net = true;
    let wanRate = 0;
    if (net?.overload && net.wanDev) {
      wanRate = net.overload * n * (await renditionBitrate(target.base));
      capEgress(net.wanDev, wanRate);
      capped = net.wanDev;
      log(`${label}: the node's uplink capped at ${(wanRate / 1e6).toFixed(2)} Mbit/s`);
    }
    netInfo = net ? { profile: net.profile, wan_rate_bps: Math.round(wanRate) } : undefined;

    // One Chromium per home with --net (started in the home's namespace), else one for all viewers.
    if (!net) browser = await launchChromium(env);
    const b = browser;
    // The competing process runs from the first join to the end of the case.
    if (cfg.busyCores > 0) busy = Busy.start(cfg.busyCores);
    const cpu0 = node ? cpuSeconds(node.proc.pid) : 0;
    const host0 = hostTimes();
    const t0 = Date.now();
    let joined = 0, seq = 0;
    const open = async (at: number): Promise<void> => {
      const name = `v${++seq}`;
      let own: Browser | undefined;
      try {
        if (net) {
          const home = (seq - 1) % net.homes.length;
          // The node's wan address is not loopback: only this flag makes its
          // pages a secure context (WebCrypto for digests, permissions).
          own = await chromium.launch({
            executablePath: net.homes[home]!.chromium, headless: true, timeout: 60000,
            args: [...CHROMIUM_FLAGS, `--unsafely-treat-insecure-origin-as-secure=${target.base}`],
          });
          const v = await BenchViewer.open(own, target, name, at, { ...pc, mobile: net.homes[home]!.mobile }, scripts, inline);
          v.home = home;
          v.own = own;
          all.push(v);
        } else {
          all.push(await BenchViewer.open(b!, target, name, at, pc, scripts, inline));
        }
        joined++;
      } catch (e) {
        await own?.close().catch(() => undefined);
        errors.push(`${name} did not open: ${String(e).split("\n")[0]}`);
      }
    };
    // Staggered joins, each at its own offset from the first.
    const joins: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const at = i * cfg.staggerMs;
      const wait = t0 + at - Date.now();
      if (wait > 0) await sleep(wait);
      joins.push(open(Date.now() - t0));
    }
    await Promise.all(joins);
    const hostJoined = hostTimes();
    const watchStart = Date.now();
    const watchEnd = attached ? Infinity : Date.now() + cfg.watchS * 1000;
    let nextChurn = cfg.churnS > 0 && !attached ? Date.now() + cfg.churnS * 1000 : Infinity;
    const every = cfg.attach ? cfg.attach.progressS * 1000 : tty ? 5000 : 15000;
    let lastLine = attached ? Date.now() : 0;
    while (!stopped && Date.now() < watchEnd) {
      await sleep(Math.min(1000, Math.max(0, watchEnd - Date.now())));
      if (stopped) break;
      if (Date.now() >= nextChurn && all.length > 0) {
        nextChurn += cfg.churnS * 1000;
        const leaving = all.shift()!;
        await leaving.report();
        await leaving.close();
        done.push(leaving.toResult());
        joined--;
        await open(Date.now() - t0);
      }
      if (Date.now() - lastLine >= every) {
        lastLine = Date.now();
        const rs = (await Promise.all(all.map((v) => v.report()))).filter((r): r is PageResult => !!r);
        const sum = (f: (r: PageResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
        const http = sum((r) => r.bytes.http), p2p = sum((r) => r.bytes.p2p), seed = sum((r) => r.bytes.seed);
        const left = attached ? `${Math.round((Date.now() - watchStart) / 1000)} s in` : `${Math.max(0, Math.round((watchEnd - Date.now()) / 1000))} s left`;
        progress(`${label}: ${joined}/${n} watching, ${left} | http ${mib(http)} MiB, p2p ${mib(p2p)} MiB, seed ${mib(seed)} MiB, offload ${(http + p2p + seed > 0 ? (100 * p2p) / (http + p2p + seed) : 0).toFixed(1)} %, stalls ${sum((r) => r.stalls)}`);
      }
    }
    await Promise.all(all.map((v) => v.report()));
    if (process.env.BENCH_DEBUG) {
      // Each viewer's first segments: seq asked@ms arrived@ms (buffer ahead s).
      for (const v of all) {
        const r = v.result;
        log(`${v.name} startup ${Math.round(r?.startupMs ?? -1)} ms, stalls ${r?.stalls} (${Math.round(r?.stallMs ?? 0)} ms): ` + (r?.log ?? []).slice(0, 14).map(([s, a, b, ahead]) => `${s % 1000}:${a}-${b}(${ahead})`).join(" "));
      }
    }
    const wall = (Date.now() - t0) / 1000;
    const cpu = node ? cpuSeconds(node.proc.pid) - cpu0 : 0;
    const busyCPU = busy?.cpu() ?? 0;
    const joinBusy = busyPct(host0, hostJoined), hostBusy = busyPct(host0, hostTimes());
    const metrics = node ? await (await fetch(node.metricsURL)).text() : "";
    const results = [...done, ...all.map((v) => v.toResult())];
    return {
      scenario, latency, mode: cfg.mode, n, watch_s: attached ? (Date.now() - watchStart) / 1000 : cfg.watchS, wall_s: wall,
      node: {
        cpu_s: cpu,
        http_bytes: results.reduce((a, v) => a + v.bytes.http, 0),
        http_all_bytes: sumMetric(metrics, "edgeswarm_bytes_sent_total", { path: "http" }),
        seed_bytes: sumMetric(metrics, "edgeswarm_seeder_sent_bytes_total", {}),
        origin_requests: sumMetric(metrics, "edgeswarm_origin_requests_total", {}),
        relay_bytes: sumMetric(metrics, "edgeswarm_turn_relayed_bytes_total", {}),
      },
      ...(joinBusy !== undefined && hostBusy !== undefined ? { host: { join_busy_pct: joinBusy, busy_pct: hostBusy, ...loadAvg() } } : {}),
      ...(busy ? { busy: { cores: busy.cores, cpu_s: busyCPU } } : {}),
      viewers: results, errors,
      ...(netInfo ? { net: netInfo } : {}),
    };
  } finally {
    if (capped) capEgress(capped, 0);
    await busy?.stop();
    await Promise.all(all.map((v) => v.close()));
    await browser?.close().catch(() => undefined);
    await tracker?.close().catch(() => undefined);
    await node?.stop();
  }
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const cases: CaseResult[] = [];
  const total = cfg.latencies.length * cfg.viewers.length * cfg.scenarios.length;
  let i = 0;
  let chromiumVersion = "";
  const write = (): void => writeFileSync(cfg.out, JSON.stringify({
    started, settings: cfg.settings, host: { cpus: availableParallelism(), chromium: chromiumVersion, node: "edgeswarm" }, cases,
  }, null, 1));
  try {
    const b = await launchChromium(env);
    chromiumVersion = "Chromium " + b.version();
    await b.close();
  } catch (e) {
    throw new Error("Chromium does not start: " + String(e).split("\n")[0]);
  }
  if (cfg.attach) {
    const [scenario, latency, n] = [cfg.scenarios[0], cfg.latencies[0], cfg.viewers[0]];
    if (!scenario || !latency || !n) throw new Error("attach: want one scenario, latency and viewer count");
    const label = `soak: ${n} browser viewer(s), ${scenario}`;
    const c = await runCase(scenario, latency, n, label, { base: cfg.attach.base, stop: stopRequested() });
    cases.push(c);
    log(`${label}: ${c.viewers.reduce((a, v) => a + v.stalls, 0)} stalls over ${Math.round(c.watch_s)} s` + (c.errors.length ? `, ${c.errors.length} error(s): ${c.errors[0]}` : ""));
    write();
    return;
  }
  // Scenarios of one latency and N run back to back, so that they are
  // compared under the same conditions of the machine.
  for (const latency of cfg.latencies) {
    for (const n of cfg.viewers) {
      for (const scenario of cfg.scenarios) {
        i++;
        const label = `[${i}/${total}] liveSync ${latency}, N=${n}, ${scenario}`;
        progress(`${label}: starting`);
        try {
          const c = await runCase(scenario, latency, n, label);
          cases.push(c);
          const all = c.viewers.reduce((a, v) => a + v.bytes.http + v.bytes.p2p + v.bytes.seed, 0);
          const p2p = c.viewers.reduce((a, v) => a + v.bytes.p2p, 0);
          log(`${label}: offload ${(all > 0 ? (100 * p2p) / all : 0).toFixed(1)} % (limit ${(100 * (1 - 1 / n)).toFixed(0)} %), stalls ${c.viewers.reduce((a, v) => a + v.stalls, 0)}, node egress ${mib(c.node.http_all_bytes + c.node.seed_bytes)} MiB` + (c.errors.length ? `, ${c.errors.length} error(s): ${c.errors[0]}` : ""));
        } catch (e) {
          log(`${label}: failed: ${String(e).split("\n")[0]}`);
          cases.push({ scenario, latency, mode: cfg.mode, n, watch_s: cfg.watchS, wall_s: 0,
            node: { cpu_s: 0, http_bytes: 0, http_all_bytes: 0, seed_bytes: 0, origin_requests: 0 }, viewers: [], errors: [String(e).split("\n")[0]!] });
        }
        write();
      }
    }
  }
  write();
}

main().then(() => process.exit(0), (e: unknown) => {
  log("swarm runner: " + String(e));
  process.exit(2);
});
