// Per-source rate limit (--rate=R/SECONDS[:msg]): each source (an address, or
// its prefix with --prefix) has a token bucket of R tokens that refills at R
// per SECONDS; a new connection takes a token, and a source with none left is
// refused (that client only: the service itself is never taken down).
//
// Memory is fixed at start, whatever the number of distinct sources: the
// buckets live in a hashed table of `slots` entries (typed arrays, no object
// per source). A source hashes to a window of WINDOW neighbouring slots; when
// it has no entry there, it takes an empty slot, else the one whose bucket
// holds most tokens once refilled (a full bucket carries no information: it
// is what a new source gets anyway), the stalest on a tie. A source that is
// being limited has an empty bucket, so address churn evicts it last.
// Two independent 32-bit hashes identify an entry (a false match needs both
// to collide within one window).

/** Slots in the table: 131072 (3 MB), room for 100k sources at once before eviction begins. */
export const DEFAULT_SLOTS = 1 << 17;
const WINDOW = 4;

export interface RateConfig {
  /** R: tokens per bucket, and tokens added per interval. */
  count: number;
  /** The interval, in ms. */
  perMs: number;
  /** Sent to a refused client (already unescaped); undefined = none. */
  msg?: string;
  /** Table size, rounded up to a power of two. */
  slots?: number;
}

/** Two 32-bit FNV-1a style hashes of a string, with different seeds and primes. */
function hash(key: string, out: Uint32Array): void {
  let a = 0x811c9dc5, b = 0x050c5d1f;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // Final mixing, so that neighbouring keys spread over the table.
  a ^= a >>> 16; a = Math.imul(a, 0x85ebca6b); a ^= a >>> 13;
  out[0] = a >>> 0;
  out[1] = (b | 1) >>> 0; // never 0: 0 marks an empty slot
}

export class RateLimiter {
  readonly count: number;
  readonly perMs: number;
  readonly msg: string | undefined;
  readonly slots: number;
  private readonly mask: number;
  private readonly h1: Uint32Array;
  private readonly h2: Uint32Array;
  private readonly tokens: Float64Array;
  private readonly stamp: Float64Array;
  private readonly h = new Uint32Array(2);
  /** Slots in use. */
  tracked = 0;
  /** Entries replaced while their bucket was not yet full again. */
  evicted = 0;

  constructor(cfg: RateConfig) {
    this.count = cfg.count;
    this.perMs = cfg.perMs;
    this.msg = cfg.msg ? cfg.msg : undefined;
    let n = 1;
    while (n < (cfg.slots ?? DEFAULT_SLOTS)) n *= 2;
    n = Math.max(n, WINDOW);
    this.slots = n;
    this.mask = n - 1;
    this.h1 = new Uint32Array(n);
    this.h2 = new Uint32Array(n);
    this.tokens = new Float64Array(n);
    this.stamp = new Float64Array(n);
  }

  /** The bucket of slot s as it stands at now, refilled. */
  private level(s: number, now: number): number {
    const t = this.tokens[s] + ((now - this.stamp[s]) * this.count) / this.perMs;
    return t > this.count ? this.count : t;
  }

  /**
   * One new connection from key at now (ms, monotonic): true when it may go
   * on (a token was taken), false when the source is over its rate.
   */
  take(key: string, now: number): boolean {
    const h = this.h;
    hash(key, h);
    const a = h[0], b = h[1];
    const base = a & this.mask;
    let victim = -1, best = -1, bestStamp = Infinity;
    for (let i = 0; i < WINDOW; i++) {
      const s = (base + i) & this.mask;
      if (this.h2[s] === 0) {
        if (victim < 0 || best !== Infinity) { victim = s; best = Infinity; }
        continue;
      }
      if (this.h1[s] === a && this.h2[s] === b) {
        const t = this.level(s, now);
        this.stamp[s] = now;
        if (t >= 1) {
          this.tokens[s] = t - 1;
          return true;
        }
        this.tokens[s] = t;
        return false;
      }
      if (best === Infinity) continue; // an empty slot is already chosen
      const t = this.level(s, now);
      if (t > best || (t === best && this.stamp[s] < bestStamp)) {
        victim = s; best = t; bestStamp = this.stamp[s];
      }
    }
    if (best === Infinity) this.tracked++;
    else if (best < this.count) this.evicted++;
    this.h1[victim] = a;
    this.h2[victim] = b;
    this.tokens[victim] = this.count - 1;
    this.stamp[victim] = now;
    return this.count >= 1;
  }

  /** Bytes held by the table (fixed at start). */
  get bytes(): number {
    return this.slots * (4 + 4 + 8 + 8);
  }
}

/**
 * --rate's value: "R/SECONDS" with an optional ":msg" (msg as given; the
 * caller unescapes it); undefined when it is not that (R and SECONDS at least 1).
 */
export function parseRateOption(v: string): { count: number; seconds: number; msg?: string } | undefined {
  const m = /^(\d{1,9})\/(\d{1,9})(?::([\s\S]*))?$/.exec(v);
  if (!m) return undefined;
  const count = Number(m[1]), seconds = Number(m[2]);
  if (count < 1 || seconds < 1) return undefined;
  return m[3] === undefined ? { count, seconds } : { count, seconds, msg: m[3] };
}
