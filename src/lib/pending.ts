// The bytes a logger has accepted for its current file but not yet handed
// to the kernel: multilog and svlogd take a whole read of input first, deciding
// every cut as the originals' writes would, then write it out in one go.
const START = 65536;
const KEEP_MAX = 1 << 20; // a queue grown past this (a long pause) is let go once empty

export class Pending {
  buf = Buffer.alloc(START);
  n = 0;

  /** Appends b[off, off + len), growing the queue when it is full. */
  add(b: Buffer, off: number, len: number): void {
    if (this.n + len > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.n + len));
      this.buf.copy(bigger, 0, 0, this.n);
      this.buf = bigger;
    }
    b.copy(this.buf, this.n, off, off + len);
    this.n += len;
  }

  /** Drops the first `done` bytes, keeping the rest at the front. */
  drop(done: number): void {
    this.buf.copy(this.buf, 0, done, this.n);
    this.n -= done;
  }

  /** Everything is written: empty again. */
  clear(): void {
    this.n = 0;
    if (this.buf.length > KEEP_MAX) this.buf = Buffer.alloc(START);
  }
}
