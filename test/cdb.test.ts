// cdb library: hash, byte-identity with tinycdb's cdb -c (a cdb_make clone),
// multi-valued keys, and damaged files that must raise CdbError, never hang.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { cdbHash } from '../src/cdb/hash';
import { Cdb, CdbError, cdbGet } from '../src/cdb/reader';
import { CdbWriter } from '../src/cdb/writer';
import { findReference, needReference } from './helpers/common';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdbtest-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const REF = findReference('cdb') ?? 'cdb';
const need = needReference('cdb');

// Values computed from the definition h = ((h << 5) + h) ^ c, h0 = 5381.
t.test('hash', async (t) => {
  const cases: Array<[string, number]> = [
    ['', 5381],
    ['a', ((5381 * 33) ^ 0x61) >>> 0],
    ['ab', ((((5381 * 33) ^ 0x61) * 33) ^ 0x62) >>> 0],
  ];
  for (const [k, h] of cases) t.equal(cdbHash(Buffer.from(k)), h, JSON.stringify(k));
  // Long keys wrap at 32 bits.
  const long = Buffer.alloc(1000, 0xff);
  let h = 5381;
  for (const c of long) h = Number((BigInt(h) * 33n ^ BigInt(c)) & 0xffffffffn);
  t.equal(cdbHash(long), h, 'wraps like uint32');
});

function records(n: number, seed: number, long = 1): Array<[Buffer, Buffer]> {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) >>> 8;
  const out: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < n; i++) {
    const k = Buffer.alloc(rnd() % (12 * long));
    for (let j = 0; j < k.length; j++) k[j] = rnd() % 4; // few distinct keys: many duplicates
    const v = Buffer.alloc(rnd() % (40 * long));
    for (let j = 0; j < v.length; j++) v[j] = rnd() & 255;
    out.push([k, v]);
  }
  return out;
}

function write(file: string, recs: Array<[Buffer, Buffer]>): void {
  const w = CdbWriter.create(file);
  for (const [k, v] of recs) w.add(k, v);
  w.finish();
}

