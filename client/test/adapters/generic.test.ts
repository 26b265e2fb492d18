import assert from "node:assert/strict";
import { test } from "node:test";
import { attachGeneric, parseMedia } from "../../src/adapters/generic";
import { Engine, SegmentInfo } from "../../src/core/engine";
import { FakeClock } from "../helpers";

test("the generic adapter still exports the media playlist parser", () => {
  assert.deepEqual(parseMedia("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2,\n7.ts\n", "http://n/p.m3u8"), [{ url: "http://n/7.ts", seq: 7, start: 0, duration: 2 }]);
});

test("generic mode routes segment fetches through the engine and notices playlists", async () => {
  const g = globalThis as { fetch: typeof fetch };
  const orig = g.fetch;
  const calls: string[] = [];
  const fake = (async (u: RequestInfo | URL) => {
    calls.push(String(u));
    if (String(u).endsWith(".m3u8")) return new Response("#EXTM3U\n#EXTINF:2,\n1.ts\n", { headers: { "Edgeswarm-Swarm": "/l/p.m3u8" } });
    return new Response(new Uint8Array([9, 9]));
  }) as typeof fetch;
  g.fetch = fake;
  try {
    const e = new Engine({ p2p: false }, {
      // The engine keeps the fetch it was created with, not the wrapper.
      clock: new FakeClock(), fetch: fake, random: () => 0.5, userAgent: "", base: "http://node.test/",
    });
    const joined: unknown[] = [];
    e.playlist = (url, swarm) => { joined.push([url, swarm]); };
    const off = attachGeneric(e);
    const pl = await fetch("http://node.test/l/p.m3u8");
    assert.equal(await pl.text(), "#EXTM3U\n#EXTINF:2,\n1.ts\n", "the player still reads the body");
    assert.deepEqual(joined, [["http://node.test/l/p.m3u8", "/l/p.m3u8"]]);
    const seg = await fetch("http://node.test/l/1.ts");
    assert.deepEqual([...new Uint8Array(await seg.arrayBuffer())], [9, 9]);
    assert.equal(e.getStats().httpBytes, 2, "the segment went through the engine");
    off();
    assert.equal(g.fetch, fake, "detaching restores fetch");
  } finally {
    g.fetch = orig;
  }
});

// A stand-in for the browser's XMLHttpRequest: state lives behind prototype
// getters (as in browsers), event handler properties fire on dispatched
// events, and send() answers from a table as the network would.
class FakeXHR extends EventTarget {
  static sent: string[] = [];
  static table: Record<string, { status: number; body: string | Uint8Array; headers?: Record<string, string> }> = {};
  responseType: XMLHttpRequestResponseType = "";
  onload: ((e: Event) => void) | null = null;
  onreadystatechange: ((e: Event) => void) | null = null;
  onloadend: ((e: Event) => void) | null = null;
  onabort: ((e: Event) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  onprogress: ((e: Event) => void) | null = null;
  private st = { rs: 0, status: 0, url: "", headers: {} as Record<string, string>, body: undefined as string | Uint8Array | undefined, reqHeaders: {} as Record<string, string> };
  get readyState(): number { return this.st.rs; }
  get status(): number { return this.st.status; }
  get statusText(): string { return this.st.status === 200 ? "OK" : ""; }
  get responseURL(): string { return this.st.rs >= 2 ? this.st.url : ""; }
  get responseText(): string { return typeof this.st.body === "string" ? this.st.body : ""; }
  get response(): unknown {
    const b = this.st.body;
    if (this.responseType === "arraybuffer") return b instanceof Uint8Array ? b.slice().buffer : null;
    return typeof b === "string" ? b : "";
  }
  get requestHeaders(): Record<string, string> { return this.st.reqHeaders; }
  open(_m: string, u: string): void { this.st = { ...this.st, rs: 1, status: 0, url: u, body: undefined, reqHeaders: {} }; }
  setRequestHeader(n: string, v: string): void { this.st.reqHeaders[n] = v; }
  overrideMimeType(_m: string): void {}
  getResponseHeader(n: string): string | null { return this.st.headers[n.toLowerCase()] ?? null; }
  getAllResponseHeaders(): string { return ""; }
  send(): void {
    FakeXHR.sent.push(this.st.url);
    const r = FakeXHR.table[this.st.url] ?? { status: 404, body: "" };
    queueMicrotask(() => {
      this.st = { ...this.st, rs: 4, status: r.status, body: r.body, headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])) };
      for (const t of ["readystatechange", "load", "loadend"]) this.dispatchEvent(new Event(t));
    });
  }
  abort(): void { this.st.rs = 0; }
  override dispatchEvent(e: Event): boolean {
    const h = (this as unknown as Record<string, unknown>)["on" + e.type];
    const r = super.dispatchEvent(e);
    if (typeof h === "function") h.call(this, e);
    return r;
  }
}

