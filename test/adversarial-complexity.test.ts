// Input shapes that would cost the square of their size, for tcprules,
// tcprulescheck, the cdb writer, ipsvd-cdb, multilog and tai64nlocal (the
// other standing probes are in adversarial-tools.test.ts).
//
// Complexity is asserted by size, never by time: each shape is given at a
// size where quadratic work would run for hours (each case says how long
// the quadratic code took), under a bound the linear code meets with a
// wide margin.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LineCompiler, type LineError } from '../src/rules/parse';
import { checkRules } from '../src/rules/check';
import { Cdb } from '../src/cdb/reader';
import { CdbWriter } from '../src/cdb/writer';
import { findReference, ours, scratch } from './helpers/common';

// Ours from bin/, the reference tools through the shared helper (never our own copy on PATH).
const bin = ours;
const ref = (n: string) => findReference(n) ?? `/usr/bin/${n}`;
const have = (n: string) => findReference(n) !== undefined;

const fresh = scratch('complexity');

const RULES = '1.2.3.4:deny\n=example.org:allow,A="1"\n10.0.0.0/8:allow,B="2"\n:allow\n';

function compileWith(tool: string, cdb: string, text: string): void {
  const r = spawnSync(tool, [cdb, cdb + '.tmp'], { input: text, timeout: 30000 });
  if (r.status !== 0) throw new Error(`${tool}: ${r.stderr}`);
}

function timed(cmd: string, args: string[], input: Buffer | string, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  return spawnSync(cmd, args, { input, env: opts.env ?? process.env, cwd: opts.cwd, timeout: 60000, maxBuffer: 1 << 26 });
}

t.test('tcprules: no line shape is quadratic', async (t) => {
  const d = fresh('quad');
  const cdb = path.join(d, 'r.cdb');
  const shapes: Array<[string, string, number]> = [
    // [what, input, expected exit]
    ['the ",X=1" instructions of one rule (53 s in an early version)', ':allow' + ',X=1'.repeat(250000) + '\n', 0],
    ['a colon every 8 bytes, each before "allow" (233 s at 200000)', '::allow,'.repeat(400000) + '\n', 100],
    ['colons with instructions that parse from each of them', 'x@::1:allow,' + 'A=":allow,'.repeat(200000) + '"\n', 100],
    ['IPv6-looking text before many colons', '1:2:3:4:5:6:7:8:9:'.repeat(100000) + 'allow\n', 100],
    ['the same rule on 300000 lines (equal hashes: 16 s for the original at 100000)', '1.2.3.4:allow\n'.repeat(300000), 0],
    ['a range with a long suffix', '1.2.3.0-255' + '.x'.repeat(50000) + ':allow\n', 0],
    ['no colon at all', 'x'.repeat(8 << 20) + '\n', 0],
  ];
  for (const [what, input, code] of shapes) {
    const r = timed(bin('tcprules'), [cdb, cdb + '.tmp'], input);
    t.notOk(r.error, `${what}: finished (${r.error?.message ?? 'in time'})`);
    t.equal(r.status, code, what);
  }
});

t.test('tcprules: the one-pass IPv6 retry gives what trying each colon gives', async (t) => {
  // The plain algorithm (every later colon tried from scratch) as the oracle.
  const oracle = (line: Buffer) => {
    const recs: string[] = [];
    const lc = new LineCompiler({ addRecord: (k, ks, ke, v, vs, ve) => { recs.push(k.toString('latin1', ks, ke) + '=>' + v.toString('latin1', vs, ve)); } });
    const L = lc as unknown as {
      instructions(b: Buffer, p: number, e: number): boolean;
      address(b: Buffer, s: number, e: number): LineError | null;
      ipv6Address(b: Buffer, s: number, e: number): LineError | null;
    };
    const end = line.length;
    const run = (): LineError | null => {
      if (end === 0 || line[0] === 0x23) return null;
      const colon = line.indexOf(0x3a);
      if (colon < 0) return null;
      if (L.instructions(line, colon + 1, end)) return L.address(line, 0, colon);
      let err: LineError = 'parse';
      for (let c = line.indexOf(0x3a, colon + 1); c >= 0; c = line.indexOf(0x3a, c + 1)) {
        if (!L.instructions(line, c + 1, end)) continue;
        const e = L.ipv6Address(line, 0, c);
        if (e === null) return null;
        if (err === 'parse') err = e;
      }
      return err;
    };
    return { err: run(), recs };
  };
  const ours = (line: Buffer) => {
    const recs: string[] = [];
    const lc = new LineCompiler({ addRecord: (k, ks, ke, v, vs, ve) => { recs.push(k.toString('latin1', ks, ke) + '=>' + v.toString('latin1', vs, ve)); } });
    return { err: lc.line(line, 0, line.length), recs };
  };
  const words = ['allow', 'deny', ':', '::', ',', '=', '"', "'", '1', 'f', 'A', '/', '64', '/0', '.', '@', 'x',
    '2001:db8', '::1', '1.2.3.4', '0', ':allow', ':deny', ',A="1"', ',B=:x:', '999', ' '];
  let seed = 7;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  let differ = 0;
  for (let i = 0; i < 30000; i++) {
    let s = '';
    const k = 1 + rnd(10);
    for (let j = 0; j < k; j++) s += words[rnd(words.length)];
    const b = Buffer.from(s, 'latin1');
    const a = ours(b), o = oracle(b);
    if (JSON.stringify(a) !== JSON.stringify(o)) {
      if (differ++ < 5) t.same(a, o, JSON.stringify(s));
    }
  }
  t.equal(differ, 0, 'no line differs');
});

