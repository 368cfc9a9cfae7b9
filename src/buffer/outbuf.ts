// The 512-byte output buffer multilog keeps for each log, with the flush
// points of djb's buffer_put. They matter: a log is cut at the last newline
// of the chunk that crosses size-2000, so copying the chunking copies the
// rotation points of the original byte for byte.
export type WriteOp = (buf: Buffer, off: number, len: number) => number; // bytes taken, > 0

const SIZE = 512;
const BIG_WRITE = 8192; // buffer_put's BUFFER_OUTSIZE

export class OutBuf {
  private x = Buffer.alloc(SIZE);
  private p = 0;

  constructor(private op: WriteOp) {}

  private allwrite(buf: Buffer, off: number, len: number): void {
    while (len > 0) {
      const w = this.op(buf, off, len);
      off += w;
      len -= w;
    }
  }

  flush(): void {
    const p = this.p;
    if (p === 0) return;
    this.p = 0;
    this.allwrite(this.x, 0, p);
  }

  // buffer_put: what does not fit goes out after a flush, straight from
  // the caller's memory when it is bigger than the buffer.
  put(buf: Buffer, off: number, len: number): void {
    if (len > SIZE - this.p) {
      this.flush();
      while (len > SIZE) {
        const n = Math.min(BIG_WRITE, len);
        this.allwrite(buf, off, n);
        off += n;
        len -= n;
      }
    }
    buf.copy(this.x, this.p, off, off + len);
    this.p += len;
  }

  // The same bytes put one at a time (buffer_PUTC): fill, flush when full.
  putChars(buf: Buffer, off: number, len: number): void {
    while (len > 0) {
      if (this.p === SIZE) this.flush();
      const n = Math.min(SIZE - this.p, len);
      buf.copy(this.x, this.p, off, off + n);
      this.p += n;
      off += n;
      len -= n;
    }
  }
}