const PL = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:20\n#EXTINF:2,\n20.ts\n#EXTINF:2,\n21.ts\n#EXTINF:2,\n22.ts\n";

/** Installs FakeXHR as the global XMLHttpRequest for one test, then attaches generic mode. */
function xhrRig(t: { after(f: () => void): void }, fetched: string[]) {
  const g = globalThis as { XMLHttpRequest?: unknown };
  const before = g.XMLHttpRequest;
  g.XMLHttpRequest = FakeXHR;
  FakeXHR.sent = [];
  FakeXHR.table = {
    "http://node.test/l/p.m3u8": { status: 200, body: PL, headers: { "Edgeswarm-Swarm": "/l/p.m3u8", "Edgeswarm-Ticket": "tk" } },
  };
  const e = new Engine({ p2p: false }, {
    clock: new FakeClock(), random: () => 0.5, userAgent: "", base: "http://node.test/",
    fetch: (async (u: string) => {
      fetched.push(u);
      return new Response(new Uint8Array([1, 2, 250]));
    }) as typeof fetch,
  });
  const joined: unknown[] = [];
  e.playlist = (url, swarm, ticket) => { joined.push([url, swarm, ticket]); };
  const media = { currentTime: 30, playbackRate: 1, paused: false } as HTMLMediaElement;
  const off = attachGeneric(e, { media: () => media });
  t.after(() => { off(); g.XMLHttpRequest = before; });
  return { e, joined, off };
}

/** Runs one XHR like a player does; resolves with what it saw at load. */
function xhrGet(url: string, setup: (x: XMLHttpRequest) => void = (x) => { x.responseType = "arraybuffer"; }): Promise<{ x: XMLHttpRequest; events: string[]; states: number[] }> {
  return new Promise((res) => {
    const x = new XMLHttpRequest();
    const events: string[] = [], states: number[] = [];
    x.open("GET", url);
    setup(x);
    x.onreadystatechange = () => { states.push(x.readyState); };
    for (const t of ["loadstart", "progress", "load", "abort"]) x.addEventListener(t, () => events.push(t));
    x.addEventListener("loadend", () => { events.push("loadend"); res({ x, events, states }); });
    x.send();
  });
}

test("generic mode answers XHR segment requests from the engine, as an XHR would", async (t) => {
  const fetched: string[] = [];
  const { e, joined } = xhrRig(t, fetched);
  const pl = await xhrGet("http://node.test/l/p.m3u8", () => undefined);
  assert.equal(pl.x.responseText, PL, "playlists stay on the real XHR");
  assert.deepEqual(joined, [["http://node.test/l/p.m3u8", "/l/p.m3u8", "tk"]]);

  const loads: (SegmentInfo | undefined)[] = [];
  const load = e.load.bind(e);
  e.load = (url, info, signal) => { loads.push(info); return load(url, info, signal); };
  const r = await xhrGet("/l/21.ts");
  assert.deepEqual(FakeXHR.sent, ["http://node.test/l/p.m3u8"], "the segment never went out on the real XHR");
  assert.deepEqual(fetched, ["http://node.test/l/21.ts"]);
  assert.equal(r.x.readyState, 4);
  assert.equal(r.x.status, 200);
  assert.equal(r.x.responseURL, "http://node.test/l/21.ts");
  assert.ok(r.x.response instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(r.x.response as ArrayBuffer)], [1, 2, 250]);
  assert.equal(r.x.getResponseHeader("Content-Length"), "3");
  assert.match(r.x.getAllResponseHeaders(), /^content-length: 3\r\n$/);
  assert.deepEqual(r.events, ["loadstart", "progress", "load", "loadend"]);
  assert.deepEqual(r.states, [2, 3, 4]);
  // The first segment asked for is placed at the playhead (30 s); its sequence comes from the playlist.
  assert.deepEqual(loads, [{ url: "http://node.test/l/21.ts", seq: 21, start: 30, duration: 2 }]);
  assert.equal(e.getStats().httpBytes, 3);

  // The same object, reopened for a playlist, is a plain XHR again.
  r.x.open("GET", "http://node.test/l/p.m3u8");
  assert.equal(r.x.readyState, 1);
  assert.equal(r.x.status, 0);
});

