// One WebRTC connection to a peer of the swarm, speaking the peer protocol
// (docs/protocol.md section 5) on its single DataChannel "edgeswarm".

import type { Clock } from "./clock";
import {
  decodeFrame, encodeFrame, FLAG_ACCEPTS_PUSH, FLAG_SERVES, Frame, FrameError, HaveMap, haveHas,
  MIN_PUSH_REQ, PEER_VERSION,
} from "./frame";
import { relayedPath } from "./path";
import type { ServerConfig } from "./signal";

export const LABEL = "edgeswarm";
export const BUFFERED_HIGH = 1048576;
export const BUFFERED_LOW = 262144;
/**
 * A small frame (busy, absent, cancel, have) is not sent while the channel
 * buffers more than this: chunks stop at BUFFERED_HIGH, so a peer that
 * reads never gets there, and one that keeps asking without reading is
 * dropped instead of being buffered for.
 */
export const MAX_BACKLOG = BUFFERED_HIGH + 4 * 65535;

/** A relay to send through the tracker (without type and to). */
export interface RelayOut { session: string; kind: "offer" | "answer" | "candidate"; sdp?: string; candidate?: string; sdp_mid?: string; sdp_mline_index?: number; ufrag?: string }

/** What a responder serves: verified bytes of a segment, by sequence or key. */
export type Lookup = (ref: { seq?: number; key?: string }) => Uint8Array | undefined;

export interface PeerHost {
  clock: Clock;
  config(): ServerConfig;
  rtc: RTCConfiguration;
  createPC(c: RTCConfiguration): RTCPeerConnection;
  serves: boolean;
  acceptsPush: boolean;
  relay(to: string, r: RelayOut): void;
  lookup: Lookup;
  haveMap(): HaveMap;
  /** Bytes sent to this peer may go now (upload cap); returns ms to wait. */
  uploadWait(bytes: number): number;
  onUpload(bytes: number): void;
  /**
   * ms after which a request may be asked again, when this viewer cannot
   * serve now (its device is busy); 0 or absent: serve.
   */
  uploadBusy?(): number;
  onReady(p: Peer): void;
  onHave(p: Peer): void;
  onClose(p: Peer, reason: string): void;
  /** A push announced seq: return a receiver, or undefined to refuse (cancel). */
  onPush(p: Peer, seq: number): Receiver | undefined;
}

/** Receives one response (requested or pushed). */
export interface Receiver {
  /** data frame: total size and first offset; return false to cancel. */
  data(size: number, offset: number): boolean;
  chunk(b: Uint8Array): boolean;
  done(): void;
  /** absent, busy (retryMs), or the connection closed. */
  fail(reason: "absent" | "busy" | "closed" | "protocol", retryMs?: number): void;
}

interface Slot { r: Receiver; state: "pending" | "receiving" }
interface Incoming { req: number; ref: { seq?: number; key?: string }; offset: number; push?: boolean }

let sessions = 0;
const newSession = (): string => (Date.now() % 1e9).toString(36) + "-" + (++sessions).toString(36);

export class Peer {
  pc?: RTCPeerConnection;
  dc?: RTCDataChannel;
  session = "";
  /** Our offer is waiting for an answer (glare detection). */
  offering = false;
  ready = false;
  closed = false;
  version = 0;
  flags = 0;
  have: HaveMap = { base: 0, count: 0, bits: new Uint8Array(0) };
  /** Our outstanding requests, by id. */
  out = new Map<number, Slot>();
  busyUntil = 0;
  /** Observed receive rate, bytes/s (EWMA), for picking sources. */
  rate = 0;
  /**
   * The selected candidate pair has a relay (TURN) candidate: bytes from
   * this peer left a relay, node egress, and count as "relay", never as
   * "p2p". Learnt from getStats() when the channel opens and whenever the
   * ICE state changes.
   */
  relayed = false;
  openedAt: number;
  private nextReq = 1;
  private nextPush = MIN_PUSH_REQ;
  /** The highest push id received: push ids strictly increase. */
  private lastPush = 0;
  private cancelled = new Set<number>();
  private pushes = new Map<number, Slot>();
  private queue: Incoming[] = [];
  private serving?: Incoming;
  private stopServing = false;
  private pendingCands: RTCIceCandidateInit[] = [];
  private helloTimer: unknown;
  private lowWaiters: (() => void)[] = [];

  constructor(readonly id: string, readonly seeder: boolean, private h: PeerHost) {
    this.openedAt = h.clock.now();
  }

  get serves(): boolean { return this.ready && (this.flags & FLAG_SERVES) !== 0; }
  holds(seq: number): boolean { return haveHas(this.have, seq); }

