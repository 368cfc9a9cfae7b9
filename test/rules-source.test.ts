// The lookup order and RulesCdbSource: for one client, every kind of key is
// present and removed one by one, so each step must win exactly when all
// earlier ones are gone. Then decoding, recompiling and failing closed.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileRules } from '../src/rules/compile';
import { RulesCdbSource } from '../src/rules/source';
import { decodeRule } from '../src/rules/value';
import { CdbError } from '../src/cdb/reader';
import type { Peer } from '../src/decide/decision';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulessource-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function compile(lines: string[], name: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file + '.in', lines.join('\n') + '\n');
  const fd = fs.openSync(file + '.in', 'r');
  try {
    compileRules(fd, file, file + '.tmp');
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

// [rule address, the name decide() reports], in the order they must be tried.
const V4: Array<[string, string]> = [
  ['joe@10.1.2.3', 'joe@10.1.2.3'],
  ['joe@=a.b.example.org', 'joe@=a.b.example.org'],
  ['10.1.2.3', '10.1.2.3'],
  ['=a.b.example.org', '=a.b.example.org'],
  ['10.1.2.', '10.1.2.'],
  ['10.1.', '10.1.'],
  ['10.', '10.'],
  ['10.1.2.3/32', '10.1.2.3/32'],
  ['10.1.2.0/23', '10.1.2.0/23'],
  ['10.1.0.0/16', '10.1.0.0/16'],
  ['10.0.0.0/8', '10.0.0.0/8'],
  ['0.0.0.0/1', '0.0.0.0/1'],
  ['=.b.example.org', '=.b.example.org'],
  ['=.example.org', '=.example.org'],
  ['=.org', '=.org'],
  ['=', '='],
  ['', ''],
];
const V6: Array<[string, string]> = [
  ['joe@2001:db8::7', 'joe@2001:0DB8:0000:0000:0000:0000:0000:0007'],
  ['joe@=h.example', 'joe@=h.example'],
  ['2001:db8::7', '2001:0DB8:0000:0000:0000:0000:0000:0007'],
  ['=h.example', '=h.example'],
  ['2001:db8::7/128', '2001:db8::7/128'],
  ['2001:db8::/64', '2001:db8::/64'],
  ['2001:db8::/32', '2001:db8::/32'],
  ['2000::/3', '2000::/3'],
  ['=.example', '=.example'],
  ['=', '='],
  ['', ''],
];

function orderTest(name: string, table: Array<[string, string]>, peer: Peer): void {
  t.test(`lookup order, ${name}`, async (t) => {
    for (let k = 0; k < table.length; k++) {
      // Later keys first in the file, so file order cannot fake the lookup order.
      const lines = table.slice(k).reverse().map(([addr], i) => `${addr}:allow,STEP="${table.length - 1 - i}"`);
      const d = new RulesCdbSource(compile(lines, `${name}${k}.cdb`)).decide(peer);
      t.same(d, { action: 'allow', set: [['STEP', String(k)]], unset: [], matched: table[k][1] }, `without the first ${k}`);
    }
  });
}
orderTest('IPv4', V4, { ip: '10.1.2.3', host: 'a.b.example.org', info: 'joe' });
orderTest('IPv6', V6, { ip: '2001:db8::7', host: 'h.example', info: 'joe' });

t.test('host and info keys only when known', async (t) => {
  const src = new RulesCdbSource(compile(['joe@10.1.2.3:deny', '=:deny', '=.org:deny', ':allow,X="last"'], 'known.cdb'));
  t.same(src.decide({ ip: '10.1.2.3' }), { action: 'allow', set: [['X', 'last']], unset: [], matched: '' });
  t.equal((src.decide({ ip: '10.1.2.3', info: 'joe' }) as { action: string }).action, 'deny');
  t.equal((src.decide({ ip: '10.9.9.9', host: 'x.org' }) as { matched: string }).matched, '=.org');
  t.equal((src.decide({ ip: '10.9.9.9', host: 'localhost' }) as { matched: string }).matched, '=');
});

t.test('remembered decisions: per address, name and ident, never mixed up', async (t) => {
  const src = new RulesCdbSource(compile(['=undefined:deny', 'x@10.1.2.3:deny,WHO="x"', ':allow'], 'remember.cdb'));
  const action = (p: Peer) => (src.decide(p) as { action: string }).action;
  for (let round = 0; round < 2; round++) {
    t.equal(action({ ip: '10.1.2.3' }), 'allow', `round ${round}: address alone`);
    t.equal(action({ ip: '10.1.2.3', host: 'undefined' }), 'deny', `round ${round}: a host literally named "undefined"`);
    t.equal(action({ ip: '10.1.2.3', info: 'x' }), 'deny', `round ${round}: ident x`);
    t.equal(action({ ip: '10.1.2.3', info: 'y' }), 'allow', `round ${round}: ident y`);
    t.equal(action({ ip: '10.1.2.4', info: 'x' }), 'allow', `round ${round}: another address`);
  }
});

t.test('names and idents beyond ASCII are looked up as their UTF-8 bytes', async (t) => {
  const src = new RulesCdbSource(compile(['jö@10.1.2.3:deny', '=hö.example:allow,X="name"', ':allow,X="default"'], 'utf8.cdb'));
  t.equal((src.decide({ ip: '10.1.2.3', info: 'jö' }) as { action: string }).action, 'deny');
  t.equal((src.decide({ ip: '10.1.2.3', info: 'jo' }) as { action: string }).action, 'allow');
  t.same((src.decide({ ip: '10.1.2.4', host: 'hö.example' }) as { set: unknown }).set, [['X', 'name']]);
});

t.test('no rule matches: allow, nothing set', async (t) => {
  const src = new RulesCdbSource(compile(['10.1.2.3:deny'], 'nomatch.cdb'));
  t.same(src.decide({ ip: '10.1.2.4' }), { action: 'allow', set: [], unset: [] });
});

t.test('value decoding', async (t) => {
  const cases: Array<[string, string, Array<[string, string]>]> = [
    ['', 'allow', []],
    ['D\0', 'deny', []],
    ['+A=1\0+B=x=y\0', 'allow', [['A', '1'], ['B', 'x=y']]],
    ['+A=1\0D\0+B=2\0', 'deny', [['A', '1'], ['B', '2']]],
    ['+NOEQ\0+=v\0?junk\0\0+TAIL=nonul', 'allow', [['', 'v']]],
  ];
  for (const [v, action, set] of cases) {
    t.same(decodeRule(Buffer.from(v, 'latin1'), 'k'), { action, set, unset: [], matched: 'k' }, JSON.stringify(v));
  }
});

t.test('a recompiled cdb applies from the next decision', async (t) => {
  const file = compile(['10.1.2.3:allow'], 'live.cdb');
  const src = new RulesCdbSource(file);
  const peer = { ip: '10.1.2.3' };
  t.equal((src.decide(peer) as { action: string }).action, 'allow');
  compile(['10.1.2.3:deny'], 'live.cdb');
  t.equal((src.decide(peer) as { action: string }).action, 'deny');
});

t.test('unreadable or damaged: decide throws (the server fails closed)', async (t) => {
  const missing = new RulesCdbSource(path.join(dir, 'absent.cdb'));
  t.throws(() => missing.decide({ ip: '10.1.2.3' }), { code: 'ENOENT' });
  const file = path.join(dir, 'damaged.cdb');
  fs.writeFileSync(file, Buffer.alloc(100, 0xff));
  t.throws(() => new RulesCdbSource(file).decide({ ip: '10.1.2.3' }), CdbError);
  fs.writeFileSync(file, '');
  // Empty: the original's reader cannot map it, and says "invalid argument".
  t.throws(() => new RulesCdbSource(file).decide({ ip: '10.1.2.3' }), { code: 'EINVAL' });
});

t.test('damaged files: a decision or CdbError, nothing else', async (t) => {
  const lines = Array.from({ length: 300 }, (_, i) => `10.${i % 7}.${i % 5}.${i}:allow,N="${i}"`);
  lines.push('10.0.0.0/8:deny', '2001:db8::/32:deny', '=.example.org:deny', ':allow');
  const good = fs.readFileSync(compile(lines, 'fuzzgood.cdb'));
  const bad = path.join(dir, 'fuzzbad.cdb');
  let s = 4711;
  const r = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
  let decided = 0;
  let refused = 0;
  for (let i = 0; i < 300; i++) {
    const b = Buffer.from(good);
    for (let j = 1 + r(3); j > 0; j--) {
      const at = r(4) === 0 ? r(2048) : r(b.length - 4);
      b.writeUInt32LE([0xffffffff, 0x7ffffff8, r(b.length * 2), r(64)][r(4)], at & ~3);
    }
    fs.writeFileSync(bad, i % 50 === 0 ? b.subarray(0, r(b.length)) : b);
    const src = new RulesCdbSource(bad);
    for (const peer of [{ ip: '10.1.2.3' }, { ip: '10.3.4.300', host: 'a.example.org' }, { ip: '2001:db8::1', info: 'x' }, { ip: '9.9.9.9' }]) {
      try {
        src.decide(peer);
        decided++;
      } catch (e) {
        if (e instanceof CdbError) refused++;
        else throw e;
      }
    }
    src.close();
  }
  t.ok(decided > 0 && refused > 0, `${decided} decided, ${refused} refused as damaged`);
});
