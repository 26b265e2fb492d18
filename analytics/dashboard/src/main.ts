// The node's dashboard: reads the analytics API with the admin token (kept
// in sessionStorage) and follows /api/v1/events over a streamed fetch, since
// EventSource cannot send an Authorization header. Shapes: docs/analytics.md.

import uPlot from "../vendor/uPlot.esm.js";

interface Bytes { http: number; p2p: number; seed: number; relay: number; upload: number }
interface Group {
  viewers: number; reports: number; startups: number; startup_p50_ms: number; startup_p95_ms: number;
  stalls: number; stall_ms: number; watch_ms: number; rebuffer_ratio: number;
}
interface Groups { p2p: Group; holdback: Group; http: Group }
interface Summary {
  stream: string; viewers: number; renditions: number; bytes: Bytes; total_bytes: Bytes;
  peer_efficiency: number; offload: number; offload_limit: number; egress_saved_bytes: number; groups: Groups;
}
interface Overview {
  time: number; interval_ms: number; window_s: number; node: Summary; streams: Summary[];
  browsers: { browser: string; major: number; viewers: number }[];
  platforms: { [k: string]: number };
}
interface Point {
  t: number; viewers: number; renditions: number; bytes: Bytes;
  peer_efficiency: number; offload: number; offload_limit: number; groups: Groups;
}
interface Series { stream: string; resolution_s: number; points: Point[] }
interface Swarm {
  swarm: string; stream: string; viewers: number; peers: number; bitrate: number; live_ms: number;
  bytes: Bytes; peer_efficiency: number; offload: number; offload_limit: number;
}
interface StreamDetail { time: number; summary: Summary; swarms: Swarm[] }
interface Event { overview: Overview; node: Series }

const TOKEN_KEY = "edgeswarm.admin_token";
const API = "/api/v1";
const WINDOW = "5m";
const SOURCES: (keyof Bytes)[] = ["http", "p2p", "seed", "relay"];
const GROUPS: (keyof Groups)[] = ["p2p", "holdback", "http"];

class Unauthorized extends Error {}

/** What the end-to-end test reads: the last event and the plots' data. */
interface DashboardState {
  event?: Event; detail?: StreamDetail; selected: string; plots: { [name: string]: uPlot };
  points: Map<number, Point>; updates: number;
}
const state: DashboardState = { selected: "node", plots: {}, points: new Map(), updates: 0 };
(window as unknown as { edgeswarmDashboard: DashboardState }).edgeswarmDashboard = state;

const $ = <T extends HTMLElement>(sel: string): T => {
  const e = document.querySelector<T>(sel);
  if (!e) throw new Error("missing element " + sel);
  return e;
};

function token(): string { return sessionStorage.getItem(TOKEN_KEY) ?? ""; }

async function api<T>(path: string): Promise<T> {
  const h: HeadersInit = token() ? { Authorization: "Bearer " + token() } : {};
  const r = await fetch(API + path, { headers: h, cache: "no-store" });
  if (r.status === 401) throw new Unauthorized();
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
  return (await r.json()) as T;
}

// Formatting. Every figure element also carries its raw value in data-value.
const pct = (v: number): string => (v * 100).toFixed(1) + " %";
function bytes(v: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : String(v)) + " " + u[i];
}
const num = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const ms = (v: number): string => Math.round(v) + " ms";
const FORMATS: { [k: string]: (v: number) => string } = { pct, bytes, num, ms };

function figure(el: HTMLElement, v: number, fmt = "num"): void {
  el.dataset.value = String(v);
  el.textContent = (FORMATS[fmt] ?? num)(v);
}

function cell(tr: HTMLTableRowElement, v: number | string, fmt = "num", name = ""): void {
  const td = tr.insertCell();
  if (typeof v === "string") td.textContent = v;
  else figure(td, v, fmt);
  if (name) td.dataset.fig = name;
}

