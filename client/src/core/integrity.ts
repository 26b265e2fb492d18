// Segment integrity: size and SHA-256 against the node's digest (protocol section 6).

import type { Digest } from "./signal";

export type Hasher = (b: Uint8Array) => Promise<Uint8Array>;

/** SHA-256 through WebCrypto, or undefined when the page has none (insecure context). */
export function webHasher(): Hasher | undefined {
  const s = globalThis.crypto?.subtle;
  if (!s) return undefined;
  return async (b) => new Uint8Array(await s.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
}

export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += (x < 16 ? "0" : "") + x.toString(16);
  return s;
}

/** Whether bytes match the digest: same size and same SHA-256. */
export async function verify(h: Hasher, bytes: Uint8Array, d: Digest): Promise<boolean> {
  if (bytes.length !== d.size) return false;
  return hex(await h(bytes)) === d.sha256;
}