t.test('tcprulescheck: long addresses and names are not quadratic', async (t) => {
  const d = fresh('check-quad');
  const cdb = path.join(d, 'r.cdb');
  compileWith(bin('tcprules'), cdb, RULES + '=.org:allow,C="3"\n1.:deny\n');
  // In-process, beyond what an environment variable may hold (128 KiB):
  // 4 MB of dots, where hashing every suffix would run for hours.
  const dots = '.'.repeat(4 << 20);
  t.same(checkRules(cdb, { TCPREMOTEIP: '9.9.9.9', TCPREMOTEHOST: 'a' + dots + 'org' }).stdout.toString(),
    'rule =.org:\nset environment variable C=3\nallow connection\n', 'a name of many dots');
  t.same(checkRules(cdb, { TCPREMOTEIP: '1' + dots }).stdout.toString(), 'rule 1.:\ndeny connection\n', 'an address of many dots');
  t.same(checkRules(cdb, { TCPREMOTEIP: '9' + dots }).stdout.toString(), 'rule :\nallow connection\n', 'nothing but the default rule');
  // Through the command, at the environment's limit, against the original.
  const env = { PATH: process.env.PATH, TCPREMOTEIP: '1' + '.'.repeat(30000) };
  const ours = timed(bin('tcprulescheck'), [cdb], '', { env });
  t.notOk(ours.error, 'finished');
  if (have('tcprulescheck')) {
    const r = timed(ref('tcprulescheck'), [cdb], '', { env });
    t.equal(ours.stdout.toString(), r.stdout.toString(), 'same answer as the original');
  }
});

t.test('cdb writer: equal hashes are placed in linear time, in the same slots', async (t) => {
  const d = fresh('writer');
  const file = path.join(d, 'w.cdb');
  const w = CdbWriter.create(file);
  const n = 2000000; // plain linear probing: 2e12 probes
  const key = Buffer.from('same key');
  const val = Buffer.from('v');
  for (let i = 0; i < n; i++) w.add(key, val);
  w.finish();
  const c = Cdb.open(file);
  let count = 0;
  c.forEachKey(() => { count++; });
  t.equal(count, n, 'every record written');
  t.equal(c.get('same key')?.toString(), 'v', 'found through its slot');
  t.equal(c.get('other key'), undefined, 'an absent key ends its probe');
  c.close();
  if (have('cdb')) {
    // tinycdb builds the same file from the same records.
    const src = path.join(d, 'in.txt');
    const m = 20000;
    let text = '';
    const w2 = CdbWriter.create(path.join(d, 'ours.cdb'));
    for (let i = 0; i < m; i++) {
      const k = i % 3 === 0 ? 'dup' : `k${i % 1000}`;
      text += `+${k.length},${String(i).length}:${k}->${i}\n`;
      w2.add(k, String(i));
    }
    w2.finish();
    fs.writeFileSync(src, text + '\n');
    const r = spawnSync('sh', ['-c', 'cdb -c -t "$1.tmp" "$1" < "$2"', 'sh', path.join(d, 'ref.cdb'), src], { timeout: 60000 });
    t.equal(r.status, 0, r.stderr.toString());
    t.same(fs.readFileSync(path.join(d, 'ours.cdb')), fs.readFileSync(path.join(d, 'ref.cdb')), 'byte for byte as tinycdb');
  }
});

t.test('ipsvd-cdb, multilog, tai64nlocal: big inputs of every shape finish', async (t) => {
  const d = fresh('linear');
  const peers = path.join(d, 'peers');
  fs.mkdirSync(peers);
  fs.writeFileSync(path.join(peers, '1.1.1.1'), '+A=' + 'x'.repeat(20 << 20) + '\n');
  fs.writeFileSync(path.join(peers, '2.2.2.2'), '+A=1\n'.repeat(1000000));
  fs.writeFileSync(path.join(peers, '3.3.3.3'), 'C1:' + '\\n'.repeat(2000000) + '\n');
  fs.writeFileSync(path.join(peers, '4.4.4.4'), '\n'.repeat(2000000));
  const r = timed(bin('ipsvd-cdb'), [path.join(d, 'p.cdb'), path.join(d, 'p.tmp'), peers], '');
  t.notOk(r.error, 'ipsvd-cdb finished');
  t.equal(r.status, 0, r.stderr.toString().slice(0, 200));

  const lines = Buffer.from('a\n'.repeat(1000000));
  const ml = timed(bin('multilog'), ['t', '-*', '+a*', '+*a', '=st', './log'], lines, { cwd: d });
  t.notOk(ml.error, 'multilog finished on 1000000 short lines');
  t.equal(ml.status, 0);

  for (const [what, input] of [
    ['labels', '@4000000065000000000000000 x\n'.repeat(500000)],
    ['label-like runs of hex digits', ('@' + '4'.repeat(40) + '\n').repeat(500000)],
    ['one line of @ and no newline', '@'.repeat(16 << 20)],
  ] as const) {
    const r = timed(bin('tai64nlocal'), [], input, { env: { ...process.env, TZ: 'UTC' } });
    t.notOk(r.error, `tai64nlocal finished: ${what}`);
    t.equal(r.status, 0, what);
  }
});
