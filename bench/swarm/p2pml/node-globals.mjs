// The WebTorrent client inside p2p-media-loader reads `process.browser`
// (and `debug` reads `process.env`), which bundlers for the browser are
// expected to provide. The bundle is built without --define, so this module,
// imported first by entry.mjs, provides the minimum when the page has none.
if (typeof globalThis.process === "undefined") {
  Object.defineProperty(globalThis, "process", {
    value: { browser: true, env: {} },
    configurable: true,
    writable: true,
  });
}
