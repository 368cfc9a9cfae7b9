// daemontools' chain-loading helpers (setuidgid, envuidgid, envdir,
// softlimit, pgrphack, setlock), ours beside Debian's on the same input:
// what the program sees (id, environment, /proc/self/limits, process group
// and session, descriptors), that it is the same process as the tool (exec,
// not spawn), and the messages and exit codes of bad input.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import { spawn } from './helpers/common';
import { loadNative } from '../src/native';

const BIN = path.resolve(__dirname, '..', 'bin');
const root = process.getuid!() === 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chain-dt-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Out { status: number | null; stdout: string; stderr: string; signal?: NodeJS.Signals | null }

function run(file: string, args: string[], opts: SpawnSyncOptions = {}): Out {
  const r = spawnSync(file, args, { cwd: dir, input: '', encoding: 'latin1', timeout: 15000, killSignal: 'SIGKILL', ...opts });
  const out: Out = { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
  // (only when there was one: the comparisons with the originals stay as they were)
  if (r.signal) out.signal = r.signal;
  return out;
}

/** The reference and ours, same arguments: [want, got]. */
function both(cmd: string, args: string[], opts: SpawnSyncOptions = {}): [Out, Out] {
  return [run(`/usr/bin/${cmd}`, args, opts), run(path.join(BIN, cmd), args, opts)];
}

/** A skip reason naming the reference when it is absent, else false. */
const absent = (cmd: string): string | false => (fs.existsSync(`/usr/bin/${cmd}`) ? false : `/usr/bin/${cmd} absent`);

const haveNative = !!loadNative()?.execvpe;

t.test('bad input: same words, same exit code', async (t) => {
  fs.writeFileSync(path.join(dir, 'notdir'), '');
  const cases: [string, string[]][] = [
    ['setuidgid', []], ['setuidgid', ['nobody']], ['setuidgid', ['no-such-account', 'true']],
    ['setuidgid', ['nobody', '/nonexistent/prog']], ['setuidgid', ['nobody', 'no-such-prog-here']],
    ['envuidgid', []], ['envuidgid', ['root']], ['envuidgid', ['no-such-account', 'true']],
    ['envdir', []], ['envdir', ['empty']], ['envdir', ['/nonexistent', 'true']], ['envdir', ['notdir', 'true']],
    ['envdir', ['.', 'no-such-prog-here']],
    ['softlimit', []], ['softlimit', ['-z']], ['softlimit', ['-m']], ['softlimit', ['-m', '12x', 'true']],
    ['softlimit', ['-o', '10']], ['softlimit', ['-c', '0', 'no-such-prog-here']],
    ['pgrphack', []], ['pgrphack', ['no-such-prog-here']],
    ['setlock', []], ['setlock', ['-z']], ['setlock', ['f']], ['setlock', ['/nonexistent/f', 'true']],
    ['setlock', ['-x', '/nonexistent/f', 'true']], ['setlock', ['-nN', 'f', 'no-such-prog-here']],
  ];
  for (const [cmd, args] of cases) {
    if (!fs.existsSync(`/usr/bin/${cmd}`)) { t.comment(`skip: /usr/bin/${cmd} absent`); continue; }
    const [want, got] = both(cmd, args);
    t.same(got, want, `${cmd} ${args.join(' ')}`);
  }
});

t.test('setuidgid: id as the account, its gid the only group', { skip: absent('setuidgid') || (root ? false : 'needs root') }, async (t) => {
  const [want, got] = both('setuidgid', ['nobody', 'id']);
  t.equal(got.status, 0);
  t.same(got, want);
  t.match(got.stdout, /^uid=65534\(nobody\) gid=65534\(\w+\) groups=65534\(\w+\)\n$/);
});

t.test('envuidgid: $UID and $GID', { skip: absent('envuidgid') }, async (t) => {
  const [want, got] = both('envuidgid', ['nobody', 'sh', '-c', 'echo "$UID $GID"; id -u'], { env: { ...process.env, UID: 'old' } });
  t.same(got, want);
  t.equal(got.stdout, `65534 65534\n${process.getuid!()}\n`);
});

t.test('envdir: first line, trailing blanks off, NUL to newline, empty unsets, dot files skipped', { skip: absent('envdir') }, async (t) => {
  const e = path.join(dir, 'env');
  fs.mkdirSync(e);
  fs.writeFileSync(path.join(e, 'A'), 'one two \t \nsecond line\n');
  fs.writeFileSync(path.join(e, 'B'), '');
  fs.writeFileSync(path.join(e, 'C'), 'x\0y\t');
  fs.writeFileSync(path.join(e, 'D'), 'no newline');
  fs.writeFileSync(path.join(e, 'E'), '\n');
  fs.writeFileSync(path.join(e, '.hidden'), 'nope');
  const env = { PATH: process.env.PATH, B: 'gone', D: 'replaced', KEEP: 'kept' };
  const [want, got] = both('envdir', ['env', 'env'], { env });
  const sorted = (s: string) => s.split('\n').filter((l) => l !== '').sort().join('\n');
  t.equal(got.status, 0);
  t.equal(sorted(got.stdout), sorted(want.stdout));
  t.match(got.stdout, /^A=one two$/m);
  t.match(got.stdout, /^C=x\ny$/m);
  t.notMatch(got.stdout, /^B=/m);
  t.notMatch(got.stdout, /hidden/);
  fs.mkdirSync(path.join(e, 'sub'));
  const [w2, g2] = both('envdir', ['env', 'true']);
  t.same(g2, w2, 'a subdirectory is fatal, as in the original');
});

t.test('softlimit: /proc/self/limits', { skip: absent('softlimit') || (haveNative ? false : 'no native addon') }, async (t) => {
  for (const args of [['-m', '300000000'], ['-o', '64', '-c', '0', '-t', '1000'], ['-d', '=', '-s', '=', '-p', '77'],
    ['-f', '123456', '-l', '65536', '-r', '999999', '-a', '400000000'], ['-o', '99999999999']]) {
    const [want, got] = both('softlimit', [...args, 'cat', '/proc/self/limits']);
    t.equal(got.status, 0, args.join(' '));
    t.equal(got.stdout, want.stdout, args.join(' '));
  }
  // Limits the tool itself could not run under (no memory at all): set on the way into the exec.
  for (const args of [['-m', '0'], ['-d', '0'], ['-s', '0'], ['-a', '0']]) {
    const [want, got] = both('softlimit', [...args, 'cat', '/proc/self/limits']);
    t.same({ status: got.status, signal: got.signal, stdout: got.stdout }, { status: want.status, signal: want.signal, stdout: want.stdout }, args.join(' '));
  }
});

/** A program that prints its pid, process group and session from /proc/self/stat, then its descriptors. */
const REPORT = ['sh', '-c', 'read -r a </proc/$$/stat; set -- ${a##*) }; echo "$$ $3 $4"; exec ls /proc/self/fd'];

function report(file: string, args: string[], extra = false) {
  const stdio: any[] = ['ignore', 'pipe', 'pipe'];
  if (extra) {
    stdio[3] = 'ignore';
    stdio[5] = fs.openSync('/dev/null', 'r');
    stdio[19] = fs.openSync('/dev/null', 'r');
  }
  const r = spawnSync(file, [...args, ...REPORT], { cwd: dir, stdio, encoding: 'latin1', timeout: 15000, killSignal: 'SIGKILL' });
  for (const fd of [stdio[5], stdio[19]]) if (typeof fd === 'number') fs.closeSync(fd);
  const [pid, pgrp, sid] = r.stdout.split('\n')[0].split(' ').map(Number);
  return { spawned: r.pid, pid, pgrp, sid, fds: r.stdout.split('\n').slice(1).join(' '), status: r.status, stderr: r.stderr };
}

t.test('exec, not spawn: the program is the tool\'s process, with the tool\'s descriptors', { skip: haveNative ? false : 'no native addon' }, async (t) => {
  fs.mkdirSync(path.join(dir, 'empty'), { recursive: true });
  for (const [cmd, args] of [['setuidgid', ['root']], ['envuidgid', ['root']], ['envdir', ['empty']], ['softlimit', ['-c', '0']],
    ['pgrphack', []], ['setlock', ['lockfile']]] as [string, string[]][]) {
    const got = report(path.join(BIN, cmd), args, true);
    t.equal(got.pid, got.spawned, `${cmd}: same pid`);
    if (fs.existsSync(`/usr/bin/${cmd}`)) {
      const want = report(`/usr/bin/${cmd}`, args, true);
      t.equal(got.fds, want.fds, `${cmd}: same descriptors (${want.fds})`);
      t.equal(got.pgrp === got.pid, want.pgrp === want.pid, `${cmd}: group leader as the reference`);
      t.equal(got.sid === got.pid, want.sid === want.pid, `${cmd}: session leader as the reference`);
    }
  }
});

t.test('pgrphack: a new session and process group', { skip: haveNative ? false : 'no native addon' }, async (t) => {
  const got = report(path.join(BIN, 'pgrphack'), []);
  t.equal(got.pgrp, got.pid);
  t.equal(got.sid, got.pid);
  const plain = report('/usr/bin/env', []);
  t.not(plain.sid, plain.pid, 'without it, the session is the test\'s');
});

t.test('setlock: the program holds the lock; -n fails on a held lock, -x quietly', { skip: absent('setlock') }, async (t) => {
  const lk = path.join(dir, 'held');
  for (const [outer, inner] of [[path.join(BIN, 'setlock'), '/usr/bin/setlock'], ['/usr/bin/setlock', path.join(BIN, 'setlock')]]) {
    const r = run(outer, [lk, 'sh', '-c', `"$0" -n "$1" true; echo "n:$?"; "$0" -nx "$1" true; echo "nx:$?"`, inner, lk]);
    t.equal(r.stdout, 'n:111\nnx:0\n', `${outer} holding, ${inner} trying`);
    t.match(r.stderr, /^setlock: fatal: unable to lock .*held: temporary failure\n$/);
  }
  const free = both('setlock', ['-n', lk, 'echo', 'ran']);
  t.same(free[1], free[0], 'a free lock is taken');
  t.equal(free[1].stdout, 'ran\n');
});

t.test('without the native addon: one warning, prog as a child, its status passed on', async (t) => {
  const env = { ...process.env, UCSPI_NO_NATIVE: '1' };
  const r = run(path.join(BIN, 'envuidgid'), ['root', 'sh', '-c', 'echo "$UID"; exit 7'], { env });
  t.equal(r.status, 7);
  t.equal(r.stdout, '0\n');
  t.equal(r.stderr, 'envuidgid: warning: cannot exec without the native addon: running sh as a child process\n');
  const k = run(path.join(BIN, 'pgrphack'), ['sh', '-c', 'kill -TERM $$'], { env });
  t.equal(k.status, null, 'killed by a signal: so is the tool');
  const m = run(path.join(BIN, 'setuidgid'), ['root', 'no-such-prog-here'], { env });
  t.equal(m.status, 111);
  t.match(m.stderr, /setuidgid: fatal: unable to run no-such-prog-here: file does not exist\n$/);
  fs.mkdirSync(path.join(dir, 'empty'), { recursive: true });
  // Deaths Node itself would not die of: SIGPIPE and SIGXFSZ (ignored by Node), SIGUSR1 (its inspector).
  for (const sig of ['PIPE', 'XFSZ', 'USR1', 'SEGV']) {
    for (const [cmd, args] of [['envdir', ['empty']], ['setlock', ['lockfile']], ['chpst', []], ['softlimit', ['-c', '0']]] as [string, string[]][]) {
      const r = run(path.join(BIN, cmd), [...args, 'sh', '-c', `kill -${sig} $$`], { env });
      t.equal(r.signal, `SIG${sig}`, `${cmd}: the program died of SIG${sig}: so does the tool`);
    }
  }
});

t.test('without the native addon: softlimit\'s limits as the original sets them (through prlimit)', { skip: absent('softlimit') }, async (t) => {
  const env = { ...process.env, UCSPI_NO_NATIVE: '1' };
  for (const args of [['-m', '300000000'], ['-o', '64', '-c', '0', '-t', '1000'], ['-d', '=', '-s', '=', '-p', '77'],
    ['-f', '123456', '-l', '65536', '-r', '999999', '-a', '400000000'], ['-o', '99999999999'], ['-o', '50', '-o', '60']]) {
    const want = run('/usr/bin/softlimit', [...args, 'cat', '/proc/self/limits']);
    const got = run(path.join(BIN, 'softlimit'), [...args, 'cat', '/proc/self/limits'], { env });
    t.equal(got.status, 0, args.join(' '));
    t.equal(got.stdout, want.stdout, args.join(' '));
  }
  const [want, got] = [run('/usr/bin/softlimit', ['-c', '0', 'no-such-prog-here']),
    run(path.join(BIN, 'softlimit'), ['-c', '0', 'no-such-prog-here'], { env })];
  t.equal(got.status, want.status, 'a missing program: the same exit code');
  t.match(got.stderr, /softlimit: fatal: unable to run no-such-prog-here: file does not exist\n$/, 'and words');
});

t.test('without the native addon: the relay passes signals on, and a SIGKILL to it ends the program', async (t) => {
  const env = { ...process.env, UCSPI_NO_NATIVE: '1' };
  fs.mkdirSync(path.join(dir, 'empty'), { recursive: true });
  for (const [cmd, args] of [['envdir', ['empty']], ['setuidgid', ['root']], ['pgrphack', []], ['setlock', ['lockfile']], ['chpst', []]] as [string, string[]][]) {
    for (const [sig, expect] of [['SIGTERM', 'SIGTERM'], ['SIGKILL', 'SIGKILL']] as const) {
      const pidFile = path.join(dir, `${cmd}.pid`);
      fs.rmSync(pidFile, { force: true });
      const p = spawn(path.join(BIN, cmd), [...args, 'sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`], { cwd: dir, env, stdio: 'ignore' });
      const end = Date.now() + 10_000;
      while (!(fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').endsWith('\n')) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      const prog = Number(fs.readFileSync(pidFile, 'utf8'));
      t.not(prog, p.pid, `${cmd}: a child, not the tool itself`);
      const exited = new Promise<NodeJS.Signals | null>((r) => p.once('exit', (_c, s) => r(s)));
      p.kill(sig);
      t.equal(await exited, expect, `${cmd}: ${sig} to the tool: it ends so`);
      let gone = false;
      while (!gone && Date.now() < end) {
        try { process.kill(prog, 0); await new Promise((r) => setTimeout(r, 20)); } catch { gone = true; }
        // a zombie of the tool's is gone too once the tool is reaped by us
        if (!gone && /^State:\s+Z/m.test(fs.readFileSync(`/proc/${prog}/status`, 'utf8'))) gone = true;
      }
      t.ok(gone, `${cmd}: ${sig} to the tool: the program ends too`);
    }
  }
});
