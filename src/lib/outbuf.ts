// An output buffer with the flush points of djb's buffer_put: multilog's
// 512 bytes per log, svlogd's -b bytes per log directory. They matter: the
// originals cut a log at a write, so copying the chunking copies the
// rotation points byte for byte.
export type WriteOp = (buf: Buffer, off: number, len: number) => number; // bytes taken, > 0

const SIZE = 512; // multilog's
const BIG_WRITE = 8192; // buffer_put's BUFFER_OUTSIZE

export class OutBuf {
  private readonly x: Buffer;
  private p = 0;

  constructor(private op: WriteOp, size = SIZE) {
    this.x = Buffer.alloc(size);
  }

  /** Nothing is waiting in the buffer. */
  get empty(): boolean {
    return this.p === 0;
  }

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
    const size = this.x.length;
    if (len > size - this.p) {
      this.flush();
      const big = Math.max(size, BIG_WRITE);
      while (len > size) {
        const n = Math.min(big, len);
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
    const size = this.x.length;
    while (len > 0) {
      if (this.p === size) this.flush();
      const n = Math.min(size - this.p, len);
      buf.copy(this.x, this.p, off, off + n);
      this.p += n;
      off += n;
      len -= n;
    }
  }

  // buffer_putflush: what is buffered, then these bytes, written now.
  putFlush(buf: Buffer, off: number, len: number): void {
    this.flush();
    this.allwrite(buf, off, len);
  }
}