  /** Starts a connection as the offerer. */
  async offer(): Promise<void> {
    this.session = newSession();
    this.offering = true;
    const pc = this.makePC();
    this.attach(pc.createDataChannel(LABEL, { ordered: true }));
    try {
      const o = await pc.createOffer();
      await pc.setLocalDescription(o);
      // In glare the other's offer may have replaced this attempt meanwhile:
      // this offer is then sent nowhere (this.session is the other's now).
      if (this.closed || this.pc !== pc) return;
      this.h.relay(this.id, { session: this.session, kind: "offer", sdp: pc.localDescription?.sdp ?? o.sdp ?? "" });
    } catch {
      // A connection closed by a later attempt rejects: not this peer's failure.
      if (this.pc === pc) this.close("offer_failed");
    }
  }

  /** Handles a relay from this peer. */
  async relay(r: { session: string; kind: string; sdp?: string; candidate?: string; sdp_mid?: string; sdp_mline_index?: number; ufrag?: string }): Promise<void> {
    let pc = this.pc;
    try {
      if (r.kind === "offer") {
        this.session = r.session;
        this.offering = false;
        pc = this.makePC();
        pc.ondatachannel = (e) => { if (e.channel.label === LABEL) this.attach(e.channel); else e.channel.close(); };
        await pc.setRemoteDescription({ type: "offer", sdp: r.sdp });
        await this.flushCands();
        const a = await pc.createAnswer();
        await pc.setLocalDescription(a);
        if (this.closed || this.pc !== pc) return;
        this.h.relay(this.id, { session: this.session, kind: "answer", sdp: pc.localDescription?.sdp ?? a.sdp ?? "" });
        return;
      }
      if (r.session !== this.session || !this.pc) return; // a stale attempt
      if (r.kind === "answer") {
        if (!this.offering) return;
        this.offering = false;
        await this.pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
        await this.flushCands();
      } else if (r.kind === "candidate") {
        const c: RTCIceCandidateInit = { candidate: r.candidate ?? "", sdpMid: r.sdp_mid ?? null, sdpMLineIndex: r.sdp_mline_index ?? null };
        if (r.ufrag) c.usernameFragment = r.ufrag;
        if (r.candidate === undefined) return; // end of candidates
        if (this.pc.remoteDescription) await this.pc.addIceCandidate(c);
        else this.pendingCands.push(c);
      }
    } catch {
      if (this.pc === pc) this.close("signaling_failed");
    }
  }

  private async flushCands(): Promise<void> {
    const cs = this.pendingCands;
    this.pendingCands = [];
    for (const c of cs) await this.pc!.addIceCandidate(c);
  }

