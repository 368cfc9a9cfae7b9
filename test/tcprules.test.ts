// bin/tcprules against /usr/bin/tcprules: same CDB bytes for generated
// classic inputs (small and 100k lines), same exit codes and messages for
// bad input and system errors, and the old cdb left intact on any failure.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { classicRules, rng } from './helpers/rulesgen';
import { parseIPv6 } from '../src/lib/ip';
import { compileRules, RulesError } from '../src/rules/compile';
import { ROOT, findReference, needReference } from './helpers/common';

const OURS = path.join(ROOT, 'bin', 'tcprules');
const REF = findReference('tcprules') ?? 'tcprules';
const need = needReference('tcprules');
const haveRef = !need.skip;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcprules-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Result { status: number | null; stderr: string; cdb: Buffer | null }

// Ours in-process (the command is a thin wrapper, tested by spawning below):
// the differential loops would otherwise spend their time starting Node.
function inproc(input: Buffer | string, tag: string): Result {
  const cdb = path.join(dir, `${tag}.cdb`);
  const src = path.join(dir, `${tag}.in`);
  fs.rmSync(cdb, { force: true });
  fs.writeFileSync(src, input);
  const fd = fs.openSync(src, 'r');
  try {
    compileRules(fd, cdb, cdb + '.tmp');
    return { status: 0, stderr: '', cdb: fs.readFileSync(cdb) };
  } catch (e) {
    if (!(e instanceof RulesError)) throw e;
    return { status: e.exitCode, stderr: e.text.toString('latin1') + '\n', cdb: fs.existsSync(cdb) ? fs.readFileSync(cdb) : null };
  } finally {
    fs.closeSync(fd);
  }
}

function run(bin: string, input: Buffer | string, tag: string, args?: string[]): Result {
  const cdb = path.join(dir, `${tag}.cdb`);
  fs.rmSync(cdb, { force: true });
  const r = spawnSync(bin, args ?? [cdb, cdb + '.tmp'], { input, timeout: 30000 });
  return { status: r.status, stderr: r.stderr.toString('latin1'), cdb: fs.existsSync(cdb) ? fs.readFileSync(cdb) : null };
}

t.test('usage', async (t) => {
  for (const args of [[], ['only.cdb']]) {
    const o = run(OURS, '', 'u', args);
    t.equal(o.status, 100);
    t.equal(o.stderr, 'tcprules: usage: tcprules rules.cdb rules.tmp\n');
    if (haveRef) t.same(run(REF, '', 'u', args), o, 'same as the reference');
  }
});

t.test('generated classic inputs give identical CDBs', need, async (t) => {
  let same = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const text = classicRules(rng(seed), 1 + rng(seed * 7)(300));
    const o = seed % 10 === 0 ? run(OURS, text, 'o') : inproc(text, 'o');
    const r = run(REF, text, 'r');
    if (o.status === 0 && r.status === 0 && o.cdb!.equals(r.cdb!)) same++;
    else t.fail(`seed ${seed}: ours ${o.status} ${o.stderr} ref ${r.status} ${r.stderr}`);
  }
  t.equal(same, 40);
});

t.test('100k lines, byte for byte', need, async (t) => {
  const text = classicRules(rng(4242), 100000);
  const o = run(OURS, text, 'bo');
  const r = run(REF, text, 'br');
  t.equal(o.status, 0);
  t.equal(r.status, 0);
  t.ok(o.cdb && r.cdb && o.cdb.equals(r.cdb), `identical (${r.cdb?.length} bytes)`);
});

