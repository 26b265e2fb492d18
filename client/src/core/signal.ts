// Signaling protocol version 1 (docs/protocol.md section 4): canonical
// encoding and strict decoding of the JSON messages on /swarm.

import { JSONError, JVal, NotInt, parseStrict } from "./json";
import { MAX_SEQUENCE, validKey } from "./frame";

export const SIGNAL_VERSION = 1;
export const MAX_MESSAGE_SIZE = 16384;
export const MAX_DEPTH = 8;

export interface Caps { upload?: boolean; mobile?: boolean }
export interface Rewrite { match: string; replace?: string }
export interface KeyRules { keep_host?: boolean; keep_query?: boolean; rewrites?: Rewrite[] }
export interface ICEServerConf { urls: string[]; username?: string; credential?: string }
/** The client configuration the node sends in welcome. */
export interface ServerConfig {
  keys: KeyRules; ice_servers?: ICEServerConf[];
  max_peers: number; max_inflight: number; chunk_size: number;
  hello_timeout_ms: number; request_timeout_ms: number; idle_timeout_ms: number;
  critical_ms: number; prefetch_ms: number; keep_segments: number; stats_interval_ms: number;
  signal_urls?: string[];
  /** This viewer is in the HTTP-only control group for its join. */
  holdback?: boolean;
}
/** The node's delivery policy for this viewer (docs/protocol.md, section 4.4, policy). */
export interface PolicyMsg {
  revision: number; p2p_off?: boolean; http_only?: boolean; holdback?: boolean; upload_off?: boolean;
  max_peers?: number; max_upload_bps?: number; critical_ms?: number;
}
export interface Digest { key: string; seq?: number; size: number; sha256: string }
export interface StatsCounters {
  http_bytes?: number; p2p_bytes?: number; seed_bytes?: number; upload_bytes?: number;
  digest_failures?: number; aborts?: number; peers?: number;
  // Viewer telemetry (protocol revision 1.1, optional fields).
  relay_bytes?: number; stalls?: number; stall_ms?: number; watch_ms?: number; startup_ms?: number;
  bitrate?: number; live_ms?: number; browser?: string; browser_major?: number; mobile?: boolean;
  webrtc?: boolean; upload?: boolean; group?: "p2p" | "holdback" | "http"; stream?: string; swarm?: string;
  errors?: { http?: number; peer?: number; signal?: number; media?: number; other?: number };
  session?: string;
}

export type SignalMessage =
  | { type: "join"; swarm: string; ticket?: string; caps?: Caps; client?: string }
  | { type: "welcome"; peer_id: string; swarm: string; config: ServerConfig }
  | { type: "peers"; peers: { id: string; seeder?: boolean }[] }
  | { type: "peer_left"; id: string }
  | { type: "relay"; to?: string; from?: string; session: string; kind: "offer" | "answer" | "candidate";
      sdp?: string; candidate?: string; sdp_mid?: string; sdp_mline_index?: number; ufrag?: string }
  | { type: "have"; ranges?: [number, number][] }
  | { type: "digest"; segments: Digest[] }
  | { type: "digest_query"; keys: string[] }
  | ({ type: "stats" } & StatsCounters)
  | { type: "report"; peer: string; reason: string; key?: string; sha256?: string; size?: number }
  | { type: "error"; code: string; message: string; retry_ms?: number }
  | { type: "leave" }
  | ({ type: "policy" } & PolicyMsg);

/** SignalError.code is the protocol error code (bad_request, unsupported_version, too_large, unknown_type). */
export class SignalError extends Error {
  constructor(readonly code: string, msg: string) { super(code + ": " + msg); }
}

// A field spec: name, then a type letter, then flags.
//  s = string with a checker, i = integer lo..hi, b = boolean, o = object, a = array
interface Field {
  n: string; t: "s" | "i" | "b" | "o" | "a";
  req?: boolean; // required
  z?: boolean;   // integer present even when 0 (kept as given, undefined when absent)
  chk?: (s: string) => boolean; lo?: number; hi?: number;
  sub?: Field[]; // object fields, or the element of an array (one field, n = "")
}

