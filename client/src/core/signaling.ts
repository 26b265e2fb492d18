// The tracker connection: one WebSocket to the node's /swarm, joined to at
// most one swarm, reconnecting with backoff and jitter (protocol section 4).

import { backoff, Clock } from "./clock";
import { RULES } from "./config";
import { SignalURLs } from "./failover";
import { decodeSignal, encodeSignal, SignalMessage } from "./signal";

/** The part of WebSocket the client uses (injectable in tests). */
export interface WSLike {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  onopen: ((e: unknown) => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  onclose: ((e: unknown) => void) | null;
  onerror: ((e: unknown) => void) | null;
}

export interface JoinReq { swarm: string; ticket?: string; upload: boolean; mobile: boolean; client: string }

export interface SignalingHost {
  clock: Clock;
  createWS(url: string): WSLike;
  random(): number;
  onMessage(m: SignalMessage): void;
  /** The connection dropped (or the swarm was left): peers of the old join are stale. */
  onDown(reason: string): void;
  onError(code: string, message: string): void;
}

export class Signaling {
  private ws?: WSLike;
  private attempt = 0;
  private timer: unknown;
  private wantJoin?: JoinReq;
  private joined?: string;
  private ticketBad = false;
  private stopped = false;
  private waiting = false;

  private urls: SignalURLs;

  constructor(url: string, private h: SignalingHost) { this.urls = new SignalURLs(url); }

  /** The node's signaling URL in use (another node's after a failover). */
  get url(): string { return this.urls.current; }

  get connected(): boolean { return this.ws?.readyState === 1; }
  get swarm(): string | undefined { return this.joined; }

  /** Sets the swarm to be in (undefined: none). Leaves the old one on the same socket. */
  want(j: JoinReq | undefined): void {
    const same = j && this.wantJoin && j.swarm === this.wantJoin.swarm;
    if (j?.ticket && j.ticket !== this.wantJoin?.ticket) this.ticketBad = false;
    this.wantJoin = j;
    if (same && this.joined === j!.swarm) return;
    if (this.joined && this.connected) {
      this.h.onDown("leave");
      this.send({ type: "leave" });
      this.joined = undefined;
    }
    if (!j) return;
    if (!this.ws) { if (!this.waiting) this.connect(); }
    else if (this.connected) this.join();
  }

  /** Sends a message; returns false when not connected or invalid. */
  send(m: SignalMessage): boolean {
    if (!this.connected) return false;
    try { this.ws!.send(encodeSignal(m)); return true; } catch { return false; }
  }

  stop(): void {
    this.stopped = true;
    this.h.clock.clearTimeout(this.timer);
    if (this.joined) this.send({ type: "leave" });
    this.ws?.close(1000);
    this.ws = undefined;
  }

  private join(): void {
    const j = this.wantJoin;
    if (!j || this.ticketBad) return;
    const caps = { upload: j.upload || undefined, mobile: j.mobile || undefined };
    if (this.send({ type: "join", swarm: j.swarm, ticket: j.ticket, caps, client: j.client })) this.joined = j.swarm;
  }

  private connect(): void {
    if (this.stopped) return;
    let ws: WSLike;
    try { ws = this.h.createWS(this.url); } catch { return this.retry("connect_failed"); }
    this.ws = ws;
    ws.onopen = () => this.join();
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      let m: SignalMessage;
      try { m = decodeSignal(e.data, "server"); } catch (err) {
        this.h.onError("bad_message", String((err as Error).message));
        return;
      }
      if (m.type === "welcome") { this.attempt = 0; this.urls.welcomed(m.config.signal_urls); }
      if (m.type === "error") {
        if (m.code === "ticket_invalid") this.ticketBad = true;
        this.h.onError(m.code, m.message);
        if (m.retry_ms) this.attempt = Math.max(this.attempt, Math.ceil(Math.log2(m.retry_ms / RULES.reconnect.firstMs + 1)));
      }
      this.h.onMessage(m);
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.joined = undefined;
      this.h.onDown("closed");
      this.retry("closed", this.urls.failed());
    };
  }

  private retry(_why: string, failover = false): void {
    if (this.stopped || !this.wantJoin) return;
    // Another node of the cluster is tried at once (a few ms of jitter
    // spread a dead node's viewers), the same one after a backoff.
    const d = failover ? Math.round(RULES.failoverJitterMs * this.h.random()) : backoff(this.attempt++, RULES.reconnect, this.h.random);
    this.h.clock.clearTimeout(this.timer);
    this.waiting = true;
    this.timer = this.h.clock.setTimeout(() => { this.waiting = false; if (!this.ws) this.connect(); }, d);
  }
}
