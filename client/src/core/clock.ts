// Injected time, so that the core runs on a fake clock in tests.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A tiny typed event emitter. */
export class Emitter<E extends object> {
  private ls: { [K in keyof E]?: ((e: E[K]) => void)[] } = {};
  on<K extends keyof E>(k: K, f: (e: E[K]) => void): () => void {
    (this.ls[k] ??= []).push(f);
    return () => { this.ls[k] = this.ls[k]!.filter((g) => g !== f); };
  }
  emit<K extends keyof E>(k: K, e: E[K]): void {
    for (const f of this.ls[k] ?? []) {
      try { f(e); } catch { /* a listener's error never breaks delivery */ }
    }
  }
}

/** Delay before reconnect attempt n (0-based): exponential with jitter. */
export function backoff(n: number, r: { firstMs: number; factor: number; maxMs: number; jitter: number }, rnd: () => number): number {
  const base = Math.min(r.maxMs, r.firstMs * Math.pow(r.factor, n));
  return Math.round(base * (1 - r.jitter + r.jitter * rnd()));
}
