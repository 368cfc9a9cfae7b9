// ipsvd-cdb against the real /usr/bin/ipsvd-cdb: same records (compared with
// /usr/bin/cdb -d, and byte for byte, since both write in readdir order with
// cdb_make's layout), same warnings and fatal messages, same exit codes, and
// the old cdb untouched whenever the compile fails.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, findReference, needReference } from './helpers/common';

const OURS = path.join(ROOT, 'bin', 'ipsvd-cdb');
const REF = findReference('ipsvd-cdb') ?? 'ipsvd-cdb';
const DUMP = findReference('cdb') ?? 'cdb';
const { skip } = needReference('ipsvd-cdb', 'cdb');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipsvd-cdb-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run { code: number | null; stderr: string }

function run(bin: string, args: string[], cwd = tmp): Run {
  const r = spawnSync(bin, args, { cwd, encoding: 'latin1', timeout: 20000 });
  // The original names itself by argv[0] in usage and warnings; we always say "ipsvd-cdb".
  return { code: r.status, stderr: r.stderr.split(REF).join('ipsvd-cdb') };
}

function dump(file: string): string {
  return spawnSync(DUMP, ['-d', file], { encoding: 'latin1', timeout: 20000 }).stdout;
}

let n = 0;
function tree(files: Record<string, string | Buffer | { data: string | Buffer; mode: number }>): string {
  const dir = path.join(tmp, `tree${n++}`);
  fs.mkdirSync(dir);
  for (const [f, v] of Object.entries(files)) {
    const p = path.join(dir, f);
    if (typeof v === 'string' || Buffer.isBuffer(v)) fs.writeFileSync(p, v);
    else {
      fs.writeFileSync(p, v.data);
      fs.chmodSync(p, v.mode);
    }
  }
  return dir;
}

// Compile dir with both; records, bytes, stderr and exit code must agree.
function same(t: Test, dir: string, what: string, compareStderr = true): void {
  const a = run(REF, ['ref.cdb', 'ref.tmp', dir]);
  const b = run(OURS, ['ours.cdb', 'ours.tmp', dir]);
  t.equal(b.code, a.code, `${what}: exit code`);
  if (compareStderr) t.equal(b.stderr, a.stderr, `${what}: stderr`);
  if (a.code === 0) {
    t.equal(dump(path.join(tmp, 'ours.cdb')), dump(path.join(tmp, 'ref.cdb')), `${what}: records`);
    t.ok(fs.readFileSync(path.join(tmp, 'ours.cdb')).equals(fs.readFileSync(path.join(tmp, 'ref.cdb'))), `${what}: same bytes`);
  }
}

t.test('records as the original writes them', { skip }, async (t) => {
  same(t, tree({}), 'empty directory');
  same(t, tree({
    '0': '+Z=0',
    '127.0.0.1': '+A=1\n\n#c\nbad\nC3:busy\\n\n+B\n',
    '127.0.0.9': { data: 'x\n', mode: 0o000 },
    '127.0.0.8': { data: 'x\n', mode: 0o200 },
    '10': { data: 'echo hi\n', mode: 0o700 },
    '10.1': { data: 'exec only\n', mode: 0o100 },
    '10.2': { data: 'a\nb\n\n', mode: 0o755 },
    'empty': '',
    'nl': '\n',
    'nonl': 'no newline',
    'twonl': 'two\n\n',
    'crlf': '+A=1\r\n+B=2\r\n',
    'nul': Buffer.from('+A=1\0+B=2\n'),
    'checks': '=foo.example:bar\n=0\n',
    'a.example.org': '+HOST=1\n',
    '::1': '+SIX=1\n',
    '10.0.0.0_8': '+CIDR=1\n',
    '..skipped': 'never\n',
    '...also': 'never\n',
    '.dot': 'takes the contents of 0\n',
    'utf8': '+NAME=Jürgen ☃\n',
  }), 'every kind of entry');
  same(t, tree({ '.dot': 'x', 'a': 'b' }), 'dot file without 0: ignored with a warning');
  const big: Record<string, string> = {};
  for (let i = 0; i < 300; i++) big[`10.0.${i >> 8}.${i & 255}`] = `+N=${i}\n`;
  same(t, tree(big), '300 entries');
});

