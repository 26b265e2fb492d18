// Peer protocol frames (docs/protocol.md section 5): binary, big-endian,
// one frame per DataChannel message.

export const MAX_FRAME_SIZE = 65535;
export const MAX_CHUNK_PAYLOAD = 65530;
export const MAX_HAVE_BITS = 1024;
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER; // 2^53-1
export const MAX_KEY_LEN = 1024;
export const MIN_PUSH_REQ = 0x80000000;
export const FLAG_SERVES = 0x01;
export const FLAG_ACCEPTS_PUSH = 0x02;
export const PEER_VERSION = 2;

export const enum T {
  Hello = 1, Have, Request, Data, Chunk, Done, Cancel, Absent, Busy, Push,
}

/** A have-map: bit i of bits (LSB first) set = holds base+i. */
export interface HaveMap { base: number; count: number; bits: Uint8Array }

export type Frame =
  | { type: "hello"; min_version: number; max_version: number; flags: number }
  | { type: "have"; have: HaveMap }
  | { type: "request"; req: number; offset: number; seq?: number; key?: string }
  | { type: "data"; req: number; size: number; offset: number }
  | { type: "chunk"; req: number; payload: Uint8Array }
  | { type: "done" | "cancel" | "absent"; req: number }
  | { type: "busy"; req: number; retry_after_ms: number }
  | { type: "push"; req: number; seq: number };

/** FrameError.code is one of empty, too_large, unknown_frame, truncated, trailing_bytes, bad_value. */
export class FrameError extends Error {
  constructor(readonly code: string, msg: string) { super("peer frame: " + msg); }
}

const NAMES = ["", "hello", "have", "request", "data", "chunk", "done", "cancel", "absent", "busy", "push"];
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** Whether s is a valid content key: 1..1024 UTF-8 bytes, no control characters. */
export function validKey(s: string): boolean {
  if (s.length === 0 || enc.encode(s).length > MAX_KEY_LEN) return false;
  return !/[\u0000-\u001f\u007f-\u009f]/.test(s);
}

function u64(v: DataView, o: number): number {
  return v.getUint32(o) * 0x100000000 + v.getUint32(o + 4);
}
function putU64(v: DataView, o: number, n: number): void {
  v.setUint32(o, Math.floor(n / 0x100000000));
  v.setUint32(o + 4, n >>> 0);
}
function bad(code: string, msg: string): never { throw new FrameError(code, msg); }

/** Encodes a frame; throws FrameError on a field that breaks a rule. */
export function encodeFrame(f: Frame): Uint8Array {
  let b: Uint8Array;
  let v: DataView;
  const alloc = (n: number, t: number): void => { b = new Uint8Array(n); v = new DataView(b.buffer); b[0] = t; };
  switch (f.type) {
    case "hello":
      if (f.min_version < 1 || f.min_version > f.max_version || f.max_version > 255) bad("bad_value", "hello versions");
      alloc(4, T.Hello); b![1] = f.min_version; b![2] = f.max_version; b![3] = f.flags;
      return b!;
    case "have": {
      const h = f.have, n = (h.count + 7) >> 3;
      checkHave(h.base, h.count, h.bits, n);
      alloc(11 + n, T.Have); putU64(v!, 1, h.base); v!.setUint16(9, h.count); b!.set(h.bits.subarray(0, n), 11);
      return b!;
    }
    case "request": {
      if (f.key !== undefined) {
        if (!validKey(f.key)) bad("bad_value", "request key");
        const k = enc.encode(f.key);
        alloc(12 + k.length, T.Request); v!.setUint32(1, f.req); v!.setUint32(5, f.offset); b![9] = 1;
        v!.setUint16(10, k.length); b!.set(k, 12);
      } else {
        if (!(f.seq! >= 0 && f.seq! <= MAX_SEQUENCE)) bad("bad_value", "request seq");
        alloc(18, T.Request); v!.setUint32(1, f.req); v!.setUint32(5, f.offset); putU64(v!, 10, f.seq!);
      }
      return b!;
    }
    case "data":
      if (f.size < 1 || f.offset > f.size) bad("bad_value", "data size");
      alloc(13, T.Data); v!.setUint32(1, f.req); v!.setUint32(5, f.size); v!.setUint32(9, f.offset);
      return b!;
    case "chunk":
      if (f.payload.length < 1 || f.payload.length > MAX_CHUNK_PAYLOAD) bad("bad_value", "chunk payload");
      alloc(5 + f.payload.length, T.Chunk); v!.setUint32(1, f.req); b!.set(f.payload, 5);
      return b!;
    case "busy":
      alloc(9, T.Busy); v!.setUint32(1, f.req); v!.setUint32(5, f.retry_after_ms);
      return b!;
    case "push":
      if (f.req < MIN_PUSH_REQ || !(f.seq >= 0 && f.seq <= MAX_SEQUENCE)) bad("bad_value", "push");
      alloc(13, T.Push); v!.setUint32(1, f.req); putU64(v!, 5, f.seq);
      return b!;
    default:
      alloc(5, NAMES.indexOf(f.type)); v!.setUint32(1, f.req);
      return b!;
  }
}

