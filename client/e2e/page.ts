// The viewer page the tests open: a muted video playing /live/master.m3u8
// with hls.js (the node's vendored build) or Shaka Player, edgeswarm
// attached, and what a user would notice recorded in window.e2e: when it
// started playing, stalls after that, where each segment came from, and
// the SHA-256 of every segment the player received.

/** The page for one player: "hls" or "shaka". */
export const viewerHTML = (player: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgeswarm e2e viewer</title></head>
<body>
<video id="v" muted autoplay playsinline></video>
<script src="/vendor/hls.light.min.js"></script>
${player === "shaka" ? '<script src="/e2e/shaka-player.js"></script>' : ""}
<script src="/edgeswarm.js"></script>
<script>
(function () {
  "use strict";
    var video = document.getElementById("v");
  var path = function (u) { try { return new URL(u, location.href).pathname; } catch (e) { return String(u); } };
  var hex = function (b) { return Array.from(new Uint8Array(b), function (x) { return x.toString(16).padStart(2, "0"); }).join(""); };
  var E = window.e2e = { playingAt: 0, played: 0, waiting: 0, fatal: [], errors: [], sources: {}, hashes: {}, connects: [], closes: [] };
  var pending = [];
  video.addEventListener("playing", function () { if (!E.playingAt) E.playingAt = Date.now(); });
  video.addEventListener("waiting", function () { if (E.playingAt) E.waiting++; });
  // Media time actually played: timeupdate steps, not seeks (a live player
  // may jump to the live edge after it starts).
  var last = 0;
  video.addEventListener("timeupdate", function () {
    var d = video.currentTime - last;
    if (E.playingAt && d > 0 && d < 1.5) E.played += d;
    last = video.currentTime;
  });
  edgeswarm.on("segment", function (e) { var p = path(e.url); if (!E.sources[p]) E.sources[p] = e.source; });
  edgeswarm.on("peer-connect", function (e) { E.connects.push(e); });
  edgeswarm.on("peer-close", function (e) { E.closes.push(e); });
  edgeswarm.on("error", function (e) { E.errors.push(e); });
  // The digest is taken of a copy made synchronously, before the player
  // may hand the buffer to a worker.
  var hash = function (data, url) {
    pending.push(crypto.subtle.digest("SHA-256", data).then(function (h) { E.hashes[path(url)] = hex(h); }));
  };
  var stop;
  if (${JSON.stringify(player)} === "shaka") {
    shaka.polyfill.installAll();
    var player = new shaka.Player();
    // One rendition, the one hls.js viewers start on, so that Shaka shares a
    // swarm with them; 6 segments behind the live edge (hls.js viewers play
    // 3 behind), so that what Shaka asks for is held by a viewer: a viewer
    // level with the others may be the one that fetches each new segment.
    player.configure({ abr: { enabled: false }, restrictions: { maxBandwidth: 300000 }, manifest: { hls: { liveSegmentsDelay: 6 } } });
    E.session = edgeswarm.attachShaka(shaka, player);
    player.addEventListener("error", function (e) { E.fatal.push("shaka " + (e.detail && e.detail.code)); });
    player.getNetworkingEngine().registerResponseFilter(function (type, r) {
      if (type === shaka.net.NetworkingEngine.RequestType.SEGMENT) hash(r.data, r.originalUri || r.uri);
    });
    player.attach(video).then(function () { return player.load("/live/master.m3u8"); })
      .catch(function (e) { E.fatal.push("shaka load " + (e && e.code)); });
    stop = function () { return player.unload(); };
  } else {
    var hls = new Hls(window.__hlsConfig || {});
    E.session = edgeswarm.attachHls(hls, window.__esOptions || {});
    // Hash what the fragment loader hands hls.js, before hls.js moves the
    // buffer to its transmuxing worker.
    var Loader = hls.config.fLoader;
    hls.config.fLoader = function (cfg) {
      var l = new Loader(cfg), load = l.load.bind(l);
      l.load = function (c, lc, cb) {
        var ok = cb.onSuccess;
        return load(c, lc, Object.assign({}, cb, { onSuccess: function (r, st, ctx, net) {
          if (ctx.frag && r.data instanceof ArrayBuffer) hash(r.data, ctx.url);
          return ok(r, st, ctx, net);
        } }));
      };
      return l;
    };
    hls.on(Hls.Events.ERROR, function (_e, d) { if (d.fatal) E.fatal.push("hls " + d.details); });
    hls.loadSource("/live/master.m3u8");
    hls.attachMedia(video);
    stop = function () { hls.stopLoad(); return Promise.resolve(); };
  }
  window.e2eStop = function () { video.pause(); return stop(); };
  window.e2eReport = function () {
    return Promise.all(pending).then(function () {
      return {
        playingAt: E.playingAt, played: E.played, currentTime: video.currentTime, waiting: E.waiting,
        fatal: E.fatal, errors: E.errors, sources: E.sources, hashes: E.hashes, connects: E.connects, closes: E.closes,
        stats: edgeswarm.getStats(), supported: edgeswarm.supported(),
      };
    });
  };
})();
</script>
</body></html>
`;
