// Every errno a program's start can meet reaches the log in the originals'
// words (djb's error_str, src/lib/errstr.ts), on both launchers, the same
// line as Debian's tcpsvd and tcpserver log for the same program.
import t from 'tap';
import { chmodSync, closeSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { needReference, ours, reference, scratch, waitFor } from './helpers/common';
import { launchers, startServer } from './helpers/net';

t.setTimeout(300000);

const dir = scratch('adversarial-errno')('progs');
const P = (name: string) => path.join(dir, name);

// The programs, one per errno.
writeFileSync(P('badelf'), Buffer.from('\x7fELF\x02\x01\x01garbage that is no ELF header at all', 'latin1'), { mode: 0o755 });
writeFileSync(P('noshebang'), 'echo ran by a shell\n', { mode: 0o755 });
writeFileSync(P('notexec'), '#!/bin/sh\necho ok\n', { mode: 0o644 });
writeFileSync(P('nointerp'), '#!/nonexistent/interpreter\n', { mode: 0o755 });
writeFileSync(P('busy'), '#!/bin/sh\necho ok\n', { mode: 0o755 });
mkdirSync(P('adir'));
symlinkSync(P('loop2'), P('loop1'));
symlinkSync(P('loop1'), P('loop2'));
writeFileSync(P('file'), '');
// A variable past MAX_ARG_STRLEN (128 KiB), from the rules, for E2BIG.
const big = 'x'.repeat(200 * 1024);
const rulesCdb = P('rules.cdb');
const peersCdb = P('peers.cdb');
{
  let r = spawnSync(ours('tcprules'), [rulesCdb, rulesCdb + '.tmp'], { input: `127.0.0.2:allow,BIG="${big}"\n:allow\n` });
  if (r.status !== 0) throw new Error('tcprules: ' + r.stderr);
  mkdirSync(P('peers'));
  writeFileSync(P('peers/127.0.0.2'), `+BIG=${big}\n`);
  writeFileSync(P('peers/0'), '');
  r = spawnSync(ours('ipsvd-cdb'), [peersCdb, peersCdb + '.tmp', P('peers')]);
  if (r.status !== 0) throw new Error('ipsvd-cdb: ' + r.stderr);
}

// The pure-Node path starts prog with child_process, whose execvp(3) runs what
// the kernel cannot execute with /bin/sh, and skips what is no directory along $PATH.
const EXECVP = 'child_process: execvp(3) differs from the originals\' pathexec (man page, BUGS)';

const CASES: Array<{ errno: string; prog: string; from?: string; path?: string; spawnTodo?: string }> = [
  { errno: 'ENOEXEC', prog: P('badelf'), spawnTodo: EXECVP },
  { errno: 'ENOEXEC (a script without #!)', prog: P('noshebang'), spawnTodo: EXECVP },
  { errno: 'EACCES', prog: P('notexec') },
  { errno: 'EACCES (a directory)', prog: P('adir') },
  { errno: 'ENOENT', prog: P('missing') },
  { errno: 'ENOENT (no interpreter)', prog: P('nointerp') },
  { errno: 'ENOENT (PATH search)', prog: 'no-such-program-anywhere' },
  { errno: 'ENOTDIR', prog: P('file') + '/x' },
  { errno: 'ENOTDIR (a file along PATH ends the search)', prog: 'true', path: `${P('file')}:/usr/bin:/bin`, spawnTodo: EXECVP },
  { errno: 'EACCES (along PATH, the search goes on)', prog: 'notexec', path: `${dir}:/usr/bin:/bin` },
  { errno: 'ELOOP', prog: P('loop1') },
  { errno: 'ENAMETOOLONG', prog: path.join(dir, 'n'.repeat(300)) },
  { errno: 'E2BIG', prog: '/bin/true', from: '127.0.0.2' },
  { errno: 'ETXTBSY', prog: P('busy') },
];

/** The server's "unable to run" line for one client from `from`. */
async function runLine(cmd: string, args: string[], prog: string, env: NodeJS.ProcessEnv, from = '127.0.0.1'): Promise<string> {
  const srv = await startServer(cmd, [...args, '127.0.0.1', '0', prog], { PATH: '/usr/bin:/bin', ...env });
  try {
    await new Promise<void>((resolve) => {
      const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: from });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.resume();
    });
    await waitFor('the line', () => /unable to run.*\n/.test(srv.stderr()), 5000).catch(() => undefined);
  } finally {
    await srv.stop();
  }
  return (/^.*unable to run.*$/m.exec(srv.stderr()) ?? [''])[0];
}

const SERVERS = [
  { name: 'tcpsvd', args: ['-l0', '-x', peersCdb] },
  { name: 'tcpserver', args: ['-v', '-H', '-R', '-l0', '-x', rulesCdb] },
];

for (const srv of SERVERS) {
  t.test(`${srv.name}: unable to run, in the reference's words`, needReference(srv.name), async (t) => {
    const busy = openSync(P('busy'), 'r+'); // open for writing: exec gives ETXTBSY
    t.teardown(() => closeSync(busy));
    chmodSync(P('busy'), 0o755);
    for (const c of CASES) {
      const pathEnv = c.path === undefined ? {} : { PATH: c.path };
      const want = await runLine(reference(srv.name), srv.args, c.prog, pathEnv, c.from);
      t.comment(`${c.errno}: ${want}`);
      for (const l of launchers()) {
        if (l.skip) continue;
        const got = await runLine(ours(srv.name), srv.args, c.prog, { ...pathEnv, UCSPI_LAUNCHER: l.name }, c.from);
        t.equal(got, want, `${c.errno}, ${l.name}`, { todo: l.name === 'spawn' ? c.spawnTodo : undefined });
      }
    }
  });
}
