// chpst, ours beside runit's (Debian's /usr/bin/chpst) on the same input,
// and called by the daemontools names. runit 2.1.2's own chpst.check runs
// from conformance/runit.sh.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import { loadNative } from '../src/native';

const BIN = path.resolve(__dirname, '..', 'bin');
const REF = '/usr/bin/chpst';
const root = process.getuid!() === 0;
const haveNative = !!loadNative()?.execvpe;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chain-chpst-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Out { status: number | null; stdout: string; stderr: string }

function run(file: string, args: string[], opts: SpawnSyncOptions = {}): Out {
  const r = spawnSync(file, args, { cwd: dir, input: '', encoding: 'latin1', timeout: 15000, killSignal: 'SIGKILL', ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}
const both = (args: string[], opts: SpawnSyncOptions = {}) =>
  [run(REF, args, { argv0: 'chpst', ...opts }), run(path.join(BIN, 'chpst'), args, opts)];

t.test('chpst', { skip: fs.existsSync(REF) ? false : `${REF} absent` }, async (t) => {
  fs.mkdirSync(path.join(dir, 'env', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'env', 'X'), 'ex \nmore');
  fs.writeFileSync(path.join(dir, 'env', 'HOME'), '');
  fs.writeFileSync(path.join(dir, 'notdir'), '');

  t.test('bad input: same words, same exit code', async (t) => {
    for (const args of [[], ['-z'], ['-u'], ['-m', '1x', 'true'], ['-n', 'x', 'true'], ['-l', 'a', '-L', 'b', 'true'],
      ['-u', 'no-such-user', 'true'], ['-u', 'nobody:no-such-group', 'true'], ['-u', ':1:2x', 'true'], ['-U', 'no-such-user', 'true'],
      ['-e', '/nonexistent', 'true'], ['-e', 'notdir', 'true'], ['-/', '/nonexistent', 'true'], ['no-such-prog-here'],
      ['-b', 'alias', 'no-such-prog-here'], ['-L', '/nonexistent/l', 'true'], ['-v', '-e', 'env', 'true']]) {
      const [want, got] = both(args);
      t.same(got, want, args.join(' '));
    }
    // -V: a version line (ours names ucspi-node, never the original's id), then the same usage and exit code.
    const [want, got] = both(['-V']);
    t.equal(got.status, want.status, '-V exit code');
    t.match(String(got.stderr), /^\$Id: ucspi-node chpst \S+ \$\n/, '-V: our version line');
    t.equal(String(got.stderr).split('\n').slice(1).join('\n'), String(want.stderr).split('\n').slice(1).join('\n'), '-V: then the usage');
  });

  t.test('the environment: -e (subdirectories passed over), -U', async (t) => {
    const env = { PATH: process.env.PATH, HOME: '/root', KEEP: '1' };
    const sorted = (s: string) => s.split('\n').filter((l) => l !== '').sort().join('\n');
    for (const args of [['-e', 'env', 'env'], ['-U', 'nobody', 'env'], ['-U', 'nobody:root', 'env'], ['-U', ':12:34', 'env']]) {
      const [want, got] = both(args, { env });
      t.equal(got.status, want.status, args.join(' '));
      t.equal(sorted(got.stdout), sorted(want.stdout), args.join(' '));
    }
  });

  t.test('-u: id', { skip: root ? false : 'needs root' }, async (t) => {
    for (const u of ['nobody', 'nobody:root', 'nobody:root:nogroup', ':65534:4:65534', ':65534:4']) {
      const [want, got] = both(['-u', u, 'id']);
      t.same(got, want, `-u ${u}`);
    }
  });

  t.test('limits: /proc/self/limits', { skip: haveNative ? false : 'no native addon' }, async (t) => {
    for (const args of [['-m', '300000000'], ['-o', '64', '-c', '0', '-t', '1000', '-p', '55'], ['-d', '99999999', '-f', '12345', '-r', '777777'],
      ['-o', '99999999999']]) {
      const [want, got] = both([...args, 'cat', '/proc/self/limits']);
      t.equal(got.status, 0, args.join(' '));
      t.equal(got.stdout, want.stdout, args.join(' '));
    }
  });

  t.test('-n, -P, -b, -0 -1 -2, -/', { skip: haveNative ? false : 'no native addon' }, async (t) => {
    const stat = ['sh', '-c', 'read -r a </proc/$$/stat; set -- ${a##*) }; echo "$$ $3 $4 ${17}" >&3; echo "$0" >&3; ls /proc/self/fd >&3 2>&1'];
    const shape = (o: Out) => {
      const [ids, argv0] = o.stdout.split('\n');
      const [pid, pgrp, sid, nice] = ids.split(' ').map(Number);
      return { leader: pgrp === pid, session: sid === pid, nice, argv0, status: o.status };
    };
    const stdio: any = ['ignore', 'ignore', 'ignore', 'pipe'];
    const read = (file: string, args: string[], argv0?: string) => {
      const r = spawnSync(file, args, { cwd: dir, stdio, argv0, encoding: 'latin1', timeout: 15000, killSignal: 'SIGKILL' });
      return { status: r.status, stdout: String(r.output[3]), stderr: '', pid: r.pid };
    };
    for (const args of [['-P'], ['-n', '5'], ['-n', '+3', '-P'], ['-b', 'renamed'], ['-0', '-1', '-2']]) {
      const want = read(REF, [...args, ...stat], 'chpst');
      const got = read(path.join(BIN, 'chpst'), [...args, ...stat]);
      t.same(shape(got), shape(want), args.join(' '));
      t.equal(Number(got.stdout.split(' ')[0]), got.pid, `${args.join(' ')}: exec in place`);
    }
    if (root) {
      // /bin/true is there outside the new root, not inside it.
      const jail = path.join(dir, 'jail');
      fs.mkdirSync(jail);
      const [want, got] = both(['-/', jail, '/bin/true']);
      t.same(got, want, '-/: prog is looked for in the new root');
      t.equal(got.stderr, 'chpst: fatal: unable to run: /bin/true: file does not exist\n');
    }
  });

  t.test('-l / -L: prog holds the lock', async (t) => {
    const lk = path.join(dir, 'lk');
    const r = run(path.join(BIN, 'chpst'), ['-L', lk, 'sh', '-c', '/usr/bin/chpst -L "$0" true; echo "L:$?"', lk]);
    t.equal(r.stdout, 'L:111\n');
    t.match(r.stderr, /^chpst: fatal: unable to lock: .*lk: temporary failure\n$/);
    const free = both(['-l', lk, 'echo', 'ran']);
    t.same(free[1], free[0]);
  });

  t.test('called as the daemontools tools', async (t) => {
    const links = path.join(dir, 'links');
    const refLinks = path.join(dir, 'ref-links');
    fs.mkdirSync(links);
    fs.mkdirSync(refLinks);
    for (const n of ['setuidgid', 'envuidgid', 'envdir', 'pgrphack', 'setlock', 'softlimit', 'dsetlock']) {
      fs.symlinkSync(path.join(BIN, 'chpst'), path.join(links, n));
      fs.symlinkSync(REF, path.join(refLinks, n));
    }
    const cases: [string, string[]][] = [
      ['setuidgid', []], ['setuidgid', ['no-such-user', 'true']], ['envuidgid', ['nobody', 'sh', '-c', 'echo $UID $GID']],
      ['envdir', ['x']], ['envdir', ['/nonexistent', 'true']], ['envdir', ['env', 'true']], ['pgrphack', []],
      ['setlock', ['-z']], ['setlock', ['f']], ['setlock', ['-x', '/nonexistent/f', 'true']], ['dsetlock', ['/nonexistent/f', 'true']],
      ['softlimit', ['-z']], ['softlimit', ['-o', '64', 'sh', '-c', 'ulimit -n']], ['softlimit', ['-o', '=', 'true']],
    ];
    if (root) cases.push(['setuidgid', ['nobody', 'id']]);
    for (const [name, args] of cases) {
      const want = run(path.join(refLinks, name), args);
      const got = run(path.join(links, name), args);
      t.same(got, want, `${name} ${args.join(' ')}`);
    }
  });
});
