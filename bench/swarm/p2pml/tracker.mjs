// WebSocket BitTorrent tracker for the p2p-media-loader scenario of the swarm
// benchmark: the signalling server its browser peers meet through.
//
//   const { startTracker } = await import("/abs/path/to/tracker.mjs");
//   const tracker = await startTracker(); // tracker.url: ws://127.0.0.1:PORT
//   ...
//   await tracker.close();
//
// Only the WebSocket tracker runs (no UDP, no HTTP announce, no stats page),
// on 127.0.0.1 and a port the kernel picks.

// The server entry alone: the package index also loads the Node WebRTC
// client, whose native module is not installed (--ignore-scripts).
import Server from "bittorrent-tracker/server";

export async function startTracker() {
  const server = new Server({ http: false, udp: false, ws: true, stats: false });
  const sockets = new Set();
  server.ws.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // A peer that misbehaves must not bring the benchmark down: the tracker
  // reports such things as warnings, and errors after start are not fatal
  // to the peers already in a swarm.
  server.on("warning", () => {});

  await new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      server.on("error", () => {});
      resolve();
    });
    server.listen(0, "127.0.0.1");
  });

  const { port } = server.http.address();
  let closing;
  return {
    url: `ws://127.0.0.1:${port}`,
    close() {
      closing ??= new Promise((resolve) => {
        for (const socket of sockets) socket.terminate();
        server.close(() => resolve());
        server.http.closeAllConnections?.();
      });
      return closing;
    },
  };
}
