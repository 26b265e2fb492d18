// Failover between the nodes of a cluster (protocol section 4.5): the
// welcome lists every node's signaling URL; when the connection to one
// drops, the client rejoins its swarm on the next at once, and backs off
// only after every node failed in a row.

/** The signaling URLs a client may use, the one in use first. */
export class SignalURLs {
  private list: string[];
  private i = 0;
  /** Consecutive failures since the last welcome. */
  private failures = 0;

  constructor(primary: string) { this.list = [primary]; }

  /** The URL to connect to. */
  get current(): string { return this.list[this.i]!; }

  /** A welcome arrived on current, listing the cluster's URLs (signal_urls). */
  welcomed(urls: readonly string[] | undefined): void {
    this.failures = 0;
    if (!urls || urls.length === 0) return;
    const cur = this.current;
    this.list = [cur, ...urls.filter((u, k) => u !== cur && urls.indexOf(u) === k)];
    this.i = 0;
  }

  /**
   * The connection to current dropped or failed. Moves to the next URL and
   * reports whether to connect at once: true while some node of the list
   * has not failed since the last welcome.
   */
  failed(): boolean {
    this.failures++;
    if (this.list.length < 2) return false;
    this.i = (this.i + 1) % this.list.length;
    return this.failures < this.list.length;
  }
}
