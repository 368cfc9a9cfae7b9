// tcpsvd -i dir: the instructions directory, read live on every connection
// (stat, then read the one file that matched), so an edit takes effect at
// the next connection, as with ipsvd.
import * as fs from 'node:fs';
import { readRegular } from '../lib/regular';
import { prefixLens, type PrefixLens } from './candidates';
import { errstr } from '../lib/errstr';
import { outOfMemory } from '../lib/nomem';
import { Stamp } from '../lib/stamp';
import { execText, fileText } from './parse';
import type { Entry, Store, View } from './store';

/** Largest peers (instructions) file the server reads; a bigger one fails closed for that client (tcpsvd(8)). */
export const INSTRUCTIONS_MAX = 64 * 1024;

const S_IRUSR = 0o400;
const S_IWUSR = 0o200;
const S_IXUSR = 0o100;

export class DirStore implements Store {
  private lens?: PrefixLens;
  private readonly stamp = new Stamp();

  /**
   * expireSec: tcpsvd -t; a file the owner may write that was not read for
   * that long is removed and treated as absent. warn gets ipsvd's warning text.
   */
  constructor(readonly dir: string, private readonly expireSec: number,
              private readonly warn: (msg: string) => void) {}

  view(): View {
    const st = fs.statSync(this.dir);
    const lens = this.lensFor(st);
    const now = Math.floor(Date.now() / 1000);
    return {
      lens,
      lookup: (name) => this.lookup(name, now),
      label: (name) => `${this.dir}/${name}`,
    };
  }

  // Only CIDR names need the listing (to know which prefix lengths to probe);
  // it is reread when the directory changes, or may have changed unseen.
  private lensFor(st: fs.Stats): PrefixLens {
    if (this.lens && this.stamp.same(st)) return this.lens;
    const lens = prefixLens(fs.readdirSync(this.dir));
    this.stamp.take(st);
    return (this.lens = lens);
  }

  private lookup(name: string, now: number): Entry | undefined {
    // Forward names come from file contents: never let one leave the directory.
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return undefined;
    const path = `${this.dir}/${name}`;
    const st = fs.statSync(path, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (this.expireSec > 0 && (st.mode & S_IWUSR) !== 0) {
      const atime = Math.floor(st.atimeMs / 1000);
      if (now >= atime && now - atime >= this.expireSec) {
        try {
          fs.unlinkSync(path);
        } catch (e) {
          this.warn(`unable to unlink: ${path}: ${errstr(e)}`);
        }
        return undefined;
      }
    }
    return readEntry(path, st.mode, this.reader);
  }

  // Every connection reads an entry: into one reused buffer, not a new one
  // each time (their pool slabs, made and freed per connection, crept up the
  // C heap). The entry's text is used before the next read.
  private readonly reader = reuseReader();
}

/**
 * The most an entry may hold when ipsvd-cdb compiles a directory. ipsvd-cdb
 * reads an entry whole, and so do we; past this it is refused as out of memory
 * (a device such as /dev/zero never ends). The server reads its entries with
 * reuseReader below instead: regular files only, at most INSTRUCTIONS_MAX.
 */
export const ENTRY_MAX = 64 << 20;

// Opened as ipsvd's open_read() does, non-blocking: a FIFO (or a device that
// would wait) in the directory must never hang the compiler. A
// FIFO without a writer reads as empty; one that has no data ready fails
// with EAGAIN ("temporary failure"), as in ipsvd.
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;

/**
 * Read a whole entry into buf (grown as needed, never past ENTRY_MAX); the
 * contents are the first n bytes of the returned buffer.
 */
function readBounded(path: string | Buffer, buf: Buffer): { buf: Buffer; n: number } {
  const fd = fs.openSync(path, OPEN_FLAGS);
  try {
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length >= ENTRY_MAX) throw outOfMemory();
        const size = Math.min(buf.length * 2, ENTRY_MAX);
        let bigger: Buffer;
        try {
          bigger = Buffer.allocUnsafe(size);
        } catch {
          throw outOfMemory();
        }
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      let r: number;
      try {
        r = fs.readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EINTR') continue;
        throw e;
      }
      if (r === 0) return { buf, n };
      n += r;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** One entry's contents in a buffer of its own. */
export function readEntryFile(path: string | Buffer): Buffer {
  const { buf, n } = readBounded(path, Buffer.allocUnsafe(4096));
  return buf.subarray(0, n);
}

/**
 * A peers file into one buffer that each call reuses (its answer is valid
 * until the next call): opened without blocking, only a regular file, at most
 * INSTRUCTIONS_MAX bytes.
 */
function reuseReader(): (path: string | Buffer) => Buffer {
  let buf = Buffer.allocUnsafeSlow(4096);
  return (path) => {
    const r = readRegular(path, INSTRUCTIONS_MAX, buf);
    if (r.buffer !== buf.buffer) buf = Buffer.from(r.buffer as ArrayBuffer);
    return r;
  };
}

/**
 * What a file says, by its owner permission bits (mode from stat(2)): neither
 * read nor execute: deny; execute: a shell command; read: instructions.
 * path may be raw bytes: ipsvd-cdb keeps file names that are not UTF-8.
 * read: how to read the file (default readEntryFile); a reader that reuses
 * its buffer makes the entry's text valid only until its next call.
 */
export function readEntry(path: string | Buffer, mode: number,
                          read?: (path: string | Buffer) => Buffer): Entry {
  if ((mode & (S_IRUSR | S_IXUSR)) === 0) return { type: 'D' };
  const contents = read ? read(path) : readEntryFile(path);
  if (mode & S_IXUSR) return { type: 'X', text: execText(contents) };
  return { type: 'I', text: fileText(contents, read !== undefined) };
}