// A previous good cdb must survive every failure byte for byte, and tmp must go.
t.test('failures leave cdb alone and remove tmp', async (t) => {
  const cdb = path.join(dir, 'keep.cdb');
  const tmp = cdb + '.tmp';
  spawnSync(OURS, [cdb, tmp], { input: '1.2.3.4:deny\n' });
  const before = fs.readFileSync(cdb);
  const cases: Array<{ what: string; input: string; args: string[]; status: number; msg: string | RegExp }> = [
    { what: 'bad line', input: '1.2.3.4:allow\n\n#x\n5.6.7.8:allow,X\n9.9.9.9:deny\n', args: [cdb, tmp], status: 100,
      msg: 'tcprules: fatal: unable to parse this line: 5.6.7.8:allow,X (line 4)\n' },
    { what: 'bad prefix', input: '10.0.0.0/40:deny\n', args: [cdb, tmp], status: 100,
      msg: 'tcprules: syntax: invalid prefix length on line: 10.0.0.0/40:deny (line 1)\n' },
    { what: 'tmp in a missing directory', input: '1.2.3.4:allow\n', args: [cdb, path.join(dir, 'nodir', 'x.tmp')], status: 111,
      msg: `tcprules: fatal: unable to create ${path.join(dir, 'nodir', 'x.tmp')}: file does not exist\n` },
    { what: 'tmp is a directory', input: '1.2.3.4:allow\n', args: [cdb, dir], status: 111,
      msg: `tcprules: fatal: unable to create ${dir}: is a directory\n` },
  ];
  for (const c of cases) {
    const r = spawnSync(OURS, c.args, { input: c.input });
    t.equal(r.status, c.status, `${c.what}: exit code`);
    t.equal(r.stderr.toString(), c.msg, `${c.what}: message`);
    t.ok(fs.readFileSync(cdb).equals(before), `${c.what}: cdb unchanged`);
    t.notOk(fs.existsSync(tmp), `${c.what}: no tmp left`);
    if (haveRef && c.args[1] !== tmp) {
      // The reference's words (ours adds the line number to parse errors).
      const ref = spawnSync(REF, c.args, { input: c.input });
      t.equal(ref.status, c.status, `${c.what}: reference exit code`);
      t.equal(ref.stderr.toString(), c.msg, `${c.what}: reference message`);
    }
  }
  // cdb cannot be replaced: rename fails, tmp is removed.
  const cdbdir = path.join(dir, 'cdbdir');
  fs.mkdirSync(cdbdir, { recursive: true });
  fs.writeFileSync(path.join(cdbdir, 'f'), 'x');
  const r = spawnSync(OURS, [cdbdir, tmp], { input: '1.2.3.4:allow\n' });
  t.equal(r.status, 111);
  t.equal(r.stderr.toString(), `tcprules: fatal: unable to move ${tmp} to ${cdbdir}: is a directory\n`);
  t.notOk(fs.existsSync(tmp), 'rename failure: tmp removed');
  // stdin unreadable
  const d = spawnSync(OURS, [cdb, tmp], { stdio: [fs.openSync(dir, 'r'), 'pipe', 'pipe'] });
  t.equal(d.status, 111);
  t.equal(d.stderr.toString(), 'tcprules: fatal: unable to read input: is a directory\n');
  t.ok(fs.readFileSync(cdb).equals(before), 'unreadable input: cdb unchanged');
  t.notOk(fs.existsSync(tmp), 'unreadable input: no tmp left');
});

t.test('parse errors name the same line as the reference', need, async (t) => {
  const r0 = rng(99);
  for (let i = 0; i < 30; i++) {
    const lines = classicRules(rng(500 + i), 50).split('\n');
    const bad = r0(lines.length);
    lines.splice(bad, 0, ['x:allow,Y', '1.2.3.4:permit', '1.2.3.4:deny,X="', ':allow\r', 'a-b.:deny'][r0(5)]);
    const text = lines.join('\n');
    const o = i % 10 === 0 ? run(OURS, text, 'eo') : inproc(text, 'eo');
    const r = run(REF, text, 'er');
    t.equal(o.status, 100);
    t.equal(r.status, 100);
    t.equal(o.stderr, r.stderr.replace(/\n$/, ` (line ${bad + 1})\n`));
  }
});

// Random bytes from an alphabet rich in the syntax's own characters. Ours
// must agree with the reference on accept/refuse and on the bytes, except
// where a line is one of our IPv6 forms (the reference cannot read those).
t.test('fuzz against the reference', need, async (t) => {
  const alphabet = Buffer.from('0123456789.-=@:,#"\' \tadenylowX\0\xff\n', 'latin1');
  const r = rng(2024);
  let agreed = 0;
  let accepted = 0;
  const N = 300;
  for (let i = 0; i < N; i++) {
    // A few lines: generated rules with a random byte or two changed, or noise.
    const lines: Buffer[] = [];
    for (let n = 1 + r(4); n > 0; n--) {
      let line: Buffer;
      if (r(3)) {
        line = Buffer.from(classicRules(rng(1 + r(1e6)), 1).replace(/\n$/, ''), 'latin1');
        for (let e = r(3); e > 0 && line.length > 0; e--) line[r(line.length)] = alphabet[r(alphabet.length)];
      } else {
        line = Buffer.alloc(r(40));
        for (let j = 0; j < line.length; j++) line[j] = alphabet[r(alphabet.length)];
      }
      lines.push(line, Buffer.from('\n'));
    }
    const b = Buffer.concat(lines);
    const o = inproc(b, 'fo');
    const ref = run(REF, b, 'fr');
    if (o.status === ref.status && (o.status !== 0 || o.cdb!.equals(ref.cdb!))) {
      agreed++;
    } else if (o.status === 0 && ref.status === 100 && ipv6Line(b)) {
      agreed++;
    } else {
      t.fail(`input ${b.toString('hex')}: ours ${o.status} ${o.stderr} ref ${ref.status} ${ref.stderr}`);
    }
    t.ok(o.status === 0 || o.status === 100, 'clean exit');
    if (o.status === 0 && o.cdb!.length > 2048) accepted++;
  }
  t.equal(agreed, N);
  t.ok(accepted > N / 10, `the fuzz reaches compiled records too (${accepted} of ${N})`);
});

function ipv6Line(b: Buffer): boolean {
  return b.toString('latin1').split('\n').some((line) => {
    const parts = line.split(':');
    for (let i = 2; i < parts.length; i++) {
      const addr = parts.slice(0, i).join(':');
      if (parseIPv6(addr.slice(addr.lastIndexOf('@') + 1))) return true;
    }
    return false;
  });
}
