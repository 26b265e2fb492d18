// Fakes of the browser APIs the engine uses: WebSocket, RTCPeerConnection,
// RTCDataChannel. The remote ends are driven by the test.
import { decodeFrame, encodeFrame, Frame } from "../src/core/frame";
import type { WSLike } from "../src/core/signaling";
import { decodeSignal, encodeSignal, SignalMessage } from "../src/core/signal";

export class FakeWS implements WSLike {
  readyState = 0;
  sent: SignalMessage[] = [];
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(d: string): void { this.sent.push(decodeSignal(d, "client")); }
  close(): void { this.readyState = 3; this.onclose?.({}); }
  open(): void { this.readyState = 1; this.onopen?.({}); }
  serve(m: SignalMessage): void { this.onmessage?.({ data: encodeSignal(m) }); }
  drop(): void { this.readyState = 3; this.onclose?.({}); }
  of<T extends SignalMessage["type"]>(t: T): Extract<SignalMessage, { type: T }>[] {
    return this.sent.filter((m) => m.type === t) as Extract<SignalMessage, { type: T }>[];
  }
}

export class FakeDC {
  readyState = "connecting";
  binaryType = "blob";
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  frames: Frame[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onbufferedamountlow: (() => void) | null = null;
  constructor(readonly label: string) {}
  send(b: Uint8Array): void { this.frames.push(decodeFrame(new Uint8Array(b))); }
  close(): void { if (this.readyState !== "closed") { this.readyState = "closed"; this.onclose?.(); } }
  open(): void { this.readyState = "open"; this.onopen?.(); }
  /** The remote peer sends a frame. */
  recv(f: Frame): void { const b = encodeFrame(f); this.onmessage?.({ data: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) }); }
}

export class FakePC {
  static all: FakePC[] = [];
  /** The getStats() entries of PCs made from now on (the selected pair, its candidates). */
  static report: Record<string, unknown>[] = [];
  report = FakePC.report;
  dc?: FakeDC;
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  connectionState = "new";
  closed = false;
  onicecandidate: ((e: { candidate: null }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  ondatachannel: ((e: { channel: FakeDC }) => void) | null = null;
  constructor(readonly cfg: unknown) { FakePC.all.push(this); }
  createDataChannel(label: string): FakeDC { this.dc = new FakeDC(label); return this.dc; }
  async createOffer() { return { type: "offer", sdp: "v=0 offer" }; }
  async createAnswer() { return { type: "answer", sdp: "v=0 answer" }; }
  async setLocalDescription(d: { type: string; sdp: string }) { this.localDescription = d; }
  async setRemoteDescription(d: { type: string; sdp: string }) {
    this.remoteDescription = d;
    if (d.type === "answer") queueMicrotask(() => this.dc?.open());
    if (d.type === "offer") queueMicrotask(() => { this.dc = new FakeDC("edgeswarm"); this.ondatachannel?.({ channel: this.dc }); this.dc.open(); });
  }
  async addIceCandidate() {}
  async getStats(): Promise<Map<string, unknown>> { return new Map(this.report.map((r) => [r.id as string, r])); }
  close(): void { this.closed = true; this.dc?.close(); }
}
