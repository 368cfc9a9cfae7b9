// tcpsvd's rule sources on the same trees: the live directory (-i), our
// ipsvd-cdb's output and the real /usr/bin/ipsvd-cdb's output (-x) must all
// give the same decision. DNS for =hostname checks is a stub resolver here
// (no network); the real resolver is tested in identify-dns.test.ts.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openRuleSource } from '../src/decide/index';
import type { Decision, HostResolver, RuleSource } from '../src/decide/decision';
import { ROOT, findReference, needReference } from './helpers/common';

const REF = findReference('ipsvd-cdb') ?? 'ipsvd-cdb';
// Without the reference, the third source is left out (and under
// UCSPI_REQUIRE_REFERENCE=1 that fails the run).
const haveRef = !needReference('ipsvd-cdb').skip;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'instruct-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Tree = Record<string, string | { text: string; mode: number }>;

function makeTree(name: string, tree: Tree): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const [f, v] of Object.entries(tree)) {
    const p = path.join(dir, f);
    if (typeof v === 'string') fs.writeFileSync(p, v, { mode: 0o644 });
    else {
      fs.writeFileSync(p, v.text);
      fs.chmodSync(p, v.mode);
    }
  }
  return dir;
}

function compile(bin: string, dir: string, out: string): void {
  execFileSync(bin, [out, `${out}.tmp`, dir], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20000 });
}

interface Sources { name: string; src: RuleSource; warnings: string[] }

function sources(dir: string): Sources[] {
  const all: Sources[] = [];
  const add = (name: string, kind: 'peers-dir' | 'peers-cdb', p: string) => {
    const warnings: string[] = [];
    all.push({ name, src: openRuleSource({ kind, path: p, warn: (m) => warnings.push(m) }), warnings });
  };
  add('dir', 'peers-dir', dir);
  compile(path.join(ROOT, 'bin', 'ipsvd-cdb'), dir, `${dir}.ours.cdb`);
  add('ours', 'peers-cdb', `${dir}.ours.cdb`);
  if (haveRef) {
    compile(REF, dir, `${dir}.ref.cdb`);
    add('ref', 'peers-cdb', `${dir}.ref.cdb`);
  }
  return all;
}

function pick(d: Decision): object {
  const o: Record<string, unknown> = { action: d.action, set: d.set, unset: d.unset };
  if (d.perHost) o.perHost = d.perHost;
  if (d.shell !== undefined) o.shell = d.shell;
  if (d.matched !== undefined) o.matched = d.matched;
  return o;
}

const zone: Record<string, string[]> = {
  'ok.example': ['192.0.2.9', '127.0.0.4'],
  'other.example': ['192.0.2.1'],
  'six.example': ['::1'],
};
const resolver: HostResolver = async (name) => {
  if (name === 'failing.example') throw new Error('SERVFAIL');
  return zone[name] ?? [];
};

type Row = [ip: string, host: string | undefined, want: object];

async function check(t: Test, tree: Tree, name: string, rows: Row[]) {
  const dir = makeTree(name, tree);
  for (const s of sources(dir)) {
    for (const [ip, host, want] of rows) {
      const d = await s.src.decide({ ip, host }, resolver);
      t.same(pick(d), want, `${s.name}: ${ip} ${host ?? ''}`);
    }
  }
}

const allow = (set: Array<[string, string]>, matched?: string, extra: object = {}) =>
  ({ action: 'allow', set, unset: [], ...(matched === undefined ? {} : { matched }), ...extra });
const deny = (matched: string) => ({ action: 'deny', set: [], unset: [], matched });

