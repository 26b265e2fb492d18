import assert from "node:assert/strict";
import { test } from "node:test";
import { attachShaka, ShakaLike } from "../../src/adapters/shaka";
import { Engine } from "../../src/core/engine";
import { FakeClock } from "../helpers";

test("Shaka segment requests go through the engine; manifests are passed through and read", async () => {
  const plugins: Record<string, (...a: unknown[]) => unknown> = {};
  const shaka: ShakaLike = {
    net: {
      NetworkingEngine: { registerScheme: (s, p) => { plugins[s] = p as never; }, RequestType: { MANIFEST: 0, SEGMENT: 1 } },
      HttpFetchPlugin: { parse: (uri) => ({ promise: Promise.resolve({ uri, originalUri: uri, data: new ArrayBuffer(0), headers: { "edgeswarm-swarm": "/s.m3u8" } }) }) },
    },
    util: { AbortableOperation: { notAbortable: (p) => ({ promise: p }) } },
  };
  const e = new Engine({}, {
    clock: new FakeClock(), random: () => 0.5, userAgent: "", base: "http://n/",
    fetch: (async () => new Response(new Uint8Array([7]))) as typeof fetch,
  });
  const joined: unknown[] = [];
  e.playlist = (u, s) => { joined.push([u, s]); };
  attachShaka(e, shaka);
  assert.ok(plugins.http && plugins.https);
  const seg = plugins.http!("http://n/1.ts", { uris: [], method: "GET", headers: {} }, 1) as { promise: Promise<{ data: ArrayBuffer }> };
  assert.deepEqual([...new Uint8Array((await seg.promise).data)], [7]);
  const man = plugins.http!("http://n/s.m3u8", { uris: [], method: "GET", headers: {} }, 0) as { promise: Promise<unknown> };
  await man.promise;
  await Promise.resolve();
  assert.deepEqual(joined, [["http://n/s.m3u8", "/s.m3u8"]]);
});