const enc = new TextEncoder();
const blen = (s: string): number => enc.encode(s).length;
const ascii = (lo: number, max: number) => (s: string): boolean =>
  s.length <= max && [...s].every((c) => c.charCodeAt(0) >= lo && c.charCodeAt(0) <= 0x7e);
const id = (s: string): boolean => /^[A-Za-z0-9_-]{1,16}$/.test(s);
const text = (max: number) => (s: string): boolean => blen(s) <= max;
const token = (s: string): boolean => /^[a-z][a-z0-9_]{0,31}$/.test(s);
const key = validKey;

const S = (n: string, chk: (s: string) => boolean, req = false): Field => ({ n, t: "s", chk, req });
const I = (n: string, lo: number, hi: number, req = false, z = false): Field => ({ n, t: "i", lo, hi, req, z });
const B = (n: string): Field => ({ n, t: "b" });
const O = (n: string, sub: Field[], req = false): Field => ({ n, t: "o", sub, req });
const A = (n: string, el: Field, lo: number, hi: number, req = false): Field => ({ n, t: "a", sub: [el], lo, hi, req });

const CONFIG: Field[] = [
  O("keys", [B("keep_host"), B("keep_query"),
    A("rewrites", O("", [S("match", text(256), true), S("replace", text(256))]), 0, 16)], true),
  A("ice_servers", O("", [A("urls", S("", (s) => s.length > 0 && ascii(0x21, 256)(s), true), 1, 8, true),
    S("username", text(256)), S("credential", text(256))]), 0, 8),
  I("max_peers", 1, 64, true, true), I("max_inflight", 1, 16, true, true), I("chunk_size", 1, 65530, true, true),
  I("hello_timeout_ms", 100, 60000, true, true), I("request_timeout_ms", 100, 60000, true, true),
  I("idle_timeout_ms", 100, 60000, true, true), I("critical_ms", 0, 600000, true, true),
  I("prefetch_ms", 0, 600000, true, true), I("keep_segments", 0, 1024, true, true),
  I("stats_interval_ms", 1000, 600000, true, true), B("holdback"),
  A("signal_urls", S("", (s) => /^wss?:\/\/./.test(s) && ascii(0x21, 256)(s), true), 0, 16),
];
const CTR = (n: string): Field => I(n, 0, MAX_SEQUENCE);

