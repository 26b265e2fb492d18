// Browser bundle for the p2p-media-loader scenario of the swarm benchmark.
//
// Build (from this directory, after `npm ci --ignore-scripts`):
//
//   npx esbuild entry.mjs --bundle --format=iife --platform=browser --outfile=OUT/p2pml.js
//
// The bundle installs window.P2PML:
//
//   P2PML.Hls                             hls.js class
//   P2PML.createHls(hlsConfig, p2pConfig) hls.js instance with HlsJsP2PEngine injected
//   P2PML.createVirtualLoader(p2pConfig)  segment loader on the bare Core, no decoding
//   P2PML.stats(hlsOrLoader)              {http, p2p, seed, upload, failures, rejected, peers}
//   P2PML.hlsjsLiveDefaults(targetDuration, fragmentCount, p2pConfig)
//                                         what the hls.js integration sets on
//                                         hls.js when the page leaves it unset
//
// The virtual loader has playlist(url, segments, live), playback(position,
// rate), load(segment) -> Promise<ArrayBuffer>, stats() and destroy(); a
// segment is {url (absolute), seq, start (s), duration (s)}.
//
// p2pConfig is a p2p-media-loader CoreConfig. Only the trackers it names are
// announced to, and rtcConfig defaults to no ICE servers so that WebRTC stays
// on the host's own interfaces. Every other Core setting keeps the library's
// default, as in its hls.js integration. The virtual loader also takes
// p2pConfig.manifestUrl, the URL the swarm is named after (default: the
// first media playlist it is given).
//
// Note on live streams: the Core fetches every segment that starts within
// highDemandTimeWindow (15 s) of the playhead over HTTP as soon as an HTTP
// slot is free, and only shares over P2P the segments it learns of before
// they get that close. With 2 s segments, a viewer a few segments behind
// the live edge therefore gets next to nothing from peers; the hls.js
// integration plays far behind the edge by default for that reason (see
// hlsjsLiveDefaults).

// First: the globals the libraries below expect from a browser bundler.
import "./node-globals.mjs";
import Hls from "hls.js";
import { HlsJsP2PEngine } from "p2p-media-loader-hlsjs";
import { Core, generateStreamShortId } from "p2p-media-loader-core";

// coreConfig turns the page's p2pConfig into a Core config: the given
// trackers, no STUN/TURN servers unless the caller names some.
function coreConfig(p2pConfig = {}) {
  const { manifestUrl, ...rest } = p2pConfig;
  void manifestUrl;
  if (!Array.isArray(rest.announceTrackers) || rest.announceTrackers.length === 0) {
    throw new Error("p2pConfig.announceTrackers must list at least one tracker");
  }
  return { ...rest, rtcConfig: rest.rtcConfig ?? { iceServers: [] } };
}

// newCounters returns the byte and event counters of one viewer and
// subscribes them to a Core (or an HlsJsP2PEngine: same listener API).
// http and p2p count segment bytes as they arrive (aborted transfers
// included: they cost the server or the peer all the same), upload counts
// segment bytes sent to peers.
function newCounters(target) {
  const c = { http: 0, p2p: 0, seed: 0, upload: 0, failures: 0, rejected: 0, peers: 0 };
  const peers = new Set();
  target.addEventListener("onChunkDownloaded", (bytes, source) => {
    if (source === "p2p") c.p2p += bytes;
    else c.http += bytes;
  });
  target.addEventListener("onChunkUploaded", (bytes) => {
    c.upload += bytes;
  });
  target.addEventListener("onSegmentError", () => {
    c.failures++;
  });
  target.addEventListener("onPeerConnect", ({ peerId, streamType }) => {
    peers.add(streamType + ":" + peerId);
    c.peers = peers.size;
  });
  target.addEventListener("onPeerClose", ({ peerId, streamType }) => {
    peers.delete(streamType + ":" + peerId);
    c.peers = peers.size;
  });
  return c;
}

const countersOf = new WeakMap();

function snapshot(c) {
  return {
    http: c.http,
    p2p: c.p2p,
    seed: c.seed,
    upload: c.upload,
    failures: c.failures,
    rejected: c.rejected,
    peers: c.peers,
  };
}

// createHls builds hls.js the way HlsJsP2PEngine.injectMixin does, with one
// addition: fragments that the engine hands to hls.js's own loader (those
// the Core does not know yet) are counted as HTTP bytes too.
function createHls(hlsConfig = {}, p2pConfig = {}) {
  const engine = new HlsJsP2PEngine({ core: coreConfig(p2pConfig) });
  const counters = newCounters(engine);
  const { fLoader: EngineFragmentLoader, pLoader } = engine.getConfigForHlsJs();
  // The engine keeps its Core in a field that TypeScript marks private; it
  // is the same object the fragment loader asks before falling back.
  const core = engine.core;

  class CountingFragmentLoader extends EngineFragmentLoader {
    load(context, config, callbacks) {
      const id = segmentRuntimeId(context.url, context.rangeStart, context.rangeEnd);
      const direct = !core.hasSegment(id) || !core.isSegmentLoadable(id);
      const onError = (...args) => {
        counters.rejected++;
        callbacks.onError(...args);
      };
      let onSuccess = callbacks.onSuccess;
      if (direct) {
        onSuccess = (response, ...rest) => {
          counters.http += byteLength(response.data);
          callbacks.onSuccess(response, ...rest);
        };
      }
      super.load(context, config, { ...callbacks, onSuccess, onError });
    }
  }

  const hls = new Hls({ ...hlsConfig, fLoader: CountingFragmentLoader, pLoader });
  engine.bindHls(hls);
  Object.defineProperty(hls, "p2pEngine", { value: engine });
  countersOf.set(hls, counters);
  return hls;
}

