// chpst, option by option, ours beside runit's (the reference chpst on PATH)
// with the same arguments: what prog sees (id, /proc/self/limits, the
// environment, process group and session, nice, open descriptors, argv) and
// the words and exit code of every failure. test/chain-chpst.test.ts has the
// first cases of each; this file fills in the rest: -e's reading of files,
// -/ that succeeds, -n below zero, limits above the hard limit, -l that waits,
// -L against runit's lock, the descriptors prog inherits, and the order in
// which chpst applies its options (-e and -l before -u drops root).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { loadNative } from '../src/native';
import { findReference, isRoot, needReference, ours, reference, spawn, waitFor, which } from './helpers/common';

const haveNative = !!loadNative()?.execvpe;
const setpriv = which('setpriv');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chain-chpst-diff-'));
fs.chmodSync(dir, 0o755);
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Out { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function run(file: string, args: string[], opts: SpawnSyncOptions = {}): Out {
  const r = spawnSync(file, args, { cwd: dir, input: '', encoding: 'latin1', timeout: 15000, killSignal: 'SIGKILL', ...opts });
  return { status: r.status, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** [runit's, ours]: the same arguments; runit's is called chpst, as ours is. */
function both(args: string[], opts: SpawnSyncOptions = {}): [Out, Out] {
  return [run(reference('chpst'), args, { argv0: 'chpst', ...opts }), run(ours('chpst'), args, opts)];
}

/** The same, through sh: `pre` runs first in the shell, then chpst is exec'd as "$0". */
function bothAfter(pre: string, args: string[], opts: SpawnSyncOptions = {}): [Out, Out] {
  const sh = (file: string) => run('/bin/sh', ['-c', `${pre}; exec "$0" "$@"`, file, ...args], opts);
  return [sh(reference('chpst')), sh(ours('chpst'))];
}

/** Both as nobody:nogroup, no supplementary groups (setpriv). */
function bothAsNobody(args: string[], opts: SpawnSyncOptions = {}): [Out, Out] {
  const as = (file: string) => run(setpriv!, ['--reuid=nobody', '--regid=nogroup', '--clear-groups', file, ...args], opts);
  return [as(reference('chpst')), as(ours('chpst'))];
}

const label = (args: string[]) => args.map((a) => (a === '' ? "''" : a)).join(' ');

t.test('chpst against runit\'s', needReference('chpst'), async (t) => {
  // -e: what runit makes of each file.
  const envd = path.join(dir, 'envd');
  fs.mkdirSync(envd);
  fs.writeFileSync(path.join(envd, 'NUL'), 'a\0b\nsecond line');        // NUL becomes a newline; the first line only
  fs.writeFileSync(path.join(envd, 'TRAIL'), 'val \t \t\nx');            // trailing blanks and tabs go
  fs.writeFileSync(path.join(envd, 'LEAD'), '  lead\r');                 // leading blanks and a CR stay
  fs.writeFileSync(path.join(envd, '.hidden'), 'no');                    // dot files are passed over
  fs.writeFileSync(path.join(envd, 'EMPTY'), '');                        // an empty file unsets
  fs.writeFileSync(path.join(envd, 'ONLYNL'), '\n');                     // a first line that is empty: set, empty
  fs.writeFileSync(path.join(envd, 'LONG'), 'y'.repeat(5000));           // past the first read's 256 bytes
  fs.writeFileSync(path.join(envd, 'A=B'), 'c');                         // a name with '='
  const latin = path.join(dir, 'envlatin');
  fs.mkdirSync(latin);
  fs.writeFileSync(path.join(latin, 'LATIN'), Buffer.from([0xe9, 0x20, 0x78])); // bytes, not UTF-8
  const broken = path.join(dir, 'envbroken');
  fs.mkdirSync(broken);
  fs.symlinkSync('/nonexistent/target', path.join(broken, 'GONE'));
  // A dangling entry among others: the originals read it as the entry before
  // it left their buffer (in directory order, the same for both).
  const brokenMany = path.join(dir, 'envbrokenmany');
  fs.mkdirSync(brokenMany);
  for (const [n, v] of [['ONE', 'one\0two\nthree'], ['TWO', ''], ['THREE', 'x \t'], ['FOUR', 'four']]) {
    fs.writeFileSync(path.join(brokenMany, n), v);
  }
  for (const n of ['GONE1', 'GONE2', 'GONE3', 'GONE4', 'GONE5']) fs.symlinkSync('/nonexistent/target', path.join(brokenMany, n));
  fs.writeFileSync(path.join(dir, 'notdir'), '');
  const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', EMPTY: 'was set', ONLYNL: 'was set', KEEP: 'kept' };
  const envOf = (o: Out) => o.stdout.split('\0').filter((l) => l !== '').sort();

  t.test('-e: the variables prog gets', async (t) => {
    for (const args of [['-e', 'envd', 'env', '-0'], ['-e', envd, 'env', '-0'], ['-v', '-e', 'envd', 'env', '-0']]) {
      const [want, got] = both(args, { env: baseEnv });
      t.equal(got.status, want.status, `${label(args)}: exit code`);
      t.equal(got.stderr, want.stderr, `${label(args)}: stderr`);
      t.same(envOf(got), envOf(want), `${label(args)}: environment`);
    }
    const [want, got] = both(['-e', 'envd', 'pwd'], { env: baseEnv });
    t.same(got, want, '-e: prog runs in the directory chpst started in');
    for (const args of [['-e', 'envbroken', 'env', '-0'], ['-v', '-e', 'envbrokenmany', 'env', '-0']]) {
      const [want, got] = both(args, { env: { ...baseEnv, GONE: 'was set' } });
      t.same({ ...got, stdout: envOf(got) }, { ...want, stdout: envOf(want) }, `${label(args)}: a dangling entry`);
    }
    // Known difference: a value is a JavaScript string on its way to prog, so
    // bytes that are not UTF-8 arrive as U+FFFD.
    const [wantL, gotL] = both(['-e', 'envlatin', 'env', '-0'], { env: baseEnv });
    t.same(envOf(gotL), envOf(wantL), '-e: a value that is not UTF-8', { todo: 'values pass through JavaScript strings (UTF-8)' });
  });

  t.test('-e: failures', async (t) => {
    const unreadable = path.join(dir, 'envloop');
    fs.mkdirSync(unreadable);
    fs.symlinkSync('LOOP', path.join(unreadable, 'LOOP'));
    for (const args of [['-e', 'envloop', 'true'], ['-e', 'notdir', 'true'], ['-e', '', 'true'], ['-e', 'nonexistent', 'true']]) {
      const [want, got] = both(args);
      t.same(got, want, label(args));
    }
  });

  t.test('-U: the variables, with and without -u', async (t) => {
    for (const args of [['-U', 'nobody:nogroup', 'env', '-0'], ['-U', ':0:0', 'env', '-0'], ['-U', 'root', '-e', 'envd', 'env', '-0'],
      ['-U', ':', 'env', '-0'], ['-U', ':7', 'env', '-0'], ['-U', ':7:', 'env', '-0']]) {
      const [want, got] = both(args, { env: { ...baseEnv, UID: 'old', GID: 'old' } });
      t.equal(got.status, want.status, `${label(args)}: exit code`);
      t.equal(got.stderr, want.stderr, `${label(args)}: stderr`);
      t.same(envOf(got), envOf(want), `${label(args)}: environment`);
    }
  });

  t.test('-u: ids and groups, and what chpst does before it drops root', { skip: isRoot ? false : 'needs root' }, async (t) => {
    const rootOnly = path.join(dir, 'rootonly');
    fs.mkdirSync(rootOnly, { mode: 0o700 });
    fs.writeFileSync(path.join(rootOnly, 'SECRET'), 's');
    const lockDir = path.join(dir, 'lockdir');
    fs.mkdirSync(lockDir, { mode: 0o700 });
    for (const args of [['-u', 'root:nogroup', 'id'], ['-u', 'nobody:nogroup:root', 'id'], ['-u', ':65534:65534:0:4', 'id'],
      ['-u', ':0', 'id'], ['-u', 'nobody', '-U', 'root', 'id'], ['-u', ':65534:65534', '-e', 'rootonly', 'env'],
      ['-u', 'nobody', '-l', path.join(lockDir, 'l'), 'id'],
      ['-u', ':', 'id'], ['-u', ':x', 'id'], ['-u', 'root:', 'id'], ['-u', '', 'id']]) {
      const [want, got] = both(args, { env: baseEnv });
      t.same({ ...got, stdout: got.stdout.split('\n').sort() }, { ...want, stdout: want.stdout.split('\n').sort() }, label(args));
    }
    // The user is looked up inside the new root: without /etc/passwd there,
    // getpwnam fails with ENOENT, and runit says so; with one that lacks the
    // user or a group, it is unknown; without /etc/group, ENOENT again.
    const etc = path.join(dir, 'jail2', 'etc');
    fs.mkdirSync(etc, { recursive: true });
    const jail2 = path.dirname(etc);
    for (const [files, spec] of [[{}, 'nobody'], [{ passwd: 'x:x:7:7::/:/bin/sh\n' }, 'nobody'],
      [{ passwd: 'x:x:7:7::/:/bin/sh\n' }, 'x:x'], [{ passwd: 'x:x:7:7::/:/bin/sh\n', group: 'g:x:8:\n' }, 'x:y'],
      [{ passwd: 'x:x:7:7::/:/bin/sh\n' }, ':7:7']] as Array<[Record<string, string>, string]>) {
      for (const f of ['passwd', 'group']) fs.rmSync(path.join(etc, f), { force: true });
      for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(etc, f), text);
      const args = ['-u', spec, '-/', jail2, 'true'];
      const [want, got] = both(args);
      t.same(got, want, `${label(args)}, ${Object.keys(files).join(' and ') || 'no files'} in the new root's /etc`);
    }
  });

  t.test('-/: prog runs in the new root', { skip: isRoot ? false : 'needs root' }, async (t) => {
    for (const args of [['-/', '/', 'pwd'], ['-/', '/', 'sh', '-c', 'pwd; ls -d /proc/self'], ['-/', 'notdir', 'true'], ['-/', '', 'true']]) {
      const [want, got] = both(args);
      t.same(got, want, label(args));
    }
  });

  // Fields of /proc/self/stat after the command name: 3 state, 4 ppid, 5 pgrp, 6 session, 19 nice.
  const statOf = (o: Out, pid?: number) => {
    const f = o.stdout.slice(o.stdout.lastIndexOf(')') + 2).split(' ');
    const self = Number(o.stdout.split(' ')[0]);
    return { status: o.status, stderr: o.stderr, leader: Number(f[2]) === self, session: Number(f[3]) === self,
      nice: Number(f[16]), inPlace: pid === undefined ? undefined : self === pid };
  };

  t.test('-n and -P: nice, process group and session', { skip: haveNative ? false : 'no native addon' }, async (t) => {
    const cases = [['-n', '0'], ['-n', '19'], ['-n', '100'], ['-n', '+2', '-P'], ['-P', '-P']];
    if (isRoot) cases.push(['-n', '-5'], ['-n', '-100'], ['-n', '-0']);
    for (const args of cases) {
      const [want, got] = both([...args, 'cat', '/proc/self/stat']);
      t.same(statOf(got), statOf(want), label(args));
    }
    // The same from a session leader already: setsid fails there, silently.
    const setsid = which('setsid');
    if (setsid) {
      const lead = (file: string) => run(setsid, [file, '-P', 'cat', '/proc/self/stat']);
      t.same(statOf(lead(ours('chpst'))), statOf(lead(reference('chpst'))), '-P from a session leader');
    }
  });

  // Our bin/ prelude writes to /dev/null; on a host where it is not writable
  // by all, every unprivileged run of ours says so on stderr.
  const devNullOpen = (fs.statSync('/dev/null').mode & 0o002) !== 0;
  const asNobody = !isRoot || !setpriv ? 'needs root and setpriv' : devNullOpen ? false : '/dev/null is not writable by all on this host';
  t.test('-n below zero as an unprivileged user', { skip: asNobody }, async (t) => {
    for (const args of [['-n', '-5', 'true'], ['-n', '-1', '-v', 'true']]) {
      const [want, got] = bothAsNobody(args);
      t.same(got, want, label(args));
    }
  });

  t.test('limits: every letter, 0, and above the hard limit', { skip: haveNative ? false : 'no native addon' }, async (t) => {
    const limits = ['cat', '/proc/self/limits'];
    for (const args of [['-m', '0'], ['-d', '0'], ['-o', '0'], ['-p', '0'], ['-f', '0'], ['-c', '0'], ['-r', '0'],
      ['-c', ''], ['-m', '123456789', '-d', '987654321'], ['-d', '987654321', '-m', '123456789'], ['-o', '00017'],
      ['-t', '18446744073709551615'], ['-f', '18446744073709551616']]) {
      const [want, got] = both([...args, ...limits]);
      t.equal(got.status, want.status, `${label(args)}: exit code`);
      t.equal(got.stdout, want.stdout, `${label(args)}: limits`);
      t.equal(got.stderr, want.stderr, `${label(args)}: stderr`);
    }
    // -t 0 is left out: the CPU time a process has used counts across exec,
    // so whether prog is killed at once depends on when the next tick checks
    // (and ours has used more: see chpst(8)).
    // Above the hard limit: the soft limit goes up to the hard one, no further.
    for (const args of [['-o', '500'], ['-f', '99999'], ['-m', '99999999999']]) {
      const [want, got] = bothAfter('ulimit -H -n 200; ulimit -H -f 1000; ulimit -H -v 5000000', [...args, ...limits]);
      t.equal(got.status, want.status, `hard limits lowered, ${label(args)}: exit code`);
      t.equal(got.stdout, want.stdout, `hard limits lowered, ${label(args)}: limits`);
    }
    for (const args of [['-o', '1x'], ['-o', '-1'], ['-o', '='], ['-t', ' 1'], ['-p', '0x10']]) {
      const [want, got] = both([...args, 'true']);
      t.same(got, want, `${label(args)}: refused`);
    }
  });

  t.test('-0 -1 -2 and the lock: the descriptors prog has', { skip: haveNative ? false : 'no native addon' }, async (t) => {
    const lk = path.join(dir, 'fdlock');
    // prog lists its own descriptors on fd 3, a pipe of ours; what it holds
    // besides (0, 1, 2 and the lock) must be the same.
    const list = ['sh', '-c', 'for f in /proc/$$/fd/*; do printf "%s %s\\n" "${f##*/}" "$(readlink "$f" | sed "s/:\\[.*//")"; done >&3'];
    const stdio: SpawnSyncOptions['stdio'] = ['pipe', 'pipe', 'pipe', 'pipe'];
    const read = (file: string, args: string[], argv0?: string) => {
      const r = spawnSync(file, args, { cwd: dir, stdio, argv0, encoding: 'latin1', timeout: 15000, killSignal: 'SIGKILL' });
      return { status: r.status, fds: String(r.output[3]), stderr: String(r.stderr) };
    };
    for (const args of [[], ['-0'], ['-1', '-2'], ['-0', '-1', '-2'], ['-l', lk], ['-L', lk, '-P'], ['-e', 'envd', '-2']]) {
      const want = read(reference('chpst'), [...args, ...list], 'chpst');
      const got = read(ours('chpst'), [...args, ...list]);
      t.same(got, want, label(args));
    }
    // Known difference: runit opens the lock before -0, -1 or -2 closes a
    // descriptor, so the lock keeps the number it got then; ours gives it the
    // lowest number free at exec (the one just closed).
    for (const args of [['-L', lk, '-0'], ['-l', lk, '-2']]) {
      const want = read(reference('chpst'), [...args, ...list], 'chpst');
      const got = read(ours('chpst'), [...args, ...list]);
      t.same(got, want, label(args), { todo: 'the lock descriptor is numbered after -0/-1/-2 close theirs' });
    }
  });

  t.test('-b: argv[0], and the program still found by its name', async (t) => {
    for (const args of [['-b', 'renamed', 'cat', '/proc/self/cmdline'], ['-b', '', 'cat', '/proc/self/cmdline'],
      ['-b', 'x', '-b', 'y', 'cat', '/proc/self/cmdline'], ['-b', 'renamed', 'no-such-prog-here'], ['-b', 'renamed']]) {
      const [want, got] = both(args);
      t.same(got, want, label(args));
    }
  });

  t.test('-v', async (t) => {
    for (const args of [['-v', 'true'], ['-v', '-U', 'nobody', 'true'], ['-v', '-L', path.join(dir, 'vlock'), 'true'], ['-vv', 'true']]) {
      const [want, got] = both(args);
      t.same(got, want, label(args));
    }
  });

  t.test('-l waits for the lock, -L does not', { skip: findReference('chpst') ? false : 'no reference chpst' }, async (t) => {
    const lk = path.join(dir, 'waitlock');
    const state = path.join(dir, 'state');
    // A holder (runit's or ours) keeps the lock until its stdin closes.
    const hold = async (file: string) => {
      const h = spawn(file, ['-L', lk, 'sh', '-c', 'echo held; read x'], { cwd: dir, argv0: 'chpst', stdio: ['pipe', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        h.stdout!.once('data', () => resolve());
        h.once('exit', (code) => reject(new Error(`holder exited with ${code} before holding the lock`)));
      });
      return h;
    };
    const waiterBlocked = (pid: number) => fs.readFileSync('/proc/locks', 'latin1').split('\n')
      .some((l) => /->\s+FLOCK/.test(l) && l.split(/\s+/).includes(String(pid)));
    for (const [holder, waiter] of [[reference('chpst'), ours('chpst')], [ours('chpst'), reference('chpst')], [ours('chpst'), ours('chpst')]]) {
      const name = `${holder === ours('chpst') ? 'ours' : 'runit\'s'} holds, ${waiter === ours('chpst') ? 'ours' : 'runit\'s'} waits`;
      fs.writeFileSync(state, 'held\n');
      const h = await hold(holder);
      // -L: refused at once, in the reference's words.
      const refused = run(waiter, ['-L', lk, 'true'], { argv0: 'chpst' });
      t.same(refused, { status: 111, signal: null, stdout: '', stderr: `chpst: fatal: unable to lock: ${lk}: temporary failure\n` },
        `${name}: -L refused`);
      // -l: blocks in flock until the holder is gone, then runs prog.
      const w = spawn(waiter, ['-l', lk, 'cat', state], { cwd: dir, argv0: 'chpst', stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      w.stdout!.on('data', (d) => { out += d; });
      // 'close', not 'exit': the output may still be in the pipe when the process has exited.
      const done = new Promise<number | null>((resolve) => w.once('close', (code) => resolve(code)));
      await waitFor(`${name}: the waiter blocked in flock`, () => waiterBlocked(w.pid!));
      fs.writeFileSync(state, 'released\n');
      h.stdin!.end();
      t.equal(await done, 0, `${name}: -l ran prog`);
      t.equal(out, 'released\n', `${name}: only once the lock was free`);
    }
  });

  t.test('bad usage and option values', async (t) => {
    for (const args of [['-n'], ['-n', '', 'true'], ['-n', '1x', 'true'], ['-n', '--1', 'true'], ['-n', '+-1', 'true'],
      ['-m', 'x', 'true'], ['-b'], ['-e'], ['-/'], ['-l'], ['-L'], ['-u', 'nobody'], ['-L', 'a', '-l', 'b', 'true'],
      ['-l', dir, 'true'], ['-L', '', 'true'], ['--', 'true'], ['-', 'true'], ['-x', 'true'], ['-012P']]) {
      const [want, got] = both(args);
      t.same(got, want, label(args));
    }
  });
});