const SCHEMAS: { [t: string]: [side: "c" | "s" | "b", fields: Field[]] } = {
  join: ["c", [S("swarm", key, true), S("ticket", (s) => s.length > 0 && ascii(0x21, 1024)(s)),
    O("caps", [B("upload"), B("mobile")]), S("client", ascii(0x20, 64))]],
  welcome: ["s", [S("peer_id", id, true), S("swarm", key, true), O("config", CONFIG, true)]],
  peers: ["s", [A("peers", O("", [S("id", id, true), B("seeder")]), 1, 64, true)]],
  peer_left: ["s", [S("id", id, true)]],
  relay: ["b", [S("to", id), S("from", id), S("session", id, true), S("kind", (s) => /^(offer|answer|candidate)$/.test(s), true),
    S("sdp", text(12288)), S("candidate", text(1024)), S("sdp_mid", text(64)), I("sdp_mline_index", 0, 65535, false, true),
    S("ufrag", text(64))]],
  have: ["c", [A("ranges", A("", I("", 0, MAX_SEQUENCE, true, true), 2, 2), 0, 32)]],
  digest: ["s", [A("segments", O("", [S("key", key, true), I("seq", 0, MAX_SEQUENCE, false, true),
    I("size", 1, 0xffffffff, true), S("sha256", (s) => /^[0-9a-f]{64}$/.test(s), true)]), 1, 32, true)]],
  digest_query: ["c", [A("keys", S("", key, true), 1, 16, true)]],
  stats: ["c", [CTR("http_bytes"), CTR("p2p_bytes"), CTR("seed_bytes"), CTR("upload_bytes"),
    CTR("digest_failures"), CTR("aborts"), I("peers", 0, 1024),
    CTR("relay_bytes"), CTR("stalls"), CTR("stall_ms"), CTR("watch_ms"), I("startup_ms", 0, 600000),
    I("bitrate", 0, 1000000000), I("live_ms", 0, 86400000), S("browser", token), I("browser_major", 0, 1000),
    B("mobile"), B("webrtc"), B("upload"), S("group", (s) => /^(p2p|holdback|http)$/.test(s)), S("stream", key), S("swarm", key),
    O("errors", [CTR("http"), CTR("peer"), CTR("signal"), CTR("media"), CTR("other")]), S("session", id)]],
  report: ["c", [S("peer", id, true), S("reason", token, true), S("key", key),
    S("sha256", (s) => /^[0-9a-f]{64}$/.test(s)), I("size", 1, 0xffffffff)]],
  error: ["s", [S("code", token, true), S("message", (s) => s.length > 0 && blen(s) <= 256, true), I("retry_ms", 0, 86400000)]],
  leave: ["c", []],
  policy: ["s", [I("revision", 1, MAX_SEQUENCE, true, true), B("p2p_off"), B("http_only"), B("holdback"), B("upload_off"),
    I("max_peers", 0, 64), I("max_upload_bps", 0, MAX_SEQUENCE), I("critical_ms", 0, 600000, false, true)]],
};

const badReq = (m: string): never => { throw new SignalError("bad_request", m); };

// read checks v against f and returns the canonical value, or undefined when zero/absent.
function read(f: Field, v: JVal | undefined, path: string): unknown {
  if (v === undefined) return f.req ? badReq(path + ": missing") : undefined;
  switch (f.t) {
    case "s":
      if (typeof v !== "string") return badReq(path + ": not a string");
      if (v === "") return f.req ? badReq(path + ": missing") : undefined;
      if (!f.chk!(v)) return badReq(path + ": invalid");
      return v;
    case "i":
      if (v instanceof NotInt || typeof v !== "number") return badReq(path + ": not a plain integer");
      if (v < f.lo! || v > f.hi!) return badReq(path + ": " + v + " outside " + f.lo + ".." + f.hi);
      return v === 0 && !f.z ? undefined : v;
    case "b":
      if (typeof v !== "boolean") return badReq(path + ": not a boolean");
      return v || undefined;
    case "o": {
      if (typeof v !== "object" || Array.isArray(v) || v instanceof NotInt) return badReq(path + ": not an object");
      const out = readObj(f.sub!, v, path + ".");
      return Object.keys(out).length === 0 && !f.req ? undefined : out;
    }
    case "a": {
      if (!Array.isArray(v)) return badReq(path + ": not an array");
      if (v.length > f.hi! || (v.length < f.lo! && (v.length > 0 || f.req))) return badReq(path + ": " + v.length + " entries");
      const out = v.map((e, i) => {
        const r = read(f.sub![0]!, e, path + "[" + i + "]");
        return r === undefined ? badReq(path + "[" + i + "]: empty") : r;
      });
      return out.length ? out : undefined;
    }
  }
}

function readObj(fields: Field[], o: { [k: string]: JVal }, prefix: string): { [k: string]: unknown } {
  const out: { [k: string]: unknown } = {};
  for (const f of fields) {
    const r = read(f, o[f.n], prefix + f.n);
    if (r !== undefined) out[f.n] = r;
  }
  return out;
}

