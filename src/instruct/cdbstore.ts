// tcpsvd -x cdb: ipsvd-cdb's output, reopened for every connection so that a
// recompile (written aside, then renamed over) counts from the next one.
import * as fs from 'node:fs';
import { Cdb, CdbError } from '../cdb/reader';
import { prefixLens, type PrefixLens } from './candidates';
import type { Entry, Store, View } from './store';

export class CdbStore implements Store {
  private known?: { ino: number; size: number; mtimeMs: number; lens: PrefixLens };

  constructor(readonly path: string) {}

  view(): View {
    const lens = this.lensFor(fs.statSync(this.path));
    const cdb = Cdb.open(this.path);
    return {
      lens,
      lookup: (name) => decode(this.path, name, cdb.get(name)),
      label: (name) => name,
      close: () => cdb.close(),
    };
  }

  // Which CIDR prefix lengths occur among the keys: scanned once per file
  // (a recompile is a new inode), not per connection.
  private lensFor(st: fs.Stats): PrefixLens {
    const k = this.known;
    if (k && k.ino === st.ino && k.size === st.size && k.mtimeMs === st.mtimeMs) return k.lens;
    const lens = prefixLens(keys(this.path, fs.readFileSync(this.path)));
    this.known = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, lens };
    return lens;
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

// The keys of a cdb, in file order: records run from the header to the
// first hash table.
function keys(path: string, b: Buffer): string[] {
  if (b.length < 2048) throw new CdbError(`${path}: truncated file`);
  let end = b.length;
  for (let t = 0; t < 256; t++) end = Math.min(end, b.readUInt32LE(t * 8));
  const out: string[] = [];
  let pos = 2048;
  while (pos + 8 <= end) {
    const klen = b.readUInt32LE(pos);
    const dlen = b.readUInt32LE(pos + 4);
    if (pos + 8 + klen + dlen > end) throw new CdbError(`${path}: record length out of range`);
    out.push(b.toString('utf8', pos + 8, pos + 8 + klen));
    pos += 8 + klen + dlen;
  }
  return out;
}
