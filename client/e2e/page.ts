// The viewer page the tests open: a muted video playing /live/master.m3u8
// with hls.js (the node's vendored build) or Shaka Player, or
// /dash/live.mpd with Shaka Player ("shaka-dash") or dash.js ("dashjs"),
// edgeswarm attached, and what a user would notice recorded in window.e2e: when it
// started playing, stalls after that, where each segment came from, and
// the SHA-256 of every segment the player received.

/** The page for one player: "hls", "shaka", "shaka-dash", "dashjs", "videojs" or "clappr". */
export const viewerHTML = (player: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgeswarm e2e viewer</title></head>
<body>
${player === "clappr" ? '<div id="player"></div>' : '<video id="v" muted autoplay playsinline></video>'}
<script src="/vendor/hls.light.min.js"></script>
${player.startsWith("shaka") ? '<script src="/e2e/shaka-player.js"></script>' : ""}
${player === "dashjs" ? '<script src="/e2e/dash.all.min.js"></script>' : ""}
${player === "videojs" ? '<script src="/e2e/video.min.js"></script>' : ""}
${player === "clappr" ? '<script src="/e2e/clappr.min.js"></script>' : ""}
<script src="/edgeswarm.js"></script>
<script>
(function () {
  "use strict";
  var clappr;
  if (${JSON.stringify(player)} === "clappr") {
    // Clappr with the hls.js playback it bundles (its own hls.js build),
    // through the generic interception: the one line the README gives Clappr.
    window.e2eSession = edgeswarm.attachGeneric({ media: function () { return document.querySelector("#player video"); } });
    // The first rendition and no switching up, as the hls.js viewers play
    // it, so that Clappr shares their swarm.
    clappr = new Clappr.Player({ source: "/live/master.m3u8", parentId: "#player", mute: true, autoPlay: true,
      playback: { playInline: true, hlsjsConfig: { startLevel: 0, abrBandWidthUpFactor: 0 } } });
  }
  var video = clappr ? document.querySelector("#player video") : document.getElementById("v");
  var path = function (u) { try { return new URL(u, location.href).pathname; } catch (e) { return String(u); } };
  var hex = function (b) { return Array.from(new Uint8Array(b), function (x) { return x.toString(16).padStart(2, "0"); }).join(""); };
  var E = window.e2e = { playingAt: 0, played: 0, waiting: 0, fatal: [], errors: [], sources: {}, hashes: {}, connects: [], closes: [], modes: [] };
  var pending = [];
  video.addEventListener("playing", function () { if (!E.playingAt) E.playingAt = Date.now(); });
  // Each "waiting" after playback started: when, how much media had played, where, and what was buffered.
  E.waits = [];
  video.addEventListener("waiting", function () {
    if (!E.playingAt) return;
    E.waiting++;
    var b = []; for (var i = 0; i < video.buffered.length; i++) b.push([+video.buffered.start(i).toFixed(2), +video.buffered.end(i).toFixed(2)]);
    E.waits.push({ at: Date.now() - E.playingAt, played: +E.played.toFixed(2), currentTime: +video.currentTime.toFixed(2), buffered: b });
  });
  // Each seek (a player's own jump to the live edge is one), and each
  // "buffering" the player reported to the client (a stall in its stats).
  E.seeks = [];
  video.addEventListener("seeking", function () { E.seeks.push({ at: E.playingAt ? Date.now() - E.playingAt : -1, currentTime: +video.currentTime.toFixed(2) }); });
  // What Shaka's "buffering" events saw: its own starving state is what the
  // client counts as a stall, so a failure shows the element at each one.
  E.bufferings = [];
  // Errors the player recovered from on its own (Shaka's RECOVERABLE): no
  // viewer sees them; stalls and played time are checked on their own.
  E.recovered = [];
  var ranges = function () { var b = []; for (var i = 0; i < video.buffered.length; i++) b.push([+video.buffered.start(i).toFixed(2), +video.buffered.end(i).toFixed(2)]); return b; };
  // A Shaka error as a failure names it: code, severity, and what it carries.
  var shakaError = function (e) {
    var d = e && e.detail;
    if (!d) return "shaka error event without detail";
    var s = (E.playingAt ? (Date.now() - E.playingAt) + " ms: " : "before playing: ") + "shaka " + d.code + " (severity " + d.severity + ", category " + d.category + ")";
    try { s += " " + JSON.stringify(d.data).slice(0, 300); } catch (x) { s += " " + String(d.data); }
    if (d.code === undefined) s += " " + String(d.message || d);
    return s;
  };
  var traceShaka = function (p) {
    p.addEventListener("buffering", function (e) {
      E.bufferings.push({ at: E.playingAt ? Date.now() - E.playingAt : -1, buffering: !!e.buffering, currentTime: +video.currentTime.toFixed(2), rate: video.playbackRate, paused: video.paused, seeking: video.seeking, readyState: video.readyState, buffered: ranges() });
    });
  };
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
  // Each risk mode change, with the inputs that made it, ms after the page started.
  var t0 = Date.now();
  edgeswarm.on("mode", function (e) { E.modes.push({ at: Date.now() - t0, mode: e.mode, reason: e.reason, risk: edgeswarm.getStats().risk }); });
  // The digest is taken of a copy made synchronously, before the player
  // may hand the buffer to a worker.
  var hash = function (data, url) {
    pending.push(crypto.subtle.digest("SHA-256", data).then(function (h) { E.hashes[path(url)] = hex(h); }));
  };
  // Hash what each segment XHR hands the player (Video.js's VHS,
  // Clappr's hls.js), whether the network or edgeswarm answered it.
  var hashXHR = function (re) {
    var open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (m, u) {
      var x = this, url = String(u);
      // At readyState 4, before "load": VHS moves the buffer to its worker on load.
      if (re.test(url)) x.addEventListener("readystatechange", function () {
        if (x.readyState === 4 && x.response instanceof ArrayBuffer && x.response.byteLength > 0) hash(x.response, url);
      });
      return open.apply(this, arguments);
    };
  };
  var stop;
  if (${JSON.stringify(player)} === "shaka-dash") {
    shaka.polyfill.installAll();
    var sp = new shaka.Player();
    // The low Representation, as the dash.js viewers start on it, so that
    // they share a swarm; 3 segments further behind the live edge than
    // they play, so that what Shaka asks for is held by a viewer.
    // rebufferingGoal 2 (Shaka 4's default): Shaka 5 starts with none, so a
    // live start position 0.4 s before the end of the first segment plays
    // at once and waits for the next one over any network, P2P or not (seen
    // here: "waiting" 400 ms after "playing", with HTTP only).
    sp.configure({ abr: { enabled: false }, restrictions: { maxBandwidth: 300000 },
      streaming: { rebufferingGoal: 2 },
      manifest: { defaultPresentationDelay: 12, dash: { ignoreSuggestedPresentationDelay: true } } });
    E.session = edgeswarm.attachShaka(shaka, sp);
    traceShaka(sp);
    sp.addEventListener("error", function (e) { (e.detail && e.detail.severity === 1 ? E.recovered : E.fatal).push(shakaError(e)); });
    sp.getNetworkingEngine().registerResponseFilter(function (type, r) {
      if (type === shaka.net.NetworkingEngine.RequestType.SEGMENT) hash(r.data, r.originalUri || r.uri);
    });
    sp.attach(video).then(function () { return sp.load("/dash/live.mpd"); })
      .catch(function (e) { E.fatal.push("shaka load " + (e && e.code)); });
    stop = function () { return sp.unload(); };
  } else if (${JSON.stringify(player)} === "dashjs") {
    var dp = dashjs.MediaPlayer().create();
    // The lowest video Representation, no ABR: every dash.js viewer is in one swarm.
    dp.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false, audio: false }, initialBitrate: { video: 100 } }, delay: { liveDelay: 6 } } });
    E.session = edgeswarm.attachDashjs(dp);
    dp.on("error", function (e) { E.fatal.push("dashjs " + (e && e.error && (e.error.code || e.error.message))); });
    // Hash what the loader hands dash.js, as it arrives.
    dp.on("fragmentLoadingCompleted", function (e) {
      if (e && e.response && e.request && e.request.url) hash(e.response, e.request.url);
    });
    dp.initialize(video, window.__src || "/dash/live.mpd", true);
    stop = function () { dp.reset(); return Promise.resolve(); };
  } else if (${JSON.stringify(player)} === "videojs") {
    hashXHR(/\\.ts(\\?|$)/);
    // The generic interception: the one line the README gives Video.js.
    E.session = edgeswarm.attachGeneric({ media: function () { return document.querySelector("video"); } });
    var vp = videojs(video, { muted: true, autoplay: true, html5: { vhs: { overrideNative: true } } });
    var stopped = false;
    // Emptying the source at stop is reported as error 4 (no source): not the player's failure.
    vp.on("error", function () { var e = vp.error(); if (!stopped) E.fatal.push("videojs " + (e && e.code)); });
    vp.src({ src: "/live/master.m3u8", type: "application/x-mpegURL" });
    stop = function () { stopped = true; vp.pause(); vp.src([]); return Promise.resolve(); };
  } else if (${JSON.stringify(player)} === "clappr") {
    E.session = window.e2eSession;
    hashXHR(/\\.ts(\\?|$)/);
    var cstopped = false;
    clappr.on(Clappr.Events.PLAYER_ERROR, function (e) { if (!cstopped) E.fatal.push("clappr " + (e && (e.code || e.description))); });
    stop = function () { cstopped = true; clappr.stop(); return Promise.resolve(); };
  } else if (${JSON.stringify(player)} === "shaka") {
    shaka.polyfill.installAll();
    var player = new shaka.Player();
    // One rendition, the one hls.js viewers start on, so that Shaka shares a
    // swarm with them; 6 segments behind the live edge (hls.js viewers play
    // 3 behind), so that what Shaka asks for is held by a viewer: a viewer
    // level with the others may be the one that fetches each new segment.
    // rebufferingGoal 2: as for DASH above.
    player.configure({ abr: { enabled: false }, restrictions: { maxBandwidth: 300000 }, streaming: { rebufferingGoal: 2 },
      manifest: { hls: { liveSegmentsDelay: 6 } } });
    E.session = edgeswarm.attachShaka(shaka, player);
    traceShaka(player);
    player.addEventListener("error", function (e) { (e.detail && e.detail.severity === 1 ? E.recovered : E.fatal).push(shakaError(e)); });
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
    // Distance to live (hls.js' latency) once playback has settled: the
    // largest seen after the first 10 s of playing.
    E.latency = 0; E.latencies = [];
    video.addEventListener("timeupdate", function () {
      if (E.playingAt && Date.now() - E.playingAt > 10000) {
        if (hls.latency > E.latency) E.latency = hls.latency;
        E.latencies.push(Math.round(hls.latency * 100) / 100);
      }
    });
    hls.loadSource(window.__src || "/live/master.m3u8");
    hls.attachMedia(video);
    stop = function () { hls.stopLoad(); return Promise.resolve(); };
  }
  window.e2eStop = function () { video.pause(); return stop(); };
  window.e2eReport = function () {
    return Promise.all(pending).then(function () {
      return {
        playingAt: E.playingAt, played: E.played, currentTime: video.currentTime, waiting: E.waiting,
        fatal: E.fatal, errors: E.errors, sources: E.sources, hashes: E.hashes, connects: E.connects, closes: E.closes, modes: E.modes, waits: E.waits, seeks: E.seeks, bufferings: E.bufferings, recovered: E.recovered,
        stats: edgeswarm.getStats(), supported: edgeswarm.supported(), latency: E.latency || 0, latencies: E.latencies || [],
      };
    });
  };
})();
</script>
</body></html>
`;
