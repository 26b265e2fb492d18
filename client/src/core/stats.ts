// Byte counters and the figures derived from them (DESIGN.md "Honest numbers").

import type { Stats } from "../api";

export type { Stats };

export class Counters {
  http = 0; p2p = 0; seed = 0; relay = 0; upload = 0; verified = 0; rejected = 0; aborts = 0; stalls = 0;

  /** The figures; the risk fields default to a calm "p2p". */
  snapshot(peers: number, extra: Pick<Stats, "swarm" | "peerId" | "connected"> & Partial<Pick<Stats, "mode" | "modeReason" | "risk">>): Stats {
    const all = this.http + this.p2p + this.seed + this.relay;
    return {
      httpBytes: this.http, p2pBytes: this.p2p, seedBytes: this.seed, relayBytes: this.relay, uploadBytes: this.upload, peers,
      peerEfficiency: all ? (this.p2p + this.seed + this.relay) / all : 0, offload: all ? this.p2p / all : 0,
      segmentsVerified: this.verified, segmentsRejected: this.rejected, aborts: this.aborts, stalls: this.stalls,
      mode: "p2p", modeReason: "calm", risk: { lagMs: 0, longTasks: 0, lateLoads: 0, stalls: 0 },
      ...extra,
    };
  }

  copy(): Counters { return Object.assign(new Counters(), this); }
}
