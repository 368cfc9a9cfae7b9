// tcpsvd -x cdb: ipsvd-cdb's output, consulted for every connection so that a
// recompile (written aside, then renamed over) counts from the next one.
// Such a database is small (one record per file of a directory), so it is
// held in memory and re-read when the file changes: a decision then costs
// one stat(2) instead of an open, several preads and a close.
import * as fs from 'node:fs';
import { CdbError } from '../cdb/reader';
import { openRegular } from '../decide/regular';
import { prefixLens, type PrefixLens } from './candidates';
import type { Entry, Store, View } from './store';

// File times come from a coarse clock: a copy read within this long of the
// file's last change might miss a same-tick rewrite, so it is not trusted.
const RACY_MS = 2000;

interface Loaded {
  ino: number; size: number; mtimeMs: number; ctimeMs: number;
  at: number;
  records: Map<string, Buffer>;
  lens: PrefixLens;
}

export class CdbStore implements Store {
  private loaded?: Loaded;

  constructor(readonly path: string) {}

  view(): View {
    const l = this.load();
    return {
      lens: l.lens,
      lookup: (name) => decode(this.path, name, l.records.get(name)),
      label: (name) => name,
    };
  }

  private load(): Loaded {
    const st = fs.statSync(this.path);
    const l = this.loaded;
    if (l && l.ino === st.ino && l.size === st.size && l.mtimeMs === st.mtimeMs && l.ctimeMs === st.ctimeMs
        && l.mtimeMs + RACY_MS < l.at) return l;
    const at = Date.now();
    // Never blocking, never anything but a regular file (a FIFO here would freeze the server).
    const { fd } = openRegular(this.path);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const records = readRecords(this.path, bytes);
    this.loaded = {
      ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, at,
      records, lens: prefixLens(records.keys()),
    };
    return this.loaded;
  }
}

// ipsvd's reading of a record: the last byte says what it is; an empty value
// is an error; an unknown type byte is passed over as if the key were absent.
function decode(path: string, name: string, v: Buffer | undefined): Entry | undefined {
  if (v === undefined) return undefined;
  if (v.length === 0) throw new CdbError(`${path}: ${name}: empty record`);
  const text = v.subarray(0, v.length - 1);
  switch (v[v.length - 1]) {
    case 0x44: return { type: 'D' };
    case 0x58: return { type: 'X', text };
    case 0x49: return { type: 'I', text };
    default: return undefined;
  }
}

// The records of a cdb run from the 2048-byte header to the first hash
// table. For a repeated key the first record counts, as with cdb_find.
// Every length is checked against the file: a damaged file is a CdbError.
function readRecords(path: string, b: Buffer): Map<string, Buffer> {
  if (b.length < 2048) throw new CdbError(`${path}: truncated file`);
  let end = b.length;
  for (let t = 0; t < 256; t++) {
    const pos = b.readUInt32LE(t * 8);
    const slots = b.readUInt32LE(t * 8 + 4);
    if (pos < 2048 || pos + slots * 8 > b.length) throw new CdbError(`${path}: hash table out of range`);
    end = Math.min(end, pos);
  }
  const out = new Map<string, Buffer>();
  let pos = 2048;
  while (pos < end) {
    if (pos + 8 > end) throw new CdbError(`${path}: record length out of range`);
    const klen = b.readUInt32LE(pos);
    const dlen = b.readUInt32LE(pos + 4);
    const k = pos + 8;
    if (k + klen + dlen > end) throw new CdbError(`${path}: record length out of range`);
    const key = b.toString('utf8', k, k + klen);
    if (!out.has(key)) out.set(key, b.subarray(k + klen, k + klen + dlen));
    pos = k + klen + dlen;
  }
  return out;
}