t.test('ipsvd semantics, IPv4 and host names', async (t) => {
  const tree: Tree = {
    '0': '+ZERO=1\n',
    '127.0.0.1': '+A=1\n+B=2\n+A\nC3:busy\\n\nC5\nbad line\n# c\n\n',
    '127.0.0.2': { text: '+NEVER=1\n', mode: 0o000 },
    '127.0.0.3': { text: 'echo hi\n', mode: 0o755 },
    '127.0.1': '+NET=127.0.1\n',
    '10': '+TEN=1',
    'example.org': '+DOM=1\n',
    '127.0.0.4': '+PRE=1\n=ok.example:fw\n+POST=1\n',
    fw: '+FW=1\n=never.example:x\nC2\n',
    '127.0.0.5': '=other.example\n=nothing.example\n',
    '127.0.0.6': '+X=1\n=0\n+Y=1\n',
    '127.0.0.7': '=0:missing\n',
    '127.0.0.8': '=0:denyfw\n',
    denyfw: { text: '+NO=1\n', mode: 0o200 },
    '127.0.0.10': '+E=1\n=0:execfw\n',
    execfw: { text: 'echo fw\n', mode: 0o700 },
    '127.0.0.11': '=failing.example\n+AFTER=1\n',
    '127.0.0.12': '=127.0.0.12:lit\n',
    lit: '+LIT=1\n',
    '127.0.0.13': '=other.example\n=0\n+LATE=1\n',
    '127.0.0.14': '',
    '127.0.0.15': '=0:../0\n',
    '.hidden': '+HIDDEN\n',
  };
  await check(t, tree, 'v4', [
    ['127.0.0.1', undefined, { action: 'allow', set: [['B', '2']], unset: ['A'], perHost: { limit: 5, msg: 'busy\n' }, matched: '127.0.0.1' }],
    ['127.0.0.2', undefined, deny('127.0.0.2')],
    ['127.0.0.3', undefined, allow([], '127.0.0.3', { shell: 'echo hi' })],
    ['127.0.1.5', undefined, allow([['NET', '127.0.1']], '127.0.1')],
    ['10.9.9.9', undefined, allow([['TEN', '1']], '10')],
    ['192.0.2.1', 'www.example.org', allow([['DOM', '1']], 'example.org')],
    ['192.0.2.1', 'example.com', allow([['ZERO', '1']], '0')],
    ['8.8.8.8', undefined, allow([['ZERO', '1']], '0')],
    ['127.0.0.4', undefined, allow([['PRE', '1'], ['FW', '1']], '127.0.0.4,fw', { perHost: { limit: 2 } })],
    ['127.0.0.5', undefined, deny('127.0.0.5')],
    ['127.0.0.6', undefined, allow([['X', '1']], '127.0.0.6')],
    ['127.0.0.7', undefined, deny('127.0.0.7,missing')],
    ['127.0.0.8', undefined, deny('127.0.0.8,denyfw')],
    ['127.0.0.10', undefined, allow([['E', '1']], '127.0.0.10,execfw', { shell: 'echo fw' })],
    ['127.0.0.11', undefined, deny('127.0.0.11')],
    ['127.0.0.12', undefined, allow([['LIT', '1']], '127.0.0.12,lit')],
    ['127.0.0.13', undefined, allow([], '127.0.0.13')],
    ['127.0.0.14', undefined, allow([], '127.0.0.14')],
    ['127.0.0.15', undefined, deny('127.0.0.15,../0')],
  ]);
});

t.test('warnings name the entry as ipsvd does', async (t) => {
  const dir = makeTree('warn', { '127.0.0.1': 'oops\n+A=1\n', '127.0.0.2': '=0:gone\n', '127.0.0.3': '=failing.example\n' });
  for (const s of sources(dir)) {
    const label = s.name === 'dir' ? `${dir}/` : '';
    await s.src.decide({ ip: '127.0.0.1' }, resolver);
    await s.src.decide({ ip: '127.0.0.2' }, resolver);
    await s.src.decide({ ip: '127.0.0.3' }, resolver);
    t.same(s.warnings, [
      `bad instruction: ${label}127.0.0.1: oops`,
      `${label}127.0.0.2,gone: not found`,
      'unable to look up ip address: failing.example: SERVFAIL',
    ], s.name);
  }
});

