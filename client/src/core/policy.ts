// The node's delivery policy for this viewer (docs/protocol.md, section 4.4, policy): what
// the operator allows for its stream and platform, applied live. The
// engine asks it before every peer decision; it knows no peer itself.

import type { PolicyMsg } from "./signal";

/** The viewer's group in telemetry: P2P, HTTP-only by holdback or policy, or HTTP-only for lack of WebRTC or signaling. */
export type Group = "p2p" | "holdback" | "http";

export class PolicyState {
  private p?: PolicyMsg;
  private held = false;

  /**
   * @param optUpload the page's upload option (undefined: not given)
   * @param mobile whether the device is mobile: before the node's policy
   *   says otherwise, a mobile viewer does not upload
   */
  constructor(private readonly optUpload: boolean | undefined, private readonly mobile: boolean) {}

  /** A new join: its welcome says whether this viewer is held back; the previous join's policy is gone. */
  join(holdback: boolean | undefined): void { this.p = undefined; this.held = !!holdback; }

  /** Applies a policy message; false when it is older than the one in force (ignored). */
  apply(m: PolicyMsg): boolean {
    if (this.p && m.revision <= this.p.revision) return false;
    this.p = m;
    return true;
  }

  /** Every byte over HTTP: no peer connection at all. */
  get httpOnly(): boolean { return this.held || !!this.p?.holdback || !!this.p?.http_only; }

  /** No segment exchange with other viewers (the super-peer may still push). */
  get noViewerP2P(): boolean { return this.httpOnly || !!this.p?.p2p_off; }

  /**
   * Whether this viewer serves segments. The node's upload_off always wins;
   * otherwise the page's option; otherwise the node's word (its policy has
   * resolved the platform default); before any policy, desktop uploads and
   * mobile does not.
   */
  get uploads(): boolean {
    if (this.noViewerP2P || this.p?.upload_off) return false;
    return this.optUpload ?? (this.p ? true : !this.mobile);
  }

  /** The policy's bound on peer connections (Infinity: none). */
  get maxPeers(): number { return this.httpOnly ? 0 : this.p?.max_peers || Infinity; }

  /** The policy's upload bound in bytes/s (0: none). */
  get maxUploadBps(): number { return this.p?.max_upload_bps ?? 0; }

  /** The critical window the policy sets, ms, or undefined to keep the welcome config's. */
  get criticalMs(): number | undefined { return this.p?.critical_ms; }

  /** The upload rate to apply given the page's own cap (0: none). */
  uploadRate(opt: number): number {
    const p = this.maxUploadBps;
    if (p <= 0) return opt;
    return opt > 0 ? Math.min(opt, p) : p;
  }

  /** The group this viewer reports, given whether P2P can work here at all. */
  group(p2pCapable: boolean): Group {
    if (!p2pCapable) return "http";
    return this.httpOnly ? "holdback" : "p2p";
  }
}