// check applies the cross-field rules that the schemas cannot express.
function check(m: { [k: string]: unknown }, from: "client" | "server" | "any"): void {
  if (m.type === "relay") {
    if ((m.to === undefined) === (m.from === undefined)) badReq("relay: exactly one of to and from");
    if (from === "client" && m.from !== undefined) badReq("from: not allowed from a client");
    if (from === "server" && m.to !== undefined) badReq("to: not allowed from the server");
    if (m.kind === "candidate") { if (m.sdp !== undefined) badReq("sdp: not allowed in candidate"); }
    else if (m.sdp === undefined) badReq("sdp: missing");
    else if (m.candidate !== undefined || m.sdp_mid !== undefined || m.sdp_mline_index !== undefined || m.ufrag !== undefined)
      badReq("candidate fields not allowed in " + m.kind);
  }
  if (m.type === "report" && (m.sha256 !== undefined || m.size !== undefined) && m.key === undefined) {
    badReq("key: required with sha256 or size");
  }
  if (m.type === "have" && m.ranges) {
    const r = m.ranges as [number, number][];
    r.forEach(([a, b], i) => {
      if (a > b) badReq("ranges[" + i + "]: first > last");
      if (i > 0 && a <= r[i - 1]![1] + 1) badReq("ranges[" + i + "]: overlapping or adjacent");
    });
  }
}

/**
 * Decodes one signaling message. from says which side sent it: "server" for a
 * client's decoder, "client" for a server's, "any" to accept both directions.
 */
export function decodeSignal(input: string | Uint8Array, from: "client" | "server" | "any" = "server"): SignalMessage {
  let textIn: string;
  if (typeof input !== "string") {
    if (input.length > MAX_MESSAGE_SIZE) throw new SignalError("too_large", "message above 16384 bytes");
    try { textIn = new TextDecoder("utf-8", { fatal: true }).decode(input); } catch { return badReq("not UTF-8"); }
  } else {
    textIn = input;
    if (input.length > MAX_MESSAGE_SIZE / 3 && blen(input) > MAX_MESSAGE_SIZE) throw new SignalError("too_large", "message above 16384 bytes");
  }
  let o: { [k: string]: JVal };
  try { o = parseStrict(textIn, MAX_DEPTH); } catch (e) { return badReq((e as JSONError).message); }
  const v = o.v;
  if (v === undefined || typeof v !== "number") return badReq("v: missing or not a plain integer");
  if (v !== SIGNAL_VERSION) throw new SignalError("unsupported_version", "version " + v + "; this side speaks 1");
  const t = o.type;
  if (typeof t !== "string" || t === "") return badReq("type: missing");
  const sc = SCHEMAS[t];
  if (!sc || !Object.prototype.hasOwnProperty.call(SCHEMAS, t)) throw new SignalError("unknown_type", "unknown type " + JSON.stringify(t.slice(0, 32)));
  const side = sc[0];
  if ((from === "client" && side === "s") || (from === "server" && side === "c")) badReq(t + ": wrong sender");
  const m = { type: t, ...readObj(sc[1], o, "") };
  check(m, from);
  return m as SignalMessage;
}

/**
 * Encodes a message canonically ({"v":1,"type":..., fields in table order}),
 * validating it first; throws SignalError when it breaks a rule.
 */
export function encodeSignal(msg: SignalMessage): string {
  const sc = SCHEMAS[msg.type];
  if (!sc) throw new SignalError("unknown_type", msg.type);
  // Round-trip through the decoder rules: values are normalized and checked.
  const raw = JSON.stringify(msg, (_k, v: unknown) => (v === null ? undefined : v));
  const o = parseStrict(raw, MAX_DEPTH + 1);
  const m = { type: msg.type, ...readObj(sc[1], o, "") };
  check(m, "any");
  const s = JSON.stringify({ v: SIGNAL_VERSION, ...m });
  if (blen(s) > MAX_MESSAGE_SIZE) throw new SignalError("too_large", "message above 16384 bytes");
  return s;
}