t.test('no DNS, no promise: decisions without checks are synchronous', async (t) => {
  const dir = makeTree('sync', { '0': '+A=1\n', '127.0.0.1': '=ok.example\n' });
  for (const s of sources(dir)) {
    t.notOk(s.src.decide({ ip: '10.0.0.1' }, resolver) instanceof Promise, `${s.name}: plain`);
    const p = s.src.decide({ ip: '127.0.0.1' }, resolver);
    t.ok(p instanceof Promise, `${s.name}: =hostname waits for DNS`);
    t.same(pick(await p), deny('127.0.0.1'), `${s.name}: 127.0.0.1 is not ok.example`);
  }
});

t.test('IPv6 and CIDR names (our extension)', async (t) => {
  const tree: Tree = {
    '::1': '+SIX=1\n',
    '2001:db8::_32': '+DOC=1\n',
    '2001:db8:1::_48': '+DOC48=1\n',
    '127.0.0.128_25': '+UP=1\n',
    '127.0.0.0_8': { text: '', mode: 0 },
    '127.0.0': '+CLASSIC24=1\n',
    '10.0.0.0_8': '=six.example\n',
    '2001:DB8:2::_48': '+NOT_CANONICAL=1\n',
    '2001:db8:3::1_48': '+HOST_BITS=1\n',
  };
  await check(t, tree, 'v6', [
    ['::1', undefined, allow([['SIX', '1']], '::1')],
    ['2001:db8:1::5', undefined, allow([['DOC48', '1']], '2001:db8:1::_48')],
    ['2001:db8:2::1', undefined, allow([['DOC', '1']], '2001:db8::_32')],
    ['2001:db8:3::1', undefined, allow([['DOC', '1']], '2001:db8::_32')],
    ['2001:db9::1', undefined, { action: 'allow', set: [], unset: [] }],
    ['127.0.0.200', undefined, allow([['UP', '1']], '127.0.0.128_25')],
    ['127.0.0.5', undefined, allow([['CLASSIC24', '1']], '127.0.0')],
    ['127.1.0.5', undefined, deny('127.0.0.0_8')],
    ['10.1.2.3', undefined, deny('10.0.0.0_8')],
    ['192.0.2.1', undefined, { action: 'allow', set: [], unset: [] }],
  ]);
});

t.test('sample peers directory (rules/peers)', async (t) => {
  const dir = path.join(tmp, 'peers');
  fs.cpSync(path.join(ROOT, 'rules', 'peers'), dir, { recursive: true });
  fs.chmodSync(path.join(dir, '127.0.0.9'), 0); // git cannot store mode 0
  for (const s of sources(dir)) {
    const d = (ip: string) => s.src.decide({ ip }, resolver) as Decision;
    t.same(pick(d('192.0.2.7')), allow([['GREETING', 'hello']], '0'), s.name);
    t.same(pick(d('127.0.0.9')), deny('127.0.0.9'), s.name);
    t.same(pick(d('127.0.0.3')), allow([], '127.0.0.3', { perHost: { limit: 1, msg: 'busy\n' } }), s.name);
    t.same(pick(d('127.0.0.4')), { action: 'allow', set: [], unset: ['GREETING'], matched: '127.0.0.4' }, s.name);
    t.same(pick(d('127.0.0.5')), allow([], '127.0.0.5', { shell: 'echo bye' }), s.name);
    t.same(pick(d('127.0.0.130')), allow([['GREETING', 'upper']], '127.0.0.128_25'), s.name);
    t.same(pick(d('::1')), allow([['GREETING', 'six']], '::1'), s.name);
  }
});

