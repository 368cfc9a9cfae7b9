// Read-only access to a cdb file through positional reads on its descriptor:
// a lookup costs a few small pread(2)s and never loads the file, so a rules
// CDB of any size answers in constant memory. Every pointer read from the file
// is checked against its size; a damaged file raises CdbError, never a crash
// or an endless probe loop.
import * as fs from 'node:fs';
import { cdbHash } from './hash';

export class CdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CdbError';
  }
}

const HEADER = 2048;

export class Cdb {
  private readonly fd: number;
  private readonly size: number;
  private readonly path: string;
  // One scratch buffer for headers and slots: lookups are synchronous.
  private readonly word = Buffer.allocUnsafe(8);

  private constructor(fd: number, size: number, path: string) {
    this.fd = fd;
    this.size = size;
    this.path = path;
  }

  static open(path: string): Cdb {
    const fd = fs.openSync(path, 'r');
    try {
      const st = fs.fstatSync(fd);
      return new Cdb(fd, st.size, path);
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

  private fail(what: string): never {
    throw new CdbError(`${this.path}: ${what}`);
  }

  // Exactly n bytes at pos, or CdbError: a short read means the file is truncated.
  private readAt(buf: Buffer, n: number, pos: number): void {
    if (pos + n > this.size) this.fail('truncated file');
    let got = 0;
    while (got < n) {
      const r = fs.readSync(this.fd, buf, got, n - got, pos + got);
      if (r === 0) this.fail('truncated file');
      got += r;
    }
  }

  // Walk the probe sequence of key, calling each(value) per matching record
  // in file order until it returns false. Probes are bounded by the slot count.
  private scan(key: Buffer, each: (value: Buffer) => boolean): void {
    const h = cdbHash(key);
    const w = this.word;
    if (this.size < HEADER) this.fail('truncated file');
    this.readAt(w, 8, (h & 255) << 3);
    const tpos = w.readUInt32LE(0);
    const slots = w.readUInt32LE(4);
    if (slots === 0) return;
    if (tpos < HEADER || tpos + slots * 8 > this.size) this.fail('hash table out of range');
    let slot = (h >>> 8) % slots;
    const keyHead = Buffer.allocUnsafe(8);
    for (let probe = 0; probe < slots; probe++) {
      this.readAt(w, 8, tpos + slot * 8);
      const sh = w.readUInt32LE(0);
      const rpos = w.readUInt32LE(4);
      if (rpos === 0) return;
      if (sh === h) {
        if (rpos < HEADER || rpos + 8 > this.size) this.fail('record pointer out of range');
        this.readAt(keyHead, 8, rpos);
        const klen = keyHead.readUInt32LE(0);
        const dlen = keyHead.readUInt32LE(4);
        if (rpos + 8 + klen + dlen > this.size) this.fail('record length out of range');
        if (klen === key.length) {
          const k = Buffer.allocUnsafe(klen);
          this.readAt(k, klen, rpos + 8);
          if (k.equals(key)) {
            const v = Buffer.allocUnsafe(dlen);
            this.readAt(v, dlen, rpos + 8 + klen);
            if (!each(v)) return;
          }
        }
      }
      if (++slot === slots) slot = 0;
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