t.test('file names that are not UTF-8 are kept byte for byte', { skip }, async (t) => {
  const dir = tree({ '0': '+A=1\n' });
  fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0xff, 0xfe, 0x2e, 0x78])]), '+B=1\n');
  fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x2e, 0xff])]), '+C=1\n');
  same(t, dir, 'latin-1 names', false);
});

t.test('a dangling symlink is warned about and skipped', { skip }, async (t) => {
  const dir = tree({ '0': '+A=1\n' });
  fs.symlinkSync('nowhere', path.join(dir, '127.0.0.1'));
  fs.symlinkSync('0', path.join(dir, '127.0.0.2'));
  same(t, dir, 'symlinks');
});

t.test('usage and fatal errors', { skip }, async (t) => {
  for (const args of [[], ['a'], ['a', 'b']]) {
    const a = run(REF, args);
    const b = run(OURS, args);
    t.equal(b.code, 111, `usage ${args.length}: exit 111`);
    t.equal(b.code, a.code, `usage ${args.length}: exit code`);
    t.equal(b.stderr, a.stderr, `usage ${args.length}: message`);
  }
  const file = path.join(tmp, 'plainfile');
  fs.writeFileSync(file, '');
  const cases: Array<[string, string[]]> = [
    ['no such dir', ['x.cdb', 'x.tmp', 'nodir']],
    ['dir is a file', ['x.cdb', 'x.tmp', 'plainfile']],
    ['tmp cannot be created', ['x.cdb', 'nodir/x.tmp', tree({})]],
    ['cdb is a directory', [tree({}), 'x.tmp', tree({ '0': '' })]],
    ['entry is a directory', ['x.cdb', 'x.tmp', (() => { const d = tree({ '0': '' }); fs.mkdirSync(path.join(d, 'sub')); return d; })()]],
  ];
  for (const [what, args] of cases) {
    const a = run(REF, args);
    const b = run(OURS, args);
    t.equal(b.code, 111, `${what}: exit 111`);
    t.equal(b.stderr, a.stderr, `${what}: ${a.stderr.trim()}`);
  }
});

t.test('a failed compile leaves the old cdb alone', async (t) => {
  const good = tree({ '0': '+OLD=1\n' });
  t.equal(run(OURS, ['keep.cdb', 'keep.tmp', good]).code, 0);
  const before = fs.readFileSync(path.join(tmp, 'keep.cdb'));
  const bad = tree({ '0': '+NEW=1\n' });
  fs.mkdirSync(path.join(bad, 'sub'));
  const r = run(OURS, ['keep.cdb', 'keep.tmp', bad]);
  t.equal(r.code, 111);
  t.match(r.stderr, /^ipsvd-cdb: fatal: unable to read instruction: sub: is a directory\n$/);
  t.ok(fs.readFileSync(path.join(tmp, 'keep.cdb')).equals(before), 'old cdb unchanged');
  t.notOk(fs.existsSync(path.join(tmp, 'keep.tmp')), 'no half-written tmp left');
  t.equal(run(OURS, ['keep.cdb', 'keep.tmp', bad.replace(/$/, '-missing')]).code, 111);
  t.ok(fs.readFileSync(path.join(tmp, 'keep.cdb')).equals(before), 'old cdb unchanged (no dir)');
});

// Random names, modes and bytes: both must agree on every record. stderr is
// not compared: warnings quote bad lines, and we print invalid UTF-8 as U+FFFD.
t.test('fuzz: random trees agree with the original', { skip }, async (t) => {
  let seed = 12345;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % k;
  };
  const alphabet = 'abc019.:_-+=#C \\';
  const modes = [0o000, 0o100, 0o200, 0o400, 0o444, 0o600, 0o644, 0o700, 0o755];
  for (let i = 0; i < 12; i++) {
    const files: Record<string, { data: Buffer; mode: number }> = {};
    const count = 1 + rnd(20);
    for (let j = 0; j < count; j++) {
      let name = '';
      const len = 1 + rnd(12);
      for (let k = 0; k < len; k++) name += alphabet[rnd(alphabet.length)];
      if (name === '.' || name === '..') continue;
      const data = Buffer.alloc(rnd(200));
      for (let k = 0; k < data.length; k++) data[k] = rnd(4) === 0 ? 10 : rnd(256);
      files[name] = { data, mode: modes[rnd(modes.length)] };
    }
    same(t, tree(files), `random tree ${i}`, false);
  }
});