t.test('changes count from the next connection', async (t) => {
  const dir = makeTree('live', { '0': '+V=1\n' });
  const src = openRuleSource({ kind: 'peers-dir', path: dir });
  const ours = path.join(ROOT, 'bin', 'ipsvd-cdb');
  compile(ours, dir, `${dir}.cdb`);
  const x = openRuleSource({ kind: 'peers-cdb', path: `${dir}.cdb` });
  const get = (s: RuleSource, ip: string) => pick(s.decide({ ip }, resolver) as Decision);
  t.same(get(src, '127.0.0.1'), allow([['V', '1']], '0'));
  t.same(get(x, '127.0.0.1'), allow([['V', '1']], '0'));
  fs.writeFileSync(path.join(dir, '127.0.0.0_24'), '+V=2\n');
  fs.writeFileSync(path.join(dir, '0'), '+V=3\n');
  compile(ours, dir, `${dir}.cdb`);
  t.same(get(src, '127.0.0.1'), allow([['V', '2']], '127.0.0.0_24'), 'dir: new CIDR file seen');
  t.same(get(x, '127.0.0.1'), allow([['V', '2']], '127.0.0.0_24'), 'cdb: recompiled file seen');
  t.same(get(src, '10.0.0.1'), allow([['V', '3']], '0'));
  t.same(get(x, '10.0.0.1'), allow([['V', '3']], '0'));
  fs.rmSync(dir, { recursive: true });
  t.throws(() => src.decide({ ip: '127.0.0.1' }, resolver), 'dir gone: the caller fails closed');
  fs.rmSync(`${dir}.cdb`);
  t.throws(() => x.decide({ ip: '127.0.0.1' }, resolver), 'cdb gone: the caller fails closed');
});

t.test('a cached copy is dropped when the file or directory changes', async (t) => {
  // Old timestamps make the caches trusted (outside the coarse-clock window),
  // so this exercises the cached path, not a reread on every decision.
  const dir = makeTree('cached', { '0': '+V=1\n' });
  const ours = path.join(ROOT, 'bin', 'ipsvd-cdb');
  compile(ours, dir, `${dir}.cdb`);
  const old = new Date(Date.now() - 3600_000);
  fs.utimesSync(dir, old, old);
  fs.utimesSync(`${dir}.cdb`, old, old);
  const src = openRuleSource({ kind: 'peers-dir', path: dir });
  const x = openRuleSource({ kind: 'peers-cdb', path: `${dir}.cdb` });
  const get = (s: RuleSource, ip: string) => pick(s.decide({ ip }, resolver) as Decision);
  for (let i = 0; i < 2; i++) {
    t.same(get(src, '127.0.0.1'), allow([['V', '1']], '0'));
    t.same(get(x, '127.0.0.1'), allow([['V', '1']], '0'));
  }
  fs.writeFileSync(path.join(dir, '127.0.0.0_24'), '+V=2\n');
  compile(ours, dir, `${dir}.cdb`);
  t.same(get(src, '127.0.0.1'), allow([['V', '2']], '127.0.0.0_24'), 'dir: new CIDR file seen');
  t.same(get(x, '127.0.0.1'), allow([['V', '2']], '127.0.0.0_24'), 'cdb: recompiled file seen');
});

t.test('-t: files not read for that long expire, unless read-only', async (t) => {
  const dir = makeTree('expire', { '0': '+Z=1\n', '127.0.0.1': '+OLD=1\n', '127.0.0.2': { text: '+KEEP=1\n', mode: 0o444 }, '127.0.0.3': '+NEW=1\n' });
  const old = new Date(Date.now() - 3600_000);
  for (const f of ['127.0.0.1', '127.0.0.2']) fs.utimesSync(path.join(dir, f), old, old);
  const warnings: string[] = [];
  const src = openRuleSource({ kind: 'peers-dir', path: dir, expireSec: 60, warn: (m) => warnings.push(m) });
  const get = (ip: string) => pick(src.decide({ ip }, resolver) as Decision);
  t.same(get('127.0.0.1'), allow([['Z', '1']], '0'), 'stale writable file: removed, next name decides');
  t.notOk(fs.existsSync(path.join(dir, '127.0.0.1')), 'removed from the directory');
  t.same(get('127.0.0.2'), allow([['KEEP', '1']], '127.0.0.2'), 'no owner write: never expires');
  t.same(get('127.0.0.3'), allow([['NEW', '1']], '127.0.0.3'), 'recently read: kept');
  const keep = openRuleSource({ kind: 'peers-dir', path: dir });
  fs.utimesSync(path.join(dir, '127.0.0.3'), old, old);
  t.same(pick(keep.decide({ ip: '127.0.0.3' }, resolver) as Decision), allow([['NEW', '1']], '127.0.0.3'), 'without -t nothing expires');
  t.same(warnings, []);
});
