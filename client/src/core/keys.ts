// Content keys (DESIGN.md "Content identity"): the normalized identity of a
// playlist or segment URL, computed exactly as the node computes it. The
// algorithm and its golden vectors are in the project's testdata/keys.json.

import type { KeyRules } from "./signal";

const enc = new TextEncoder();
const HEX = "0123456789ABCDEF";
const isHex = (b: number | undefined): boolean =>
  b !== undefined && ((b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102));
const hexVal = (b: number): number => (b <= 57 ? b - 48 : (b | 32) - 87);
const unreserved = (b: number): boolean =>
  (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b === 45 || b === 46 || b === 95 || b === 126;
const KEEP = new Set([..."!$&'()*+,;=:@/"].map((c) => c.charCodeAt(0)));
const pct = (b: number): string => "%" + HEX[b >> 4] + HEX[b & 15];

/** Normalizes path-like text byte by byte (step 1 of the algorithm); extra is one more kept byte. */
export function normalizePart(s: string, extra = -1): string {
  const b = enc.encode(s);
  let out = "";
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 37) {
      if (isHex(b[i + 1]) && isHex(b[i + 2])) {
        const d = hexVal(b[i + 1]!) * 16 + hexVal(b[i + 2]!);
        out += unreserved(d) ? String.fromCharCode(d) : pct(d);
        i += 2;
      } else out += "%25";
    } else if (unreserved(c) || KEEP.has(c) || c === extra) out += String.fromCharCode(c);
    else out += pct(c);
  }
  return out;
}

const DIRECTIVES = ["_HLS_msn", "_HLS_part", "_HLS_skip"];

/** A compiled set of key rules. Construct with compileKeyRules. */
export interface KeyFn { (host: string, path: string, query: string): string }

/** Compiles key rules; throws an Error naming the rule when a rewrite is refused. */
export function compileKeyRules(rules: KeyRules = {}): KeyFn {
  const rw = (rules.rewrites ?? []).map((r, i) => {
    const groups = checkPattern(r.match, "rewrites[" + i + "].match");
    const tpl = parseTemplate(r.replace ?? "", groups, "rewrites[" + i + "].replace");
    return { re: new RegExp(r.match, "g"), tpl };
  });
  return (host, path, query) => {
    const p = normalizePart(path === "" ? "/" : path);
    let q = "";
    if (rules.keep_query) q = normalizePart(query, 63);
    else if (/\.m3u8$/i.test(p) && query !== "") {
      const found = new Map<string, string>();
      for (const part of query.split("&")) {
        const n = normalizePart(part, 63);
        const name = n.split("=")[0]!;
        if (DIRECTIVES.includes(name) && !found.has(name)) found.set(name, n);
      }
      q = DIRECTIVES.filter((d) => found.has(d)).map((d) => found.get(d)).join("&");
    }
    let key = (rules.keep_host && host !== "" ? normalizePart(host.replace(/[A-Z]+/g, (c) => c.toLowerCase())) : "") +
      p + (q !== "" ? "?" + q : "");
    for (const { re, tpl } of rw) {
      key = key.replace(re, (...a: unknown[]) => {
        // a = [match, g1..gN, offset, input]
        return tpl.map((t) => (typeof t === "string" ? t : ((a[t] as string | undefined) ?? ""))).join("");
      });
    }
    return key;
  };
}

/** Computes the key of a URL (absolute, or relative to base). */
export function keyOfURL(fn: KeyFn, url: string, base?: string): string {
  const u = new URL(url, base);
  return fn(u.host, u.pathname, u.search.slice(1));
}

function parseTemplate(s: string, groups: number, field: string): (string | number)[] {
  const out: (string | number)[] = [];
  let lit = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "$") { lit += s[i]; continue; }
    if (s[i + 1] === "$") { lit += "$"; i++; continue; }
    const m = /^\$\{(0|[1-9]\d*)\}/.exec(s.slice(i));
    if (!m || Number(m[1]) > groups) throw new Error(field + ": bad $ reference");
    out.push(lit, Number(m[1]));
    lit = "";
    i += m[0].length - 1;
  }
  out.push(lit);
  return out;
}

/**
 * Checks a rewrite pattern against the syntax common to RE2 and ECMAScript
 * (keys.json "regex_syntax") and returns its number of capture groups.
 */
export function checkPattern(p: string, field = "match"): number {
  const fail = (m: string): never => { throw new Error(field + ": " + m); };
  if (p === "" || p.length > 256 || !/^[\x20-\x7e]+$/.test(p)) fail("empty, too long or not printable ASCII");
  let i = 0, groups = 0;
  const ESC = "dDwWsS";
  const PUNCT = ".*+?()[]{}|^$\\/-";
  const QUANT = /^(?:[*+?]|\{(\d+)(,(\d*))?\})\??/;
  // Each parser returns whether what it read can match the empty string.
  const alt = (): boolean => {
    let nullable = seq();
    while (p[i] === "|") { i++; nullable = seq() || nullable; }
    return nullable;
  };
  const seq = (): boolean => {
    let nullable = true;
    while (i < p.length && p[i] !== "|" && p[i] !== ")") {
      let n = atom();
      const q = QUANT.exec(p.slice(i));
      if (q) {
        if (n === null) fail("quantifier after an anchor");
        if (q[3] !== undefined && q[3] !== "" && Number(q[3]) < Number(q[1])) fail("bad repeat");
        if (q[0][0] === "*" || q[0][0] === "?" || (q[1] !== undefined && Number(q[1]) === 0)) n = true;
        i += q[0].length;
      }
      nullable = nullable && n !== false;
    }
    return nullable;
  };
  // atom returns null for a zero-width assertion, else whether it is nullable.
  const atom = (): boolean | null => {
    const c = p[i++]!;
    switch (c) {
      case "^": case "$": return null;
      case ".": return false;
      case "(": {
        if (p[i] === "?") { if (p[i + 1] !== ":") fail("only (?: groups"); i += 2; } else groups++;
        const n = alt();
        if (p[i++] !== ")") fail("unbalanced group");
        return n;
      }
      case "[": {
        if (p[i] === "^") i++;
        if (p[i] === "]") fail("class starting with ]");
        while (p[i] !== "]") {
          if (i >= p.length) fail("unterminated class");
          if (p[i] === "[") fail("[ inside a class");
          if (p[i] === "\\") { i++; if (!(ESC + PUNCT).includes(p[i] ?? "x")) fail("bad escape in class"); }
          i++;
        }
        i++;
        return false;
      }
      case "\\": {
        const e = p[i++] ?? "";
        if (e === "b" || e === "B") return null;
        if (e === "" || !(ESC + PUNCT).includes(e)) fail("bad escape \\" + e);
        return false;
      }
      case "*": case "+": case "?": case "{": case "}": case "]": case ")":
        return fail("unexpected " + c);
      default: return false;
    }
  };
  const nullable = alt();
  if (i < p.length) fail("unbalanced )");
  if (nullable) fail("can match the empty string");
  try { new RegExp(p, "g"); } catch { fail("not a valid expression"); }
  return groups;
}
