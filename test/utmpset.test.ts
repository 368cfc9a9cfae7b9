// utmpset, ours beside runit's (Debian's), each in a mount namespace of its
// own where scratch directories are bound over /run (so /var/run/utmp) and
// /var/log: the real files are never touched. Same output, exit code, and
// the same bytes in utmp and wtmp (the time written taken out: it is now).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, isRoot, killGroup, needReference, reference, scratch, spawn } from './helpers/common';

const tmp = scratch('utmpset');

function namespaces(): string | false {
  if (!isRoot) return 'needs root (a mount namespace over /run and /var/log)';
  if (fs.realpathSync('/var/run') !== '/run') return '/var/run is not /run here';
  const r = spawnSync('unshare', ['-m', 'true'], { timeout: 10_000 });
  return r.status === 0 ? false : `unshare -m is not allowed here (${r.error?.message ?? String(r.stderr).trim()})`;
}
const skip = namespaces() || needReference('utmpset').skip;

/** One struct utmp (x86_64 glibc, 384 bytes). */
function rec(type: number, pid: number, line: string, id: string, user: string, host: string, sec: number, usec: number): Buffer {
  const b = Buffer.alloc(384);
  b.writeInt16LE(type, 0);
  b.writeInt32LE(pid, 4);
  b.write(line, 8, 32, 'latin1');
  b.write(id, 40, 4, 'latin1');
  b.write(user, 44, 32, 'latin1');
  b.write(host, 76, 256, 'latin1');
  b.writeInt32LE(7, 336); // ut_session
  b.writeInt32LE(sec, 340);
  b.writeInt32LE(usec, 344);
  b.writeUInt32BE(0x7f000001, 348);
  return b;
}

const UTMP = Buffer.concat([
  rec(2, 0, '~', '~~', 'reboot', '6.1.0', 1000, 5),
  rec(7, 100, 'tty1', '1', 'root', 'host.example', 2000, 777777),
  rec(6, 101, 'tty2', '2', 'LOGIN', '', 3000, 888),
  rec(8, 102, 'tty3', '3', '', '', 4000, 999),
  rec(7, 103, 'x'.repeat(32), 'abcd', 'bob', 'h', 5000, 1),
  rec(7, 104, 'pts/0', 'ts/0', 'alice', 'remote', 6000, 2),
  rec(7, 105, 'pts/0', 'ts/0', 'carol', 'second', 6001, 3),
  Buffer.from('a partial record'),
]);

interface Out { status: number | null; stdout: string; stderr: string; utmp: string; wtmp: string }

/** The file's records in hex, each time between from and to (now) written as NOW. */
function dump(file: string, from: number, to: number): string {
  if (!fs.existsSync(file)) return '(absent)';
  if (fs.statSync(file).isDirectory()) return '(a directory)';
  const b = fs.readFileSync(file);
  const st = fs.statSync(file);
  const out = [`mode ${(st.mode & 0o777).toString(8)} size ${b.length}`];
  for (let i = 0; i + 384 <= b.length; i += 384) {
    const r = Buffer.from(b.subarray(i, i + 384));
    const sec = r.readInt32LE(340);
    if (sec >= from && sec <= to) r.writeInt32LE(0, 340);
    out.push(`${sec >= from && sec <= to ? 'NOW' : sec} ${r.toString('hex')}`);
  }
  return out.join('\n');
}

/** utmpset from binDir (by name) with fresh /run and /var/log made by setup. */
function run(binDir: string, args: string[], setup: (run: string, log: string) => void): Promise<Out> {
  const root = tmp('root');
  const runDir = path.join(root, 'run');
  const logDir = path.join(root, 'log');
  fs.mkdirSync(runDir);
  fs.mkdirSync(logDir);
  fs.writeFileSync(path.join(runDir, 'utmp'), UTMP);
  setup(runDir, logDir);
  const from = Math.floor(Date.now() / 1000);
  return new Promise((resolve) => {
    const p = spawn('unshare', ['-m', 'sh', '-c',
      'mount --bind "$0/run" /run && mount --bind "$0/log" /var/log && cd / && exec utmpset "$@"', root, ...args], {
      env: { PATH: `${binDir}:/usr/bin:/bin` }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    p.stdout!.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    p.stderr!.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
    const limit = setTimeout(() => killGroup(p.pid), 30_000);
    p.on('close', (status) => {
      clearTimeout(limit);
      const to = Math.ceil(Date.now() / 1000);
      resolve({ status, stdout, stderr, utmp: dump(path.join(runDir, 'utmp'), from, to), wtmp: dump(path.join(logDir, 'wtmp'), from, to) });
    });
  });
}

const none = () => {};
const cases: Array<[string, string[], (run: string, log: string) => void]> = [
  ['a login logged out: user and host cleared, time now, DEAD_PROCESS, the rest kept', ['tty1'], none],
  ['-w: and a logout record appended to a new wtmp, mode 600', ['-w', 'tty2'], none],
  ['-w: appended to an existing wtmp', ['-w', 'tty1'], (_r, l) => fs.writeFileSync(path.join(l, 'wtmp'), UTMP.subarray(0, 384 * 2))],
  ['the first of two records only', ['-w', 'pts/0'], none],
  ['a record without user is no login', ['-w', 'tty3'], none],
  ['no such line', ['-w', 'nope'], none],
  ['a line of 32 bytes, compared as a C string', ['-w', 'x'.repeat(32)], none],
  ['a longer line', ['-w', 'x'.repeat(32) + 'abcdbob'], none],
  ['no argument', [], none],
  ['-w alone', ['-w'], none],
  ['an unknown option', ['-x', 'tty1'], none],
  ['-V', ['-V', 'tty1'], none],
  ['-- ends the options', ['--', 'tty1'], none],
  ['no utmp', ['tty1'], (r) => fs.rmSync(path.join(r, 'utmp'))],
  ['utmp a directory', ['tty1'], (r) => { fs.rmSync(path.join(r, 'utmp')); fs.mkdirSync(path.join(r, 'utmp')); }],
  ['an empty utmp', ['tty1'], (r) => fs.writeFileSync(path.join(r, 'utmp'), '')],
  ['wtmp a directory', ['-w', 'tty1'], (_r, l) => fs.mkdirSync(path.join(l, 'wtmp'))],
];

t.test('utmpset beside runit\'s', { skip }, async (t) => {
  const refDir = path.dirname(reference('utmpset'));
  for (const [what, args, setup] of cases) {
    const want = await run(refDir, args, setup);
    const got = await run(BIN, args, setup);
    t.same(got, want, what);
  }
  const r = await run(BIN, ['-w', 'tty1'], none);
  const want = Buffer.from(UTMP.subarray(384, 768));
  want.fill(0, 44, 44 + 32 + 256);
  want.writeInt16LE(8, 0);
  want.writeInt32LE(0, 340);
  t.equal(r.utmp.split('\n')[2], `NOW ${want.toString('hex')}`, 'the record as it should be: usec, pid, id, session and address kept');
  t.equal(r.status, 0);
});
