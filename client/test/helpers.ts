// Test helpers: golden files and a fake clock.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../src/core/clock";

/** The repository root (tests run from client/). */
export const ROOT = join(process.cwd(), "..");

export function golden<T>(...p: string[]): T {
  return JSON.parse(readFileSync(join(ROOT, ...p), "utf8")) as T;
}

export const fromHex = (h: string): Uint8Array => new Uint8Array((h.match(/../g) ?? []).map((b) => parseInt(b, 16)));
export const toHex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** A manual clock: timers fire only when advance() passes them. */
export class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private n = 0;
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): unknown { const id = ++this.n; this.timers.push({ at: this.t + ms, fn, id }); return id; }
  clearTimeout(h: unknown): void { this.timers = this.timers.filter((x) => x.id !== h); }
  /**
   * The main thread is busy for ms: time passes and no timer runs; the
   * ones that came due run late, at the next advance.
   */
  block(ms: number): void { this.t += ms; }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}