function lookup(o: unknown, path: string): number | undefined {
  let v: unknown = o;
  for (const k of path.split(".")) v = v && typeof v === "object" ? (v as { [k: string]: unknown })[k] : undefined;
  return typeof v === "number" ? v : undefined;
}

function rows(sel: string): HTMLTableSectionElement {
  const tb = $<HTMLTableElement>(sel).tBodies[0]!;
  tb.replaceChildren();
  return tb;
}

function renderOverview(o: Overview): void {
  document.querySelectorAll<HTMLElement>("[data-fig]").forEach((el) => {
    const path = el.dataset.fig!;
    const v = lookup(o, path);
    if (v !== undefined && !el.closest("tbody")) figure(el, v, el.dataset.fmt);
  });
  $("#asof").textContent = new Date(o.time * 1000).toLocaleTimeString();
  $("#asof").dataset.value = String(o.time);

  const qoe = rows("#qoe");
  for (const g of GROUPS) {
    const s = o.node.groups[g];
    const tr = qoe.insertRow();
    tr.dataset.group = g;
    cell(tr, g);
    cell(tr, s.viewers, "num", "viewers");
    cell(tr, s.reports, "num", "reports");
    cell(tr, s.rebuffer_ratio, "pct", "rebuffer_ratio");
    cell(tr, s.stalls, "num", "stalls");
    cell(tr, s.startups, "num", "startups");
    cell(tr, s.startup_p50_ms, "ms", "startup_p50_ms");
    cell(tr, s.startup_p95_ms, "ms", "startup_p95_ms");
  }

  const st = rows("#streams");
  for (const s of [o.node, ...o.streams]) {
    const tr = st.insertRow();
    tr.dataset.stream = s.stream;
    if (s.stream === state.selected) tr.className = "selected";
    cell(tr, s.stream === "node" ? "all (node)" : s.stream);
    cell(tr, s.viewers, "num", "viewers");
    cell(tr, s.renditions, "num", "renditions");
    cell(tr, s.peer_efficiency, "pct", "peer_efficiency");
    cell(tr, s.offload, "pct", "offload");
    cell(tr, s.offload_limit, "pct", "offload_limit");
    cell(tr, s.egress_saved_bytes, "bytes", "egress_saved_bytes");
    cell(tr, GROUPS.map((g) => pct(s.groups[g].rebuffer_ratio)).join(" / "));
    tr.onclick = () => { state.selected = s.stream; void refreshDetail(); };
  }

  const br = rows("#browsers");
  for (const b of o.browsers) {
    const tr = br.insertRow();
    cell(tr, b.browser + (b.major ? " " + b.major : ""));
    cell(tr, b.viewers, "num", "viewers");
  }
  const pl = rows("#platforms");
  for (const [k, v] of Object.entries(o.platforms)) {
    const tr = pl.insertRow();
    tr.dataset.platform = k;
    cell(tr, k.replace("_", " "));
    cell(tr, v, "num", "viewers");
  }
}

function renderDetail(d: StreamDetail): void {
  $("#swarm-stream").textContent = d.summary.stream === "node" ? "the node" : d.summary.stream;
  const tb = rows("#swarms");
  for (const s of d.swarms) {
    const tr = tb.insertRow();
    tr.dataset.swarm = s.swarm;
    cell(tr, s.swarm);
    cell(tr, s.viewers, "num", "viewers");
    cell(tr, s.peers, "num", "peers");
    cell(tr, s.bitrate / 1000, "num", "bitrate_kbps");
    cell(tr, s.live_ms, "ms", "live_ms");
    cell(tr, s.peer_efficiency, "pct", "peer_efficiency");
    cell(tr, s.offload, "pct", "offload");
  }
}

