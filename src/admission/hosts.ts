// Live connections by client key (an address, or a prefix with --prefix),
// the count including the connection being decided: the counter under
// per-host concurrency (perhost.ts).
export class HostCounts {
  private readonly n = new Map<string, number>();

  add(ip: string): number {
    const v = (this.n.get(ip) ?? 0) + 1;
    this.n.set(ip, v);
    return v;
  }

  remove(ip: string): void {
    const v = this.n.get(ip);
    if (v === undefined) return;
    if (v <= 1) this.n.delete(ip);
    else this.n.set(ip, v - 1);
  }

  /** Number of hosts with live connections (the map never outgrows the clients). */
  get size(): number {
    return this.n.size;
  }

  /** At most n keys with their counts, the largest counts first (ties: in key order). */
  top(n: number): Array<[string, number]> {
    const all = [...this.n];
    all.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return all.slice(0, n);
  }
}
