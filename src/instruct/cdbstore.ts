// tcpsvd -x cdb: ipsvd-cdb's output, consulted for every connection so that a
// recompile (written aside, then renamed over) counts from the next one.
// Such a database is small (one record per file of a directory), so it is
// held in memory and re-read when the file changes: a decision then costs
// one stat(2) instead of an open, several preads and a close.
import * as fs from 'node:fs';
import { Cdb, CdbError } from '../cdb/reader';
import { Stamp } from '../lib/stamp';
import { prefixLens, type PrefixLens } from './candidates';
import type { Entry, Store, View } from './store';

interface Loaded {
  records: Map<string, Buffer>;
  lens: PrefixLens;
}

export class CdbStore implements Store {
  private loaded?: Loaded;
  private readonly stamp = new Stamp();

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
    if (this.loaded && this.stamp.same(st)) return this.loaded;
    const records = readRecords(this.path);
    this.stamp.take(st);
    this.loaded = { records, lens: prefixLens(records.keys()) };
    return this.loaded;
  }
}

// ipsvd's reading of a record: the last byte says what it is; an empty value
// is an error; an unknown type byte is passed over as if the key were absent.
function decode(path: string, name: string, v: Buffer | undefined): Entry | undefined {
  if (v === undefined) return undefined;
  if (v.length === 0) throw new CdbError(path, `${name}: empty record`);
  const text = v.subarray(0, v.length - 1);
  switch (v[v.length - 1]) {
    case 0x44: return { type: 'D' };
    case 0x58: return { type: 'X', text };
    case 0x49: return { type: 'I', text };
    default: return undefined;
  }
}

// Every key with its first record, as ipsvd's cdb_find answers: read
// through cdb/reader, which rejects exactly the files djb's reader rejects.
function readRecords(path: string): Map<string, Buffer> {
  const cdb = Cdb.open(path);
  try {
    const keys: Buffer[] = [];
    cdb.forEachKey((b, start, end) => keys.push(Buffer.from(b.subarray(start, end))));
    const out = new Map<string, Buffer>();
    for (const k of keys) {
      const name = k.toString('utf8');
      if (out.has(name)) continue;
      const v = cdb.get(k);
      if (v !== undefined) out.set(name, v);
    }
    return out;
  } finally {
    cdb.close();
  }
}