async function refreshDetail(): Promise<void> {
  const id = state.selected === "node" || state.selected === "other" ? state.selected : state.selected.replace(/^\//, "");
  const at = state.event ? "&at=" + state.event.overview.time : "";
  state.detail = await api<StreamDetail>("/streams/" + id.split("/").map(encodeURIComponent).join("/") + "?window=" + WINDOW + at);
  renderDetail(state.detail);
}

function makePlots(): void {
  const width = Math.max(320, $("#main").clientWidth - 40);
  const time = { label: "time" };
  state.plots.efficiency = new uPlot({
    width, height: 220,
    series: [time, { label: "peer efficiency", stroke: "#2563eb" }, { label: "offload", stroke: "#16a34a" },
      { label: "offload limit", stroke: "#9ca3af", dash: [6, 4] }],
    scales: { y: { range: [0, 1] } },
    axes: [{}, { values: (_u, v) => v.map((x) => (x * 100).toFixed(0) + "%") }],
  }, [[], [], [], []], $("#plot-efficiency"));
  state.plots.bytes = new uPlot({
    width, height: 220,
    series: [time, ...SOURCES.map((s, i) => ({ label: s + " B/s", stroke: ["#f97316", "#16a34a", "#2563eb", "#a855f7"][i]! }))],
    axes: [{}, { values: (_u, v) => v.map((x) => bytes(x) + "/s") , size: 80 }],
  }, [[], [], [], [], []], $("#plot-bytes"));
}

function updatePlots(points: Point[]): void {
  for (const p of points) state.points.set(p.t, p);
  const ts = [...state.points.keys()].sort((a, b) => a - b).slice(-360);
  for (const t of state.points.keys()) if (t < ts[0]!) state.points.delete(t);
  const pts = ts.map((t) => state.points.get(t)!);
  state.plots.efficiency!.setData([ts, pts.map((p) => p.peer_efficiency), pts.map((p) => p.offload), pts.map((p) => p.offload_limit)]);
  state.plots.bytes!.setData([ts, ...SOURCES.map((s) => pts.map((p) => p.bytes[s] / 10))]);
}

function setStatus(s: "connecting" | "live" | "error", text: string): void {
  const el = $("#status");
  el.dataset.state = s;
  el.textContent = text;
}

// follow reads the event stream until it ends, then the caller reconnects.
async function follow(): Promise<void> {
  const r = await fetch(API + "/events?window=" + WINDOW, { headers: token() ? { Authorization: "Bearer " + token() } : {}, cache: "no-store" });
  if (r.status === 401) throw new Unauthorized();
  if (!r.ok || !r.body) throw new Error("events: " + r.status);
  setStatus("live", "live");
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (!data) continue;
      const ev = JSON.parse(data) as Event;
      state.event = ev;
      renderOverview(ev.overview);
      updatePlots(ev.node.points);
      await refreshDetail();
      state.updates++;
    }
  }
}

function askToken(msg: string): void {
  $("#main").hidden = true;
  const f = $<HTMLFormElement>("#login");
  f.hidden = false;
  $("#login-error").textContent = msg;
  setStatus("error", "admin token needed");
  f.onsubmit = (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $<HTMLInputElement>("#token").value);
    f.hidden = true;
    void start();
  };
}

let plotsMade = false;

async function start(): Promise<void> {
  try {
    const s = await api<Series>("/series?stream=node&res=10s&since=" + (Math.floor(Date.now() / 1000) - 3600));
    $("#main").hidden = false;
    if (!plotsMade) { makePlots(); plotsMade = true; }
    updatePlots(s.points);
    for (let delay = 1000; ; delay = Math.min(delay * 2, 30000)) {
      try { await follow(); delay = 1000; } catch (e) {
        if (e instanceof Unauthorized) throw e;
        setStatus("error", "reconnecting: " + (e as Error).message);
      }
      await new Promise((res) => setTimeout(res, delay));
    }
  } catch (e) {
    if (e instanceof Unauthorized) {
      askToken(token() ? "That token was refused." : "");
      return;
    }
    setStatus("error", (e as Error).message);
  }
}

void start();
