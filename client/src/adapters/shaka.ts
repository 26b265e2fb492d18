// Shaka Player adapter: a networking scheme plugin for http(s) that sends
// segment requests through the engine and notices playlists' swarm headers.

import type { Engine } from "../core/engine";

/* Minimal structural types of the Shaka networking API used here. */
interface ShakaRequest { uris: string[]; method: string; headers: { [k: string]: string } }
interface ShakaResponse { uri: string; originalUri: string; data: ArrayBuffer; headers: { [k: string]: string }; status?: number; fromCache?: boolean }
type SchemePlugin = (uri: string, req: ShakaRequest, type: number, progress?: unknown, headersReceived?: unknown, cfg?: unknown) => unknown;
/** The parts of the shaka namespace the adapter uses. */
export interface ShakaLike {
  net: {
    NetworkingEngine: {
      registerScheme(scheme: string, plugin: SchemePlugin, priority?: number): void;
      RequestType: { MANIFEST: number; SEGMENT: number };
      PluginPriority?: { APPLICATION: number };
    };
    HttpFetchPlugin: { parse: SchemePlugin };
  };
  util: { AbortableOperation: { notAbortable<T>(p: Promise<T>): unknown } };
}

/** Registers the scheme plugin with Shaka (call before player.load). */
export function attachShaka(engine: Engine, shaka: ShakaLike, media?: HTMLMediaElement): void {
  const NE = shaka.net.NetworkingEngine;
  const base = shaka.net.HttpFetchPlugin.parse;
  if (media) engine.setPlayhead(() => ({ time: media.currentTime, rate: media.playbackRate || 1 }));
  const plugin: SchemePlugin = (uri, req, type, ...rest) => {
    if (type === NE.RequestType.SEGMENT && req.method === "GET" && !Object.keys(req.headers).some((h) => h.toLowerCase() === "range")) {
      return shaka.util.AbortableOperation.notAbortable(engine.load(uri).then(({ data }): ShakaResponse => ({
        uri, originalUri: uri, data: data.slice().buffer as ArrayBuffer, headers: {}, status: 200,
      })));
    }
    const op = base(uri, req, type, ...rest) as { promise: Promise<ShakaResponse> };
    if (type === NE.RequestType.MANIFEST) {
      void op.promise.then((r) => {
        const h = (n: string): string | null => r.headers[n.toLowerCase()] ?? null;
        try { engine.playlist(r.uri || uri, h("Edgeswarm-Swarm"), h("Edgeswarm-Ticket")); } catch { /* ignore */ }
      }, () => undefined);
    }
    return op;
  };
  const prio = NE.PluginPriority?.APPLICATION ?? 3;
  NE.registerScheme("http", plugin, prio);
  NE.registerScheme("https", plugin, prio);
}
