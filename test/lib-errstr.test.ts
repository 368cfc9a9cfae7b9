// src/lib/errstr: the originals' words for system errors, checked against
// the table's known entries and against the reference tools' own output.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { errnoName, errstr } from '../src/lib/errstr';
import { needReference, ours, reference } from './helpers/common';

const sys = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: raw`), { code });

t.test('words of the originals', async (t) => {
  const cases: Array<[string, string]> = [
    ['ENOENT', 'file does not exist'],
    ['EACCES', 'access denied'],
    ['EPERM', 'permission denied'],
    ['EMFILE', 'process cannot open more files'],
    ['ENFILE', 'system cannot open more files'],
    ['ENOEXEC', 'exec format error'],
    ['E2BIG', 'argument list too long'],
    ['EXDEV', 'cross-device link'],
    ['EAGAIN', 'temporary failure'],
    // Linux's EWOULDBLOCK is EAGAIN: the originals find "temporary failure" first.
    ['EWOULDBLOCK', 'temporary failure'],
    ['ENXIO', 'device not configured'],
    ['ETIMEDOUT', 'timed out'],
    ['ENOTSUP', 'operation not supported'],
    ['EADDRINUSE', 'address already used'],
  ];
  for (const [code, words] of cases) t.equal(errstr(sys(code)), words, code);
});

t.test('no words: unknown error for an errno, our message otherwise', async (t) => {
  t.equal(errstr(sys('ECANCELED')), 'unknown error');
  t.equal(errstr(new Error('bad header')), 'bad header');
  t.equal(errstr('already worded'), 'already worded');
  t.equal(errstr(Object.assign(new Error('not a syscall'), { code: 'ERR_INVALID_ARG_TYPE' })), 'not a syscall');
});

// tcprules across devices (rename(2) gives EXDEV) and into a missing
// directory (ENOENT): ours and the reference print the same line.
t.test('same words as the reference tcprules', needReference('tcprules'), async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'errstr-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = (bin: string, cdb: string, tmp: string) =>
    spawnSync(bin, [cdb, tmp], { input: '127.0.0.1:allow\n', encoding: 'latin1', timeout: 20000 });
  const targets: Array<[string, string, string]> = [
    ['ENOENT', path.join(dir, 'missing', 'r.cdb'), path.join(dir, 'missing', 'r.tmp')],
  ];
  const shm = '/dev/shm';
  if (fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(dir).dev) {
    targets.push(['EXDEV', path.join(shm, `errstr-${process.pid}.cdb`), path.join(dir, 'r.tmp')]);
  } else {
    t.comment('no second file system at /dev/shm: EXDEV not compared');
  }
  for (const [what, cdb, tmp] of targets) {
    const ref = run(reference('tcprules'), cdb, tmp);
    fs.rmSync(cdb, { force: true });
    const mine = run(ours('tcprules'), cdb, tmp);
    fs.rmSync(cdb, { force: true });
    t.equal(mine.stderr, ref.stderr, `${what}: stderr`);
    t.equal(mine.status, ref.status, `${what}: exit code`);
  }
});

t.test('an errno libuv cannot name still gets the originals\' words', async (t) => {
  // util.getSystemErrorName(-8) is "Unknown system error -8": the addon's errors carry the errno.
  const unnamed = (n: number) => Object.assign(new Error('spawn x'), { code: `Unknown system error ${n}`, errno: n });
  t.equal(errstr(unnamed(-8)), 'exec format error', 'ENOEXEC');
  t.equal(errstr(unnamed(-10)), 'no child processes', 'ECHILD');
  t.equal(errstr(unnamed(-33)), 'input out of range', 'EDOM');
  t.equal(errnoName(-8), 'ENOEXEC');
  t.equal(errnoName(11), 'EAGAIN', 'of two names, the one the table words');
  const { addonError } = await import('../src/native');
  const e = addonError(-8, 'spawn prog');
  t.equal(e.code, 'ENOEXEC', 'the addon\'s error is named from the errno');
  t.equal(errstr(e), 'exec format error');
});