function checkHave(base: number, count: number, bits: Uint8Array, n: number): void {
  if (count > MAX_HAVE_BITS) bad("bad_value", "have count above 1024");
  if (count % 8 !== 0 && n > 0 && bits[n - 1]! >> (count % 8) !== 0) bad("bad_value", "have padding bits set");
  if (count > 0 && (base > MAX_SEQUENCE || count - 1 > MAX_SEQUENCE - base)) bad("bad_value", "have past max sequence");
}

/** Decodes one frame; throws FrameError. Payloads alias the input. */
export function decodeFrame(buf: Uint8Array): Frame {
  const len = buf.length;
  if (len === 0) bad("empty", "empty");
  if (len > MAX_FRAME_SIZE) bad("too_large", "frame larger than 65535 bytes");
  const t = buf[0]!;
  if (t < T.Hello || t > T.Push) bad("unknown_frame", "unknown frame type " + t);
  const v = new DataView(buf.buffer, buf.byteOffset, len);
  const need = (n: number, exact = true): void => {
    if (len < n) bad("truncated", NAMES[t] + " truncated");
    if (exact && len > n) bad("trailing_bytes", NAMES[t] + " has trailing bytes");
  };
  switch (t) {
    case T.Hello: {
      need(4);
      const min = buf[1]!, max = buf[2]!;
      if (min < 1 || min > max) bad("bad_value", "hello versions");
      return { type: "hello", min_version: min, max_version: max, flags: buf[3]! };
    }
    case T.Have: {
      need(11, false);
      const base = u64(v, 1), count = v.getUint16(9), n = (count + 7) >> 3;
      if (count > MAX_HAVE_BITS) bad("bad_value", "have count above 1024");
      need(11 + n);
      const bits = buf.subarray(11, 11 + n);
      if (v.getUint32(1) > 0x1fffff && count > 0) bad("bad_value", "have past max sequence");
      checkHave(base, count, bits, n);
      return { type: "have", have: { base, count, bits } };
    }
    case T.Request: {
      need(10, false);
      const req = v.getUint32(1), offset = v.getUint32(5), kind = buf[9];
      if (kind === 0) {
        need(18);
        if (v.getUint32(10) > 0x1fffff) bad("bad_value", "request seq above 2^53-1");
        return { type: "request", req, offset, seq: u64(v, 10) };
      }
      if (kind !== 1) bad("bad_value", "request ref kind");
      need(12, false);
      const kl = v.getUint16(10);
      need(12 + kl);
      let key = "";
      try { key = dec.decode(buf.subarray(12)); } catch { bad("bad_value", "request key not UTF-8"); }
      if (!validKey(key)) bad("bad_value", "request key");
      return { type: "request", req, offset, key };
    }
    case T.Data: {
      need(13);
      const size = v.getUint32(5), offset = v.getUint32(9);
      if (size < 1 || offset > size) bad("bad_value", "data size/offset");
      return { type: "data", req: v.getUint32(1), size, offset };
    }
    case T.Chunk:
      need(6, false);
      return { type: "chunk", req: v.getUint32(1), payload: buf.subarray(5) };
    case T.Busy:
      need(9);
      return { type: "busy", req: v.getUint32(1), retry_after_ms: v.getUint32(5) };
    case T.Push: {
      need(13);
      const req = v.getUint32(1);
      if (req < MIN_PUSH_REQ) bad("bad_value", "push id below 2^31");
      if (v.getUint32(5) > 0x1fffff) bad("bad_value", "push seq above 2^53-1");
      return { type: "push", req, seq: u64(v, 5) };
    }
    default:
      need(5);
      return { type: NAMES[t] as "done", req: v.getUint32(1) };
  }
}

/** Builds a have-map of the given sequences (at most the newest 1024). */
export function buildHave(seqs: number[]): HaveMap {
  if (seqs.length === 0) return { base: 0, count: 0, bits: new Uint8Array(0) };
  const sorted = [...seqs].sort((a, b) => a - b);
  const last = sorted[sorted.length - 1]!;
  const base = Math.max(sorted[0]!, last - MAX_HAVE_BITS + 1);
  const count = last - base + 1;
  const bits = new Uint8Array((count + 7) >> 3);
  for (const s of sorted) if (s >= base) bits[(s - base) >> 3]! |= 1 << ((s - base) & 7);
  return { base, count, bits };
}

/** Whether a have-map holds seq. */
export function haveHas(h: HaveMap, seq: number): boolean {
  const i = seq - h.base;
  return i >= 0 && i < h.count && (h.bits[i >> 3]! & (1 << (i & 7))) !== 0;
}