function tinycdbInput(recs: Array<[Buffer, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of recs) {
    parts.push(Buffer.from(`+${k.length},${v.length}:`), k, Buffer.from('->'), v, Buffer.from('\n'));
  }
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

t.test('byte-identical to cdb -c', need, async (t) => {
  for (const [n, seed, long] of [[0, 1, 1], [1, 2, 1], [7, 3, 1], [300, 4, 1], [20000, 5, 1], [500, 6, 20]]) {
    // long: keys and values past 64 bytes take the writer's bulk-copy path
    const recs = records(n, seed, long);
    const ours = path.join(dir, `o${n}.cdb`);
    const ref = path.join(dir, `r${n}.cdb`);
    write(ours, recs);
    execFileSync(REF, ['-c', ref], { input: tinycdbInput(recs) });
    t.ok(fs.readFileSync(ours).equals(fs.readFileSync(ref)), `${n} records`);
  }
});

t.test('get and getAll return records in insertion order', async (t) => {
  const recs = records(3000, 9);
  const file = path.join(dir, 'multi.cdb');
  write(file, recs);
  const byKey = new Map<string, Buffer[]>();
  for (const [k, v] of recs) {
    const h = k.toString('hex');
    if (!byKey.has(h)) byKey.set(h, []);
    byKey.get(h)!.push(v);
  }
  const c = Cdb.open(file);
  let ok = true;
  for (const [h, vs] of byKey) {
    const got = c.getAll(Buffer.from(h, 'hex'));
    if (got.length !== vs.length || got.some((g, i) => !g.equals(vs[i]))) ok = false;
    if (!c.get(Buffer.from(h, 'hex'))!.equals(vs[0])) ok = false;
    if (!c.find(Buffer.from(h, 'hex'))!.equals(vs[0])) ok = false;
  }
  t.ok(ok, 'every key gives all its values in order; find() the first, as get()');
  const [k0, k1] = [...byKey.keys()].map((h) => Buffer.from(h, 'hex'));
  const first = c.find(k0)!;
  const copy = Buffer.from(first);
  c.find(k1);
  t.ok(c.find(k0)!.equals(copy), 'find() answers again after another lookup (its buffer is reused)');
  t.equal(c.get(Buffer.from([9, 9, 9])), undefined, 'missing key');
  t.same(c.getAll('zz'), [], 'missing key, getAll');
  c.close();
  t.equal(cdbGet(file, Buffer.from(recs[0][0]))!.toString('hex'), byKey.get(recs[0][0].toString('hex'))![0].toString('hex'));
  t.throws(() => Cdb.open(path.join(dir, 'absent.cdb')), { code: 'ENOENT' });
});

t.test('forEachKey walks every key in file order', async (t) => {
  const recs = records(5000, 13);
  const file = path.join(dir, 'keys.cdb');
  write(file, recs);
  const c = Cdb.open(file);
  const seen: string[] = [];
  c.forEachKey((b, s, e) => seen.push(b.toString('hex', s, e)));
  c.close();
  t.same(seen, recs.map((r) => r[0].toString('hex')));
  // Damage inside the records region is reported, not skipped.
  const b = fs.readFileSync(file);
  b.writeUInt32LE(0xfffffff0, 2048 + 4); // first record's data length
  fs.writeFileSync(file, b);
  const d = Cdb.open(file);
  t.throws(() => d.forEachKey(() => {}), CdbError);
  d.close();
  const empty = path.join(dir, 'empty.cdb');
  write(empty, []);
  const e = Cdb.open(empty);
  let n = 0;
  e.forEachKey(() => n++);
  e.close();
  t.equal(n, 0, 'no records');
});

t.test('abort removes the file', async (t) => {
  const file = path.join(dir, 'aborted.cdb');
  const w = CdbWriter.create(file);
  w.add('a', 'b');
  w.abort();
  t.notOk(fs.existsSync(file));
});

t.test('damaged files raise CdbError and never hang', async (t) => {
  const file = path.join(dir, 'good.cdb');
  const recs = records(500, 11);
  write(file, recs);
  const good = fs.readFileSync(file);
  const keys = recs.slice(0, 20).map((r) => r[0]).concat([Buffer.from('absent')]);
  const bad = path.join(dir, 'bad.cdb');
  let s = 77;
  const rnd = (m: number) => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % m;
  let errors = 0;
  let others = 0;
  const probe = () => {
    const c = Cdb.open(bad);
    try {
      for (const k of keys) c.getAll(k);
    } catch (e) {
      if (e instanceof CdbError) errors++;
      else others++;
    } finally {
      c.close();
    }
  };
  // Truncations at every interesting length.
  for (const len of [0, 1, 100, 2047, 2048, 2056, good.length >> 1, good.length - 1]) {
    fs.writeFileSync(bad, good.subarray(0, len));
    probe();
  }
  // Random overwrites of header, slots and record lengths.
  for (let i = 0; i < 200; i++) {
    const b = Buffer.from(good);
    const hits = 1 + rnd(4);
    for (let j = 0; j < hits; j++) {
      const at = rnd(3) === 0 ? rnd(2048) : rnd(b.length - 4);
      b.writeUInt32LE(rnd(3) === 0 ? 0xffffffff : rnd(b.length * 2), at & ~3);
    }
    fs.writeFileSync(bad, b);
    probe();
  }
  // A table whose every slot is occupied with a matching hash but wrong key: must stop.
  const full = Buffer.alloc(2048 + 8 * 4 + 8 + 1);
  const h = cdbHash(Buffer.from('x'));
  full.writeUInt32LE(2048, (h & 255) * 8);
  full.writeUInt32LE(4, (h & 255) * 8 + 4);
  const rec = 2048 + 32;
  for (let i = 0; i < 4; i++) { full.writeUInt32LE(h, 2048 + i * 8); full.writeUInt32LE(rec, 2048 + i * 8 + 4); }
  full.writeUInt32LE(1, rec); full.writeUInt32LE(0, rec + 4); full[rec + 8] = 0x79; // key "y"
  fs.writeFileSync(bad, full);
  const c = Cdb.open(bad);
  t.same(c.getAll('x'), [], 'full table with no match terminates');
  c.close();
  t.equal(others, 0, 'no error other than CdbError');
  t.ok(errors > 0, 'damage was detected');
});
