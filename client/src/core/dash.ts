// DASH swarms (docs/protocol.md 3.1): a DASH manifest's response lists the
// swarms of its Representations, each with a ticket, in one header. The
// adapters tell which Representation the player is fetching video from;
// this joins that Representation's swarm, as a media playlist load does
// for HLS.

import type { Engine } from "./engine";

/** The response header listing a manifest's swarms. */
export const SWARMS_HEADER = "Edgeswarm-Swarms";

export interface SwarmTicket { swarm: string; ticket?: string }

/** At most this many swarms are read from one header (as the node lists). */
const MAX_SWARMS = 64;

/** Decodes the Edgeswarm-Swarms header; throws on anything malformed. */
export function parseSwarms(v: string): SwarmTicket[] {
  if (v.trim() === "") return [];
  const out: SwarmTicket[] = [];
  for (const raw of v.split(",")) {
    const entry = raw.replace(/^[ \t]+|[ \t]+$/g, "");
    if (entry === "") throw new Error("swarms header: empty entry");
    if (out.length === MAX_SWARMS) throw new Error(`swarms header: more than ${MAX_SWARMS} swarms`);
    const semi = entry.indexOf(";");
    const enc = semi < 0 ? entry : entry.slice(0, semi);
    const swarm = unescape(enc);
    if (swarm.length === 0 || new TextEncoder().encode(swarm).length > 1024 || /[\u0000-\u001f\u007f-\u009f]/.test(swarm)) {
      throw new Error(`swarms header: swarm ${JSON.stringify(enc)} is not a content key`);
    }
    const st: SwarmTicket = { swarm };
    if (semi >= 0) {
      const p = entry.slice(semi + 1).trim();
      if (!p.startsWith("ticket=")) throw new Error(`swarms header: unknown parameter ${JSON.stringify(p)}`);
      const t = p.slice(7);
      if (t.length === 0 || t.length > 1024 || !/^[\x21-\x2b\x2d-\x3a\x3c-\x7e]+$/.test(t)) throw new Error("swarms header: bad ticket");
      st.ticket = t;
    }
    out.push(st);
  }
  return out;
}

/** %XX escapes to bytes, read as UTF-8 (fatal on invalid UTF-8). */
function unescape(s: string): string {
  if (!s.includes("%")) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x25) {
      if (c > 0x7f) bytes.push(...new TextEncoder().encode(s[i]!));
      else bytes.push(c);
      continue;
    }
    const h = s.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw new Error(`swarms header: bad escape in ${JSON.stringify(s)}`);
    bytes.push(parseInt(h, 16));
    i += 2;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    throw new Error(`swarms header: ${JSON.stringify(s)} is not UTF-8`);
  }
}

/** The Representation id as the node writes it into the swarm: bytes outside A-Z a-z 0-9 - . _ ~ as %XX. */
export function encodeRepresentationId(id: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(id)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** The swarm of a Representation: its manifest's content key, "#", the encoded id. */
export const representationSwarm = (manifestKey: string, id: string): string => manifestKey + "#" + encodeRepresentationId(id);

/**
 * The swarms of the DASH manifest the player loaded, and the one this
 * viewer is in: the Representation it last fetched video from.
 */
export class DashSwarms {
  private list: SwarmTicket[] = [];
  private url = "";
  private current?: string;

  constructor(private readonly engine: Engine) {}

  /** Whether a manifest with swarms was seen. */
  get active(): boolean { return this.list.length > 0; }

  /** A manifest response arrived: url and its Edgeswarm-Swarms header (null: none). */
  manifest(url: string, header: string | null): void {
    if (header === null) return;
    try { this.list = parseSwarms(header); } catch { this.list = []; return; }
    this.url = url;
    // A refreshed manifest brings a fresh ticket for the swarm we are in.
    if (this.current !== undefined) this.join(this.current);
  }

  /** The player fetches video of Representation id (Shaka: stream.originalId, dash.js: representation id). */
  representation(id: string | null | undefined): void {
    if (id === null || id === undefined || id === "") return;
    if (id === this.current) return;
    if (this.join(id)) this.current = id;
  }

  private join(id: string): boolean {
    const suffix = "#" + encodeRepresentationId(id);
    const st = this.list.find((s) => s.swarm.endsWith(suffix));
    if (!st) return false;
    this.engine.playlist(this.url, st.swarm, st.ticket ?? null);
    return true;
  }
}