test("XHR segment requests with a Range header, or a response type the engine cannot give, go out on the real XHR", async (t) => {
  const fetched: string[] = [];
  xhrRig(t, fetched);
  FakeXHR.table["http://node.test/l/20.ts"] = { status: 200, body: new Uint8Array([5]) };
  await xhrGet("http://node.test/l/20.ts", (x) => { x.responseType = "arraybuffer"; x.setRequestHeader("Range", "bytes=0-9"); });
  await xhrGet("http://node.test/l/20.ts", (x) => { x.responseType = "json"; });
  assert.deepEqual(FakeXHR.sent, ["http://node.test/l/20.ts", "http://node.test/l/20.ts"]);
  assert.deepEqual(fetched, []);
  // The x-user-defined text trick of older players is served, byte for byte.
  const r = await xhrGet("http://node.test/l/22.ts", (x) => { x.overrideMimeType("text/plain; charset=x-user-defined"); });
  assert.deepEqual([...r.x.responseText].map((c) => c.charCodeAt(0) & 0xff), [1, 2, 250]);
  assert.deepEqual(fetched, ["http://node.test/l/22.ts"]);
});

test("segment bytes that go out on the real XHR or fetch (byte ranges) count as HTTP bytes", async (t) => {
  // The page's fetch, as generic mode finds it when it attaches.
  const g = globalThis as { fetch: typeof fetch };
  const orig = g.fetch;
  g.fetch = (async () => new Response(new Uint8Array(7), { status: 206, headers: { "Content-Length": "7" } })) as typeof fetch;
  t.after(() => { g.fetch = orig; });
  const fetched: string[] = [];
  const { e } = xhrRig(t, fetched);
  FakeXHR.table["http://node.test/od/v.mp4"] = { status: 206, body: new Uint8Array([1, 2, 3, 4, 5]) };
  await xhrGet("http://node.test/od/v.mp4", (x) => { x.responseType = "arraybuffer"; x.setRequestHeader("Range", "bytes=0-4"); });
  assert.equal(e.getStats().httpBytes, 5, "the range's body counts as HTTP bytes");
  // A miss is not counted.
  await xhrGet("http://node.test/od/missing.mp4", (x) => { x.responseType = "arraybuffer"; x.setRequestHeader("Range", "bytes=0-4"); });
  // A playlist is not a segment.
  await xhrGet("http://node.test/l/p.m3u8", (x) => { x.responseType = "text"; });
  assert.equal(e.getStats().httpBytes, 5);
  const res = await fetch("http://node.test/od/a.mp4", { headers: { Range: "bytes=10-16" } });
  assert.equal((await res.arrayBuffer()).byteLength, 7, "the player reads its range");
  assert.equal(e.getStats().httpBytes, 12, "a fetched range counts too");
  assert.deepEqual(fetched, [], "the engine loaded none of them");
});

test("an XHR segment the engine cannot load is retried on the real XHR, which reports the status", async (t) => {
  const { e } = xhrRig(t, []);
  const tried: string[] = [];
  // The engine's HTTP attempts (and their retries) failed.
  e.load = async (u) => { tried.push(u); throw new Error("HTTP 404"); };
  const r = await xhrGet("http://node.test/l/missing.ts");
  assert.deepEqual(tried, ["http://node.test/l/missing.ts"], "the engine tried first");
  assert.deepEqual(FakeXHR.sent, ["http://node.test/l/missing.ts"]);
  assert.equal(r.x.status, 404);
});

test("aborting an XHR the engine answers fires abort and loadend and nothing else", async (t) => {
  const fetched: string[] = [];
  const { e } = xhrRig(t, fetched);
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let aborted = false;
  e.load = async (_u, _i, signal) => {
    signal?.addEventListener("abort", () => { aborted = true; });
    await gate;
    return { data: new Uint8Array([1]), source: "http" };
  };
  const x = new XMLHttpRequest();
  const events: string[] = [];
  for (const ty of ["load", "abort", "loadend", "error"]) x.addEventListener(ty, () => events.push(ty));
  x.open("GET", "http://node.test/l/20.ts");
  x.responseType = "arraybuffer";
  x.send();
  x.abort();
  release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ["abort", "loadend"]);
  assert.ok(aborted, "the engine's load was told");
  assert.equal(x.readyState, 0);
  assert.equal(x.response, null);
});

test("detaching restores XMLHttpRequest", (t) => {
  const proto = { ...Object.getOwnPropertyDescriptors(FakeXHR.prototype) };
  const { off } = xhrRig(t, []);
  assert.notEqual(FakeXHR.prototype.send, proto.send!.value);
  off();
  for (const k of ["open", "send", "setRequestHeader", "abort", "overrideMimeType"]) {
    assert.equal((FakeXHR.prototype as unknown as Record<string, unknown>)[k], proto[k]!.value, k);
  }
});