function segmentRuntimeId(url, rangeStart, rangeEnd) {
  // Same identity as p2p-media-loader-hlsjs: URL, plus the inclusive byte
  // range when there is one.
  if (rangeStart === undefined || rangeEnd === undefined) return url;
  const end = rangeEnd - 1;
  if (rangeStart > end) return url;
  return `${url}|${rangeStart}-${end}`;
}

function byteLength(data) {
  if (!data) return 0;
  if (typeof data === "string") return data.length;
  return data.byteLength ?? 0;
}

// createVirtualLoader feeds the bare Core what the hls.js integration feeds
// it (streams from playlist URLs, segments with sequence numbers as ids on
// live, the live flag, the manifest URL, the playback position) so that a
// page-side player model can use p2p-media-loader without decoding video.
// Like hls.js, the player should have one load pending at a time: the Core
// aborts the previous engine request when a new one comes.
function createVirtualLoader(p2pConfig = {}) {
  const core = new Core(coreConfig(p2pConfig));
  const counters = newCounters(core);
  let manifestSet = false;
  let destroyed = false;
  if (p2pConfig.manifestUrl) {
    core.setManifestResponseUrl(p2pConfig.manifestUrl);
    manifestSet = true;
  }

  const loader = {
    playlist(url, segments, live) {
      if (!manifestSet) {
        // The swarm is named after the manifest URL; without a master
        // playlist, the first media playlist names it.
        core.setManifestResponseUrl(url);
        manifestSet = true;
      }
      core.addStreamIfNoneExists({
        runtimeId: url,
        type: "main",
        index: generateStreamShortId({ name: new URL(url).pathname }),
      });
      core.setIsLive(!!live);
      const stream = core.getStream(url);
      const remove = new Set(stream.segments.keys());
      const add = [];
      segments.forEach((seg, i) => {
        remove.delete(seg.url);
        if (stream.segments.has(seg.url)) return;
        add.push({
          runtimeId: seg.url,
          url: seg.url,
          externalId: live ? seg.seq : i,
          startTime: seg.start,
          endTime: seg.start + seg.duration,
        });
      });
      if (add.length === 0 && remove.size === 0) return;
      core.updateStream(url, add, remove.values());
    },

    playback(position, rate) {
      core.updatePlayback(position, rate);
    },

    async load(seg) {
      if (!core.hasSegment(seg.url)) {
        // What the hls.js integration does for a segment the Core does not
        // know: hls.js's own loader, plain HTTP.
        const res = await fetch(seg.url);
        if (!res.ok) {
          counters.rejected++;
          throw new Error(`GET ${seg.url}: ${res.status}`);
        }
        const data = await res.arrayBuffer();
        counters.http += data.byteLength;
        return data;
      }
      try {
        return await new Promise((resolve, reject) => {
          core
            .loadSegment(seg.url, {
              onSuccess: (response) => resolve(response.data),
              onError: (err) => reject(err),
            })
            .catch(reject);
        });
      } catch (err) {
        if (destroyed) throw new Error(`p2pml: segment ${seg.seq}: loader destroyed`);
        counters.rejected++;
        // The Core rejects with CoreRequestError ("failed" or "aborted")
        // and no message.
        throw new Error(`p2pml: segment ${seg.seq}: ${err?.type ?? err?.message ?? err}`, {
          cause: err,
        });
      }
    },

    stats() {
      return snapshot(counters);
    },

    destroy() {
      destroyed = true;
      core.destroy();
    },
  };
  countersOf.set(loader, counters);
  return loader;
}

// hlsjsLiveDefaults returns the player settings that p2p-media-loader's
// hls.js integration applies to a live stream when the page does not set
// them (it does so once the main playlist has more than 4 segments), so
// that a page-side player model can behave like hls.js with the engine:
// liveSyncDurationCount (how many segments behind the live edge playback
// starts) and maxBufferLength (how far ahead the player asks for segments,
// in seconds; the Core prefetches beyond it).
function hlsjsLiveDefaults(targetDuration, fragmentCount, p2pConfig = {}) {
  const highDemandTimeWindow = Math.max(
    p2pConfig.mainStream?.highDemandTimeWindow ??
      p2pConfig.highDemandTimeWindow ??
      Core.DEFAULT_STREAM_CONFIG.highDemandTimeWindow,
    p2pConfig.secondaryStream?.highDemandTimeWindow ??
      p2pConfig.highDemandTimeWindow ??
      Core.DEFAULT_STREAM_CONFIG.highDemandTimeWindow,
  );
  const maxLiveSyncDuration = 120; // seconds, as in the integration
  return {
    liveSyncDurationCount: Math.min(
      fragmentCount - 1,
      Math.floor(maxLiveSyncDuration / targetDuration),
    ),
    maxBufferLength: Math.max(targetDuration * 2, highDemandTimeWindow),
  };
}

function stats(hlsOrLoader) {
  const c = countersOf.get(hlsOrLoader);
  if (!c) throw new Error("P2PML.stats: not made by P2PML.createHls or createVirtualLoader");
  return snapshot(c);
}

window.P2PML = { Hls, createHls, createVirtualLoader, stats, hlsjsLiveDefaults };
