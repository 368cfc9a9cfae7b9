// Build a cdb file the way djb's cdb_make does, byte for byte: records in the
// order added, then 256 hash tables of twice as many slots as entries, each
// filled by linear probing in insertion order, then the 2048-byte header.
// Records stream to disk through one buffer; memory holds only a hash and a
// position per record (growable typed arrays), never the records themselves.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { cdbHashRange } from './hash';

const HEADER = 2048;
const LIMIT = 0x100000000; // every offset in the file is a uint32
const BUFSIZE = 1 << 20; // few large writes; memory stays bounded
const BIG_ENDIAN = os.endianness() === 'BE';

export class CdbWriter {
  private fd: number;
  private readonly path: string;
  private buf = Buffer.allocUnsafe(BUFSIZE);
  private bufView = viewOf(this.buf);
  private lastVal: Buffer | null = null;
  private lastView: DataView | null = null;
  private fill = 0;
  private pos = HEADER; // file offset of the next record
  private n = 0;
  private hashes = new Uint32Array(1024);
  private positions = new Uint32Array(1024);

  private constructor(fd: number, path: string) {
    this.fd = fd;
    this.path = path;
  }

  /** expected: how many records are likely, to size the index once (optional). */
  static create(path: string, expected = 0): CdbWriter {
    return CdbWriter.onFd(fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_WRONLY, 0o644), path, expected);
  }

  /** On a file the caller created (fd, named path: what abort removes). */
  static onFd(fd: number, path: string, expected = 0): CdbWriter {
    const w = new CdbWriter(fd, path);
    if (expected > 1024) {
      const n = Math.min(expected, 1 << 26);
      w.hashes = new Uint32Array(n);
      w.positions = new Uint32Array(n);
    }
    // The header is written last, in place; reserve its room now.
    w.buf.fill(0, 0, HEADER);
    w.fill = HEADER;
    return w;
  }

  add(key: Buffer | string, value: Buffer | string): void {
    const k = typeof key === 'string' ? Buffer.from(key) : key;
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    this.addRecord(k, 0, k.length, v, 0, v.length);
  }

  /**
   * add() without copies: key is key[ks..ke), value is val[vs..ve).
   * For compilers that parse a large input buffer in place.
   */
  addRecord(key: Buffer, ks: number, ke: number, val: Buffer, vs: number, ve: number): void {
    const klen = ke - ks;
    const vlen = ve - vs;
    const size = 8 + klen + vlen;
    // This record plus its two 8-byte slots must keep every offset a uint32.
    if (this.pos + size + 16 * (this.n + 1) >= LIMIT) {
      throw new Error(`${this.path}: cdb would exceed 4 GiB`);
    }
    if (this.fill + size > this.buf.length) {
      this.flush();
      if (size > this.buf.length) {
        this.buf = Buffer.allocUnsafe(size);
        this.bufView = viewOf(this.buf);
      }
    }
    const b = this.buf;
    let o = this.fill;
    b[o] = klen; b[o + 1] = klen >>> 8; b[o + 2] = klen >>> 16; b[o + 3] = klen >>> 24;
    b[o + 4] = vlen; b[o + 5] = vlen >>> 8; b[o + 6] = vlen >>> 16; b[o + 7] = vlen >>> 24;
    o += 8;
    // Hash while copying the key; short copies are cheaper by hand than by copy().
    let h = 5381; // int32 arithmetic (imul); the Uint32Array store makes it unsigned
    if (klen < 64) {
      for (let i = ks; i < ke; i++) { const c = key[i]; b[o++] = c; h = Math.imul(h, 33) ^ c; }
    } else {
      key.copy(b, o, ks, ke);
      h = cdbHashRange(key, ks, ke);
      o += klen;
    }
    if (vlen < 64) {
      // Four bytes at a time through DataViews: values are the bulk of a rules cdb.
      const src = val === this.lastVal ? this.lastView! : this.viewOf(val);
      const dst = this.bufView;
      let i = vs;
      for (; i + 4 <= ve; i += 4, o += 4) dst.setUint32(o, src.getUint32(i));
      for (; i < ve; i++) b[o++] = val[i];
    } else {
      val.copy(b, o, vs, ve);
    }
    this.fill += size;
    if (this.n === this.hashes.length) this.grow();
    this.hashes[this.n] = h;
    this.positions[this.n] = this.pos;
    this.n++;
    this.pos += size;
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
    // Sorted copies of (hash, position), so placement below reads sequentially.
    const sortedH = new Uint32Array(n);
    const sortedP = new Uint32Array(n);
    const next = start.slice(0, 256);
    for (let i = 0; i < n; i++) {
      const j = next[hashes[i] & 255]++;
      sortedH[j] = hashes[i];
      sortedP[j] = positions[i];
    }

    const header = Buffer.alloc(HEADER);
    // Slots as interleaved (hash, position) uint32 pairs, written straight
    // from the typed array: cdb is little-endian, so swap on big-endian hosts.
    const table = new Uint32Array(4 * max);
    const bytes = Buffer.from(table.buffer);
    // Linear probing, as cdb_make does, but each probe run jumps straight to
    // the next free slot (a union-find over taken slots): records whose
    // hashes pile onto one slot would otherwise cost the square of their
    // number. Same slots, same file.
    const free = new Int32Array(2 * max + 1);
    this.flush();
    for (let t = 0; t < 256; t++) {
      const len = 2 * count[t];
      header.writeUInt32LE(this.pos, t * 8);
      header.writeUInt32LE(len, t * 8 + 4);
      if (len === 0) continue;
      table.fill(0, 0, 2 * len);
      for (let k = 0; k < len; k++) free[k] = k;
      for (let j = start[t]; j < start[t + 1]; j++) {
        const h = sortedH[j];
        const where = nextFree(free, (h >>> 8) % len);
        table[2 * where] = h;
        table[2 * where + 1] = sortedP[j];
        free[where] = where + 1 === len ? 0 : where + 1; // taken: point past it
      }
      const out = bytes.subarray(0, 8 * len);
      if (BIG_ENDIAN) out.swap32();
      writeAll(this.fd, out, this.written);
      this.written += out.length;
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

  private viewOf(val: Buffer): DataView {
    this.lastVal = val;
    return (this.lastView = viewOf(val));
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

// The first free slot at or after k, wrapping (there always is one: a table
// has twice as many slots as records), compressing the path walked.
function nextFree(free: Int32Array, k: number): number {
  let root = k;
  while (free[root] !== root) root = free[root];
  while (free[k] !== root) {
    const next = free[k];
    free[k] = root;
    k = next;
  }
  return root;
}

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.length);
}

function writeAll(fd: number, b: Buffer, pos: number): void {
  let off = 0;
  while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off, pos + off);
}