  private makePC(): RTCPeerConnection {
    this.teardown();
    this.closed = false;
    const pc = this.h.createPC(this.h.rtc);
    this.pc = pc;
    const session = this.session;
    pc.onicecandidate = (e) => {
      if (this.pc !== pc) return;
      const c = e.candidate;
      const r: RelayOut = { session, kind: "candidate" };
      if (c && c.candidate) {
        r.candidate = c.candidate;
        if (c.sdpMid != null) r.sdp_mid = c.sdpMid;
        if (c.sdpMLineIndex != null) r.sdp_mline_index = c.sdpMLineIndex;
        if (c.usernameFragment) r.ufrag = c.usernameFragment;
      }
      this.h.relay(this.id, r);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc === pc && (pc.connectionState === "failed" || pc.connectionState === "closed")) this.close("connection_" + pc.connectionState);
    };
    pc.oniceconnectionstatechange = () => { if (this.pc === pc) this.checkPath(pc); };
    const c = this.h.clock;
    c.clearTimeout(this.helloTimer);
    this.helloTimer = c.setTimeout(() => { if (!this.ready) this.close("hello_timeout"); }, this.h.config().hello_timeout_ms);
    return pc;
  }

  private attach(dc: RTCDataChannel): void {
    this.dc = dc;
    dc.binaryType = "arraybuffer";
    dc.bufferedAmountLowThreshold = BUFFERED_LOW;
    // A channel replaced by a later attempt (glare, a new offer) is closed by
    // teardown: its events no longer speak for this peer.
    dc.onopen = () => {
      if (this.dc !== dc) return;
      if (this.pc) this.checkPath(this.pc);
      const f = (this.h.serves ? FLAG_SERVES : 0) | (this.h.acceptsPush ? FLAG_ACCEPTS_PUSH : 0);
      this.send({ type: "hello", min_version: 1, max_version: PEER_VERSION, flags: f });
      this.sendHave();
    };
    dc.onclose = () => { if (this.dc === dc) this.close("channel_closed"); };
    dc.onbufferedamountlow = () => { const w = this.lowWaiters; this.lowWaiters = []; w.forEach((f) => f()); };
    dc.onmessage = (e) => {
      if (this.dc !== dc) return;
      if (!(e.data instanceof ArrayBuffer)) return this.close("protocol_error");
      let f: Frame;
      try { f = decodeFrame(new Uint8Array(e.data)); } catch (err) {
        return this.close("protocol_error", err instanceof FrameError ? err.code : "");
      }
      this.onFrame(f);
    };
  }

  /** Learns from pc's stats whether its selected pair is relayed. */
  private checkPath(pc: RTCPeerConnection): void {
    void relayedPath(pc).then((r) => { if (r !== undefined && this.pc === pc) this.relayed = r; });
  }

  /** Sends our have-map. */
  sendHave(): void {
    if (this.dc?.readyState === "open") this.send({ type: "have", have: this.h.haveMap() });
  }

  private send(f: Frame): void {
    if (f.type !== "chunk" && (this.dc?.bufferedAmount ?? 0) > MAX_BACKLOG) return this.close("not_reading");
    try { this.dc?.send(encodeFrame(f) as Uint8Array<ArrayBuffer>); } catch { this.close("send_failed"); }
  }

  private onFrame(f: Frame): void {
    if (!this.ready) {
      if (f.type !== "hello") return this.close("protocol_error");
      const v = Math.min(PEER_VERSION, f.max_version);
      if (v < f.min_version) return this.close("version_mismatch");
      this.version = v;
      this.flags = f.flags;
      this.ready = true;
      this.h.clock.clearTimeout(this.helloTimer);
      this.h.onReady(this);
      return;
    }
    switch (f.type) {
      case "hello": return this.close("protocol_error");
      case "have": this.have = f.have; this.h.onHave(this); return;
      case "request": return this.onRequest(f.req, f.seq !== undefined ? { seq: f.seq } : { key: f.key! }, f.offset);
      case "cancel": return this.onCancel(f.req);
      case "push": {
        if (this.version < 2 || !this.h.acceptsPush) return this.close("protocol_error");
        // Responses never interleave: a push while another is open, or an
        // id that does not increase, breaks the protocol (and a flood of
        // them would each hold a receiver).
        if (this.pushes.size > 0 || f.req <= this.lastPush) return this.close("protocol_error", "push");
        this.lastPush = f.req;
        const r = this.h.onPush(this, f.seq);
        if (!r) { this.send({ type: "cancel", req: f.req }); this.cancelled.add(f.req); return; }
        this.pushes.set(f.req, { r, state: "pending" });
        return;
      }
      default: return this.onResponse(f);
    }
  }

  private onResponse(f: Frame & { req: number }): void {
    const slot = this.out.get(f.req) ?? this.pushes.get(f.req);
    if (!slot) {
      if (this.cancelled.has(f.req)) return; // in flight when we cancelled
      return this.close("protocol_error");
    }
    const r = slot.r;
    const end = (): void => { this.out.delete(f.req); this.pushes.delete(f.req); };
    switch (f.type) {
      case "data":
        if (slot.state !== "pending") return this.close("protocol_error");
        slot.state = "receiving";
        if (!r.data(f.size, f.offset)) this.cancel(f.req);
        return;
      case "chunk":
        if (slot.state !== "receiving") return this.close("protocol_error");
        if (!r.chunk(f.payload)) this.cancel(f.req);
        return;
      case "done":
        if (slot.state !== "receiving") return this.close("protocol_error");
        end();
        r.done();
        return;
      case "absent": case "busy":
        if (slot.state !== "pending" || f.req >= MIN_PUSH_REQ) return this.close("protocol_error");
        end();
        if (f.type === "busy") this.busyUntil = this.h.clock.now() + (f.retry_after_ms || 1000);
        r.fail(f.type, f.type === "busy" ? f.retry_after_ms : undefined);
        return;
    }
  }

  /** Sends a request; the receiver hears the outcome. Returns the request id, or -1. */
  request(ref: { seq?: number; key?: string }, offset: number, r: Receiver): number {
    if (!this.serves || this.closed) return -1;
    const req = this.nextReq++;
    this.out.set(req, { r, state: "pending" });
    this.send({ type: "request", req, offset, ...ref });
    return req;
  }

  /** Cancels our request or a push to us; later frames for it are dropped. */
  cancel(req: number): void {
    if (!this.out.delete(req) && !this.pushes.delete(req)) return;
    this.cancelled.add(req);
    if (this.cancelled.size > 256) this.cancelled.delete(this.cancelled.values().next().value!);
    this.send({ type: "cancel", req });
  }

  // ---- responder ----

  private onRequest(req: number, ref: { seq?: number; key?: string }, offset: number): void {
    if (!this.h.serves) return this.send({ type: "absent", req });
    // A busy device says so at once rather than send slowly (playback first).
    const wait = this.h.uploadBusy?.() ?? 0;
    if (wait > 0) return this.send({ type: "busy", req, retry_after_ms: wait });
    // Pushes never count against max_inflight (section 5.7).
    const open = this.queue.filter((q) => !q.push).length + (this.serving && !this.serving.push ? 1 : 0);
    if (open >= this.h.config().max_inflight) {
      return this.send({ type: "busy", req, retry_after_ms: 0 });
    }
    this.queue.push({ req, ref, offset });
    if (!this.serving) void this.pump();
  }

  private onCancel(req: number): void {
    this.queue = this.queue.filter((q) => q.req !== req);
    if (this.serving?.req === req) this.stopServing = true;
  }

  /** Pushes a held segment to this peer (version 2, accepts-push). Returns whether queued. */
  push(seq: number): boolean {
    if (!this.ready || this.version < 2 || (this.flags & FLAG_ACCEPTS_PUSH) === 0) return false;
    if (!this.h.lookup({ seq })) return false;
    this.queue.push({ req: this.nextPush++, ref: { seq }, offset: 0, push: true });
    if (!this.serving) void this.pump();
    return true;
  }

  private async pump(): Promise<void> {
    while (!this.closed && this.queue.length > 0) {
      const q = this.queue.shift()!;
      this.serving = q;
      this.stopServing = false;
      const bytes = this.h.lookup(q.ref);
      if (!bytes || q.offset > bytes.length) {
        if (!q.push) this.send({ type: "absent", req: q.req });
        continue;
      }
      if (q.push) this.send({ type: "push", req: q.req, seq: q.ref.seq! });
      this.send({ type: "data", req: q.req, size: bytes.length, offset: q.offset });
      const cs = this.h.config().chunk_size;
      for (let o = q.offset; o < bytes.length && !this.stopServing && !this.closed;) {
        const dc = this.dc!;
        if (dc.bufferedAmount > BUFFERED_HIGH) await this.waitLow(dc);
        const part = bytes.subarray(o, Math.min(bytes.length, o + cs));
        const wait = this.h.uploadWait(part.length);
        if (wait > 0) await new Promise<void>((res) => this.h.clock.setTimeout(res, wait));
        if (this.stopServing || this.closed) break;
        this.send({ type: "chunk", req: q.req, payload: part });
        this.h.onUpload(part.length);
        o += part.length;
      }
      if (!this.stopServing && !this.closed) this.send({ type: "done", req: q.req });
    }
    this.serving = undefined;
  }

  /**
   * Waits for bufferedamountlow. A peer that drains nothing of our buffer
   * for idle_timeout_ms is not reading (a half-open channel): it is
   * dropped rather than holding the upload forever. A slow reader is
   * waited for.
   */
  private waitLow(dc: RTCDataChannel): Promise<void> {
    return new Promise<void>((res) => {
      const c = this.h.clock, idle = this.h.config().idle_timeout_ms;
      let last = dc.bufferedAmount;
      const check = (): void => {
        if (this.closed) return;
        if (dc.bufferedAmount >= last) return this.close("not_reading");
        last = dc.bufferedAmount;
        t = c.setTimeout(check, idle);
      };
      let t = c.setTimeout(check, idle);
      this.lowWaiters.push(() => { c.clearTimeout(t); res(); });
    });
  }

  private teardown(): void {
    const pc = this.pc, dc = this.dc;
    this.pc = undefined;
    this.dc = undefined;
    this.ready = false;
    try { dc?.close(); } catch { /* already closed */ }
    try { pc?.close(); } catch { /* already closed */ }
  }

  /** Closes the connection; every outstanding receiver fails. */
  close(reason: string, detail = ""): void {
    if (this.closed) return;
    this.closed = true;
    this.h.clock.clearTimeout(this.helloTimer);
    this.teardown();
    const rs = [...this.out.values(), ...this.pushes.values()];
    this.out.clear();
    this.pushes.clear();
    this.queue = [];
    this.stopServing = true;
    const w = this.lowWaiters; this.lowWaiters = []; w.forEach((f) => f());
    for (const { r } of rs) r.fail(reason === "protocol_error" ? "protocol" : "closed");
    this.h.onClose(this, detail ? reason + ":" + detail : reason);
  }
}
