// Build a cdb file the way djb's cdb_make does, byte for byte: records in the
// order added, then 256 hash tables of twice as many slots as entries, each
// filled by linear probing in insertion order, then the 2048-byte header.
// Records stream to disk through one buffer; memory holds only a hash and a
// position per record (growable typed arrays), never the records themselves.
import * as fs from 'node:fs';
import { cdbHash } from './hash';

const HEADER = 2048;
const LIMIT = 0x100000000; // every offset in the file is a uint32
const BUFSIZE = 1 << 16;

export class CdbWriter {
  private fd: number;
  private readonly path: string;
  private buf = Buffer.allocUnsafe(BUFSIZE);
  private fill = 0;
  private pos = HEADER; // file offset of the next record
  private n = 0;
  private hashes = new Uint32Array(1024);
  private positions = new Uint32Array(1024);

  private constructor(fd: number, path: string) {
    this.fd = fd;
    this.path = path;
  }

  static create(path: string): CdbWriter {
    const fd = fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_WRONLY, 0o644);
    const w = new CdbWriter(fd, path);
    // The header is written last, in place; reserve its room now.
    w.buf.fill(0, 0, HEADER);
    w.fill = HEADER;
    return w;
  }

  add(key: Buffer | string, value: Buffer | string): void {
    const k = typeof key === 'string' ? Buffer.from(key) : key;
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    this.addRecord(k, 0, k.length, v, 0, v.length, cdbHash(k));
  }

  /**
   * add() without copies: key is key[ks..ke), value is val[vs..ve), h its cdbHash.
   * For compilers that parse a large input buffer in place.
   */
  addRecord(key: Buffer, ks: number, ke: number, val: Buffer, vs: number, ve: number, h: number): void {
    const klen = ke - ks;
    const vlen = ve - vs;
    const size = 8 + klen + vlen;
    // Room for this record plus the 8 bytes of its hash slot pair (2 slots of 8).
    if (this.pos + size + 16 * (this.n + 1) >= LIMIT) {
      throw new Error(`${this.path}: cdb would exceed 4 GiB`);
    }
    if (this.n === this.hashes.length) this.grow();
    this.hashes[this.n] = h;
    this.positions[this.n] = this.pos;
    this.n++;
    this.pos += size;
    if (this.fill + size > this.buf.length) {
      this.flush();
      if (size > this.buf.length) this.buf = Buffer.allocUnsafe(size);
    }
    const b = this.buf;
    b.writeUInt32LE(klen, this.fill);
    b.writeUInt32LE(vlen, this.fill + 4);
    key.copy(b, this.fill + 8, ks, ke);
    val.copy(b, this.fill + 8 + klen, vs, ve);
    this.fill += size;
  }

  finish(): void {
    const n = this.n;
    const hashes = this.hashes;
    const positions = this.positions;
    // Counting sort by table keeps insertion order inside each table.
    const count = new Uint32Array(256);
    for (let i = 0; i < n; i++) count[hashes[i] & 255]++;
    const start = new Uint32Array(257);
    let max = 0;
    for (let t = 0; t < 256; t++) {
      start[t + 1] = start[t] + count[t];
      if (count[t] > max) max = count[t];
    }
    const order = new Uint32Array(n);
    const next = start.slice(0, 256);
    for (let i = 0; i < n; i++) order[next[hashes[i] & 255]++] = i;

    const header = Buffer.alloc(HEADER);
    const slotH = new Uint32Array(2 * max);
    const slotP = new Uint32Array(2 * max);
    for (let t = 0; t < 256; t++) {
      const len = 2 * count[t];
      header.writeUInt32LE(this.pos, t * 8);
      header.writeUInt32LE(len, t * 8 + 4);
      if (len === 0) continue;
      slotH.fill(0, 0, len);
      slotP.fill(0, 0, len);
      for (let j = start[t]; j < start[t + 1]; j++) {
        const i = order[j];
        const h = hashes[i];
        let where = (h >>> 8) % len;
        while (slotP[where] !== 0) if (++where === len) where = 0;
        slotH[where] = h;
        slotP[where] = positions[i];
      }
      for (let s = 0; s < len; s++) {
        if (this.fill + 8 > this.buf.length) this.flush();
        this.buf.writeUInt32LE(slotH[s], this.fill);
        this.buf.writeUInt32LE(slotP[s], this.fill + 4);
        this.fill += 8;
      }
      this.pos += 8 * len;
    }
    this.flush();
    writeAll(this.fd, header, 0);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  abort(): void {
    if (this.fd >= 0) {
      try { fs.closeSync(this.fd); } catch { /* already unusable: unlinking is what matters */ }
      this.fd = -1;
    }
    try { fs.unlinkSync(this.path); } catch { /* nothing to remove */ }
  }

  private grow(): void {
    const h = new Uint32Array(this.hashes.length * 2);
    h.set(this.hashes);
    this.hashes = h;
    const p = new Uint32Array(this.positions.length * 2);
    p.set(this.positions);
    this.positions = p;
  }

  // Sequential writes; the first flush carries the zeroed header room.
  private written = 0;
  private flush(): void {
    if (this.fill === 0) return;
    writeAll(this.fd, this.buf.subarray(0, this.fill), this.written);
    this.written += this.fill;
    this.fill = 0;
  }
}

function writeAll(fd: number, b: Buffer, pos: number): void {
  let off = 0;
  while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off, pos + off);
}
