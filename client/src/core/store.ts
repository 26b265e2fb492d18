// The segment store: memory only, bounded in count and bytes. It evicts
// segments behind the playhead first, then the oldest.

/** A segment held in memory. */
export interface Held {
  key: string;
  seq?: number;
  data: Uint8Array;
  /** Verified against the node's digest: only verified segments are served to peers. */
  verified: boolean;
  /** Media time the segment ends at, seconds, when known. */
  end?: number;
  /** Insertion order, for eviction. */
  order: number;
}

export class SegmentStore {
  private map = new Map<string, Held>();
  private bySeq = new Map<number, Held>();
  private bytes = 0;
  private n = 0;

  /**
   * @param maxCount segments kept at most (the node's keep_segments, 0 = keep none)
   * @param maxBytes bytes kept at most
   * @param playhead returns the current media time in seconds, or undefined
   */
  constructor(public maxCount: number, public maxBytes: number, private playhead: () => number | undefined = () => undefined) {}

  get(key: string): Held | undefined { return this.map.get(key); }
  getSeq(seq: number): Held | undefined { return this.bySeq.get(seq); }
  get size(): number { return this.map.size; }
  get totalBytes(): number { return this.bytes; }

  /** Adds or replaces a segment, then evicts down to the bounds. Returns whether it was kept. */
  put(s: Omit<Held, "order">): boolean {
    this.delete(s.key);
    if (this.maxCount <= 0 || s.data.length > this.maxBytes) return false;
    const h: Held = { ...s, order: ++this.n };
    this.map.set(s.key, h);
    if (s.seq !== undefined) this.bySeq.set(s.seq, h);
    this.bytes += s.data.length;
    this.evict(h);
    return this.map.has(s.key);
  }

  delete(key: string): void {
    const h = this.map.get(key);
    if (!h) return;
    this.map.delete(key);
    if (h.seq !== undefined && this.bySeq.get(h.seq) === h) this.bySeq.delete(h.seq);
    this.bytes -= h.data.length;
  }

  /** Sequences of the verified segments, for have-maps. */
  verifiedSeqs(): number[] {
    const out: number[] = [];
    for (const h of this.map.values()) if (h.verified && h.seq !== undefined) out.push(h.seq);
    return out;
  }

  clear(): void { this.map.clear(); this.bySeq.clear(); this.bytes = 0; }

  private evict(keep: Held): void {
    while (this.map.size > this.maxCount || this.bytes > this.maxBytes) {
      const victim = this.pickVictim(keep);
      if (!victim) return;
      this.delete(victim.key);
    }
  }

  // pickVictim: the oldest segment entirely behind the playhead, else the
  // oldest segment, never the one just added.
  private pickVictim(keep: Held): Held | undefined {
    const t = this.playhead();
    let behind: Held | undefined, oldest: Held | undefined;
    for (const h of this.map.values()) {
      if (h === keep) continue;
      if (!oldest || h.order < oldest.order) oldest = h;
      if (t !== undefined && h.end !== undefined && h.end <= t && (!behind || h.end < behind.end!)) behind = h;
    }
    return behind ?? oldest ?? (this.map.size > this.maxCount || this.bytes > this.maxBytes ? keep : undefined);
  }
}
