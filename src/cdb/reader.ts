// Read-only access to a cdb file through positional reads on its descriptor:
// a lookup costs a few small pread(2)s and never loads the file, so a rules
// CDB of any size answers in constant memory. Every read is checked against
// the file size when it happens, as djb's cdb_read does (so we reject exactly
// the files his readers reject); a damaged file raises CdbError, never a crash
// or an endless probe loop (probes are bounded by the slot count).
import * as fs from 'node:fs';
import { openRegular } from '../lib/regular';
import { cdbHash } from './hash';

/**
 * A damaged file: what is wrong in message (without the file's name: whoever
 * reports it names the file, once), the file in path, and code EPROTO, so
 * that it is told in djb's word, "protocol error", as his readers report it
 * (cdb_read's error_proto): "unable to read rules.cdb: protocol error".
 */
export class CdbError extends Error {
  /** djb's cdb says error_proto for a damaged file: errstr words it "protocol error", as the servers log it. */
  readonly code = 'EPROTO';
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'CdbError';
  }
}

const HEADER = 2048;
const KEYCHUNK = 32;
const SLOTBLOCK = 128;
const SCANCHUNK = 1 << 20; // slots read per pread: 16, most probe runs fit

export class Cdb {
  private readonly fd: number;
  /** The file's size when opened. */
  readonly size: number;
  private readonly path: string;
  // The 256 table pointers, read once per open: most lookups then cost one
  // pread of a block of slots and, on a hash hit, one of the record.
  private readonly header: Buffer;
  private readonly slots = Buffer.allocUnsafe(SLOTBLOCK);
  private readonly head = Buffer.allocUnsafe(8);
  private readonly keybuf = Buffer.allocUnsafe(KEYCHUNK);
  private value = Buffer.allocUnsafeSlow(256); // find()'s answers

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
    // Without blocking and only a regular file: a FIFO must not freeze a server.
    const { fd, size } = openRegular(path);
    try {
      return new Cdb(fd, size, path);
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

  /**
   * The first value of key in a buffer this reader reuses: valid until its
   * next lookup. For a server's per-connection lookups: no allocation.
   */
  find(key: Buffer): Buffer | undefined {
    let found: Buffer | undefined;
    this.scan(key, (v) => { found = v; return false; }, true);
    return found;
  }

  getAll(key: Buffer | string): Buffer[] {
    const all: Buffer[] = [];
    this.scan(toBuf(key), (v) => { all.push(v); return true; });
    return all;
  }

  private fail(): never {
    throw new CdbError(this.path, 'truncated or corrupt cdb file');
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

  /**
   * Every record's key, in file order, as each(buf, start, end) over a reused
   * buffer: a sequential pass in large reads (what cdb -d walks), for callers
   * that must learn something of all keys. Damage raises CdbError.
   */
  forEachKey(each: (buf: Buffer, start: number, end: number) => void): void {
    if (this.header.length < 8) this.fail();
    const eod = this.header.readUInt32LE(0); // the first hash table ends the records
    let chunk: Buffer = Buffer.allocUnsafe(SCANCHUNK);
    let base = HEADER; // file offset of chunk[0]
    let have = 0;
    let pos = HEADER;
    while (pos < eod) {
      if (pos + 8 > base + have) {
        [chunk, base, have] = this.refill(chunk, pos, 8, eod);
      }
      const klen = chunk.readUInt32LE(pos - base);
      const dlen = chunk.readUInt32LE(pos - base + 4);
      if (pos + 8 + klen > base + have) {
        [chunk, base, have] = this.refill(chunk, pos, 8 + klen, eod);
      }
      each(chunk, pos - base + 8, pos - base + 8 + klen);
      pos += 8 + klen + dlen;
    }
    if (pos !== eod) this.fail();
  }

  // Read from pos on, at least need bytes, at most up to eod.
  private refill(chunk: Buffer, pos: number, need: number, eod: number): [Buffer, number, number] {
    if (pos + need > eod || pos + need > this.size) this.fail(); // before allocating need bytes
    if (need > chunk.length) chunk = Buffer.allocUnsafe(need);
    const n = Math.min(chunk.length, eod - pos);
    this.readAt(chunk, n, pos);
    return [chunk, pos, n];
  }

  // Walk the probe sequence of key, calling each(value) per matching record
  // in file order until it returns false. This is djb's cdb_findnext step by
  // step, offsets in uint32 arithmetic as in C, so a damaged file gives the
  // same answers as his tools; probes are bounded by the slot count.
  private scan(key: Buffer, each: (value: Buffer) => boolean, reuse = false): void {
    const h = cdbHash(key);
    const at = (h & 255) << 3;
    if (at + 8 > this.header.length) this.fail();
    const hpos = this.header.readUInt32LE(at);
    const hslots = this.header.readUInt32LE(at + 4);
    if (hslots === 0) return;
    const wrap = (hpos + ((hslots << 3) >>> 0)) >>> 0;
    let kpos = (hpos + ((((h >>> 8) % hslots) << 3) >>> 0)) >>> 0;
    const blk = this.slots;
    let bstart = -1; // blk caches the file bytes [bstart, bend)
    let bend = -1;
    for (let loop = 0; loop < hslots; loop++) {
      if (kpos < bstart || kpos + 8 > bend) {
        const n = Math.min(SLOTBLOCK, this.size - kpos);
        if (n < 8) this.fail();
        this.readAt(blk, n, kpos);
        bstart = kpos;
        bend = kpos + n;
      }
      const o = kpos - bstart;
      const pos = blk.readUInt32LE(o + 4);
      if (pos === 0) return;
      kpos = (kpos + 8) >>> 0;
      if (kpos === wrap) kpos = hpos;
      if (blk.readUInt32LE(o) !== h) continue;
      this.readAt(this.head, 8, pos);
      if (this.head.readUInt32LE(0) !== key.length) continue;
      if (!this.keyAt(key, (pos + 8) >>> 0)) continue;
      const dlen = this.head.readUInt32LE(4);
      const dpos = (pos + 8 + key.length) >>> 0;
      if (dpos + dlen > this.size) this.fail(); // before allocating dlen bytes
      let v: Buffer;
      if (reuse) {
        if (dlen > this.value.length) this.value = Buffer.allocUnsafeSlow(Math.max(dlen, 2 * this.value.length));
        v = this.value.subarray(0, dlen);
      } else {
        v = Buffer.allocUnsafe(dlen);
      }
      this.readAt(v, dlen, dpos);
      if (!each(v)) return;
    }
  }

  // Compare key with the file at pos, 32 bytes at a time like djb's match():
  // a difference found early wins over damage further on.
  private keyAt(key: Buffer, pos: number): boolean {
    const chunk = this.keybuf;
    for (let done = 0; done < key.length; done += KEYCHUNK) {
      const n = Math.min(KEYCHUNK, key.length - done);
      this.readAt(chunk, n, pos + done);
      if (chunk.compare(key, done, done + n, 0, n) !== 0) return false;
    }
    return true;
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
