// Read-only access to a cdb file through positional reads on its descriptor:
// a lookup costs a few small pread(2)s and never loads the file, so a rules
// CDB of any size answers in constant memory. Every read is checked against
// the file size when it happens, as djb's cdb_read does (so we reject exactly
// the files his readers reject); a damaged file raises CdbError, never a crash
// or an endless probe loop (probes are bounded by the slot count).
import * as fs from 'node:fs';
import { cdbHash } from './hash';

export class CdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CdbError';
  }
}

const HEADER = 2048;
const SLOTBLOCK = 128; // slots read per pread: 16, most probe runs fit

export class Cdb {
  private readonly fd: number;
  private readonly size: number;
  private readonly path: string;
  // The 256 table pointers, read once per open: most lookups then cost one
  // pread of a block of slots and, on a hash hit, one of the record.
  private readonly header: Buffer;
  private readonly slots = Buffer.allocUnsafe(SLOTBLOCK);
  private readonly head = Buffer.allocUnsafe(8);

  private constructor(fd: number, size: number, path: string) {
    this.fd = fd;
    this.size = size;
    this.path = path;
    // A file shorter than the header is not rejected here: djb's reader only
    // fails when a lookup actually reads past the end, and so do we.
    this.header = Buffer.allocUnsafe(Math.min(HEADER, size));
    this.readAt(this.header, this.header.length, 0);
  }

  static open(path: string): Cdb {
    const fd = fs.openSync(path, 'r');
    try {
      return new Cdb(fd, fs.fstatSync(fd).size, path);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  get(key: Buffer | string): Buffer | undefined {
    let found: Buffer | undefined;
    this.scan(toBuf(key), (v) => { found = v; return false; });
    return found;
  }

  getAll(key: Buffer | string): Buffer[] {
    const all: Buffer[] = [];
    this.scan(toBuf(key), (v) => { all.push(v); return true; });
    return all;
  }

  private fail(): never {
    throw new CdbError(`${this.path}: truncated or corrupt cdb file`);
  }

  // Exactly n bytes at pos, or CdbError: reading past the end means damage.
  private readAt(buf: Buffer, n: number, pos: number): void {
    if (pos + n > this.size) this.fail();
    let got = 0;
    while (got < n) {
      const r = fs.readSync(this.fd, buf, got, n - got, pos + got);
      if (r === 0) this.fail();
      got += r;
    }
  }

  // Walk the probe sequence of key, calling each(value) per matching record
  // in file order until it returns false. Probes are bounded by the slot count.
  private scan(key: Buffer, each: (value: Buffer) => boolean): void {
    const h = cdbHash(key);
    const at = (h & 255) << 3;
    if (at + 8 > this.header.length) this.fail();
    const tpos = this.header.readUInt32LE(at);
    const nslots = this.header.readUInt32LE(at + 4);
    if (nslots === 0) return;
    const tend = tpos + nslots * 8;
    let slot = (h >>> 8) % nslots;
    const blk = this.slots;
    let bstart = -1; // file offset of blk[0]; blk holds [bstart, bend)
    let bend = -1;
    for (let probe = 0; probe < nslots; probe++) {
      const spos = tpos + slot * 8;
      if (spos < bstart || spos + 8 > bend) {
        const n = Math.min(SLOTBLOCK, tend - spos, this.size - spos);
        if (n < 8) this.fail();
        this.readAt(blk, n, spos);
        bstart = spos;
        bend = spos + n;
      }
      const o = spos - bstart;
      const rpos = blk.readUInt32LE(o + 4);
      if (rpos === 0) return;
      if (blk.readUInt32LE(o) === h) {
        this.readAt(this.head, 8, rpos);
        const klen = this.head.readUInt32LE(0);
        if (klen === key.length) {
          const dlen = this.head.readUInt32LE(4);
          const k = Buffer.allocUnsafe(klen);
          this.readAt(k, klen, rpos + 8);
          if (k.equals(key)) {
            const v = Buffer.allocUnsafe(dlen);
            this.readAt(v, dlen, rpos + 8 + klen);
            if (!each(v)) return;
          }
        }
      }
      if (++slot === nslots) slot = 0;
    }
  }
}

function toBuf(key: Buffer | string): Buffer {
  return typeof key === 'string' ? Buffer.from(key) : key;
}

export function cdbGet(path: string, key: Buffer | string): Buffer | undefined {
  const c = Cdb.open(path);
  try {
    return c.get(key);
  } finally {
    c.close();
  }
}
