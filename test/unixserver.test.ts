// unixserver, unixclient and unixcat against Debian's ucspi-unix 1.0
// (/usr/bin/unixserver, unixclient, unixcat): the environment prog gets, the
// bytes, the -v log lines, the usage errors and exit codes, the socket file
// (mode, owner, a stale one, a long path, a directory or FIFO in the way),
// and -c with a client that stalls. Ours runs on the addon's path and on
// Node's alone (UCSPI_LAUNCHER=spawn), where the peer's credentials are not
// known (the UNIXREMOTE* variables are unset, as the original without SO_PEERCRED).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { findReference, killGroup, needPackage, ours, scratch, spawn, waitFor } from './helpers/common';
import { launchers } from './helpers/net';

const REF = findReference('unixserver');
const REF_CLIENT = findReference('unixclient');
const need = { skip: needPackage('ucspi-unix', !!REF && !!REF_CLIENT, 'unixserver and unixclient') };
const tmp = scratch('unixserver-test');
const baseEnv = { PATH: '/usr/bin:/bin', FOO: 'bar', PROTO: 'stale', UNIXREMOTEEUID: 'stale' };

interface Server {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv): Server {
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], argv0: 'unixserver' });
  let out = '', err = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return { proc, out: () => out, err: () => err, exited };
}

/** Listening: the first status line (-v), which both print once listen(2) is done (the file exists from bind on). */
async function listening(s: Server): Promise<void> {
  await waitFor('the first status line', () => /^unixserver: status: 0\//m.test(s.out()));
}

/**
 * unixclient (Debian's unless told) with prog sending input and reading the
 * connection (fd 6) to its end; the server's prog must end by itself (the
 * client never shuts its side down).
 */
function client(sock: string, input = '', clientCmd = REF_CLIENT!, env: NodeJS.ProcessEnv = process.env): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn(clientCmd, [sock, 'sh', '-c', 'exec 3<&0; cat >&7 <&3 & cat <&6; wait'], { stdio: ['pipe', 'pipe', 'inherit'], env });
    let out = '';
    p.stdout!.on('data', (d) => { out += d; });
    p.stdin!.end(input);
    p.once('exit', (code) => resolve({ out, code }));
  });
}

async function stop(s: Server): Promise<void> {
  s.proc.kill('SIGTERM');
  await s.exited;
  killGroup(s.proc.pid);
}

function envOf(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

const pidLines = (log: string) => [...log.matchAll(/^unixserver: pid (\d+)$/gm)].map((m) => m[1]);
const normLog = (log: string) => log.replace(/\b(pid|end) \d+/g, '$1 N');

for (const l of launchers()) {
  t.test(`prog's environment and the -v lines, as Debian's unixserver gives them (${l.name})`, { ...need, skip: need.skip || l.skip }, async (t) => {
    const seen: Record<string, { env: Map<string, string>; log: string }> = {};
    const sock = path.join(tmp('env'), 's');
    for (const [who, cmd] of [['debian', REF!], ['ours', ours('unixserver')]] as const) {
      const s = start(cmd, ['-v', sock, '/usr/bin/env'], { ...baseEnv, UCSPI_LAUNCHER: who === 'ours' ? l.name : '' });
      await listening(s);
      const c = await client(sock);
      t.equal(c.code, 0, `${who}: the client ends 0`);
      await waitFor('end line', () => /status: 0\/10\n.*\n.*\n.*status: 0\/10\n/s.test(s.out()));
      await stop(s);
      const env = envOf(c.out);
      // UNIXLOCALPID is prog's own pid: the pid of the log's "pid" line.
      t.same(pidLines(s.out()), [env.get('UNIXLOCALPID')], `${who}: UNIXLOCALPID is the started pid`);
      t.match(env.get('UNIXREMOTEPID') ?? '', who === 'ours' && l.name === 'spawn' ? '' : /^\d+$/, `${who}: UNIXREMOTEPID`);
      env.delete('UNIXLOCALPID');
      env.delete('UNIXREMOTEPID');
      env.delete('UCSPI_LAUNCHER');
      seen[who] = { env, log: normLog(s.out()) };
      t.equal(s.err(), '', `${who}: nothing on stderr`);
    }
    const want = seen.debian.env;
    if (l.name === 'spawn') {
      // Node alone: no SO_PEERCRED, so no UNIXREMOTE* at all (the server's stale one is not passed on either).
      want.delete('UNIXREMOTEEUID');
      want.delete('UNIXREMOTEEGID');
      t.same([...seen.ours.env.entries()].sort(), [...want.entries()].sort(), 'the same variables');
    } else {
      t.same([...seen.ours.env.entries()].sort(), [...want.entries()].sort(), 'the same variables');
      // The connection's variables in ucspi-unix's order, after the server's own (a name the
      // server had, here PROTO and UNIXREMOTEEUID, keeps its place under the original: ours
      // puts it with the others). (The server's own come in the order bin/'s sh prelude gives.)
      const order = (m: Map<string, string>) => [...m.keys()].filter((k) => k === 'PROTO' || k.startsWith('UNIX'));
      const ORDER = ['UNIXREMOTEEGID', 'UNIXREMOTEEUID', 'PROTO', 'UNIXLOCALGID', 'UNIXLOCALPATH', 'UNIXLOCALUID'];
      t.same(order(want).filter((k) => !(k in baseEnv)), ORDER.filter((k) => !(k in baseEnv)), 'Debian\'s order');
      t.same(order(seen.ours.env).slice(-6), ORDER, 'in the same order');
    }
    t.equal(seen.ours.env.get('UNIXLOCALUID'), String(process.getuid!()));
    t.equal(seen.ours.log, seen.debian.log, 'the same -v lines');
  });
}

t.test('bytes both ways, a banner, and unixclient and unixcat of ours against either server', need, async (t) => {
  for (const srv of [REF!, ours('unixserver')]) {
    const sock = path.join(tmp('bytes'), 's');
    const s = start(srv, ['-v', '-B', 'hello\n', sock, '--', 'sh', '-c', 'echo "$PROTO"; read -r l; echo "$l" | tr a-z A-Z'], baseEnv);
    await listening(s);
    // (Ours without the addon too: prog as its child, the socket made blocking on 6 and 7.)
    for (const [cl, env] of [[REF_CLIENT!, {}], [ours('unixclient'), {}], [ours('unixclient'), { UCSPI_NO_NATIVE: '1' }]] as const) {
      const c = await client(sock, 'abc\n', cl, { ...process.env, ...env });
      t.equal(c.out, 'hello\nUNIX\nABC\n', `${cl} ${JSON.stringify(env)} to ${srv}`);
    }
    await stop(s);
    t.notOk(fs.existsSync(sock), 'TERM removes the socket file');
    const s2 = start(srv, ['-v', '-B', 'hello\n', sock, '/bin/echo', 'cat me'], baseEnv);
    await listening(s2);
    const cat = spawnSync(ours('unixcat'), [sock], { encoding: 'latin1', timeout: 10000, input: '' });
    t.equal(cat.stdout, 'hello\ncat me\n', 'unixcat prints what the server sends');
    await stop(s2);
  }
  // unixclient's own environment: the server's pid, uid and gid as UNIXREMOTE*.
  const sock = path.join(tmp('client-env'), 's');
  const s = start(ours('unixserver'), ['-v', sock, 'true'], baseEnv);
  await listening(s);
  for (const cl of [REF_CLIENT!, ours('unixclient')]) {
    const r = spawnSync(cl, [sock, '/usr/bin/env'], { encoding: 'latin1', timeout: 10000, env: baseEnv });
    const env = envOf(r.stdout);
    t.equal(env.get('UNIXREMOTEPID'), String(s.proc.pid), `${cl}: UNIXREMOTEPID is the server's`);
    t.equal(env.get('PROTO'), 'UNIX');
    t.equal(env.get('UNIXLOCALPATH'), sock);
    t.equal(env.get('UNIXREMOTEEUID'), String(process.getuid!()));
  }
  await stop(s);
});

function runBoth(args: string[], env: NodeJS.ProcessEnv = baseEnv) {
  const run = (file: string) => {
    const r = spawnSync(file, args, { argv0: 'unixserver', encoding: 'latin1', env, timeout: 15000, killSignal: 'SIGKILL' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { want: run(REF!), got: run(ours('unixserver')) };
}

t.test('usage errors: the same words on stderr, the same exit code (1)', need, async (t) => {
  const d = tmp('usage');
  const sock = path.join(d, 's');
  const CASES = [[], [sock], ['-x', sock, 'true'], ['-c'], ['-c', 'x', sock, 'true'], ['-U', sock, 'true'],
    ['-p', '9', sock, 'true'], ['-m', '8', sock, 'true'], ['-b', '1x', sock, 'true'], ['-u', '-', sock, 'true'],
    ['-O', sock, 'true'], ['-g', ' x', sock, 'true'],
    // glibc's getopt permutes: an option after the socket is still unixserver's.
    [sock, 'sh', '-c', 'x'], [sock, 'true', '-z']];
  for (const args of CASES) {
    const { want, got } = runBoth(args, { PATH: '/usr/bin:/bin' });
    t.same(got, want, `unixserver ${args.join(' ')}`);
    t.equal(got.status, 1);
  }
  t.notOk(fs.existsSync(sock), 'no socket file left');
});

for (const l of launchers()) {
  t.test(`the socket file: a path too long, a directory, nowhere to bind (${l.name})`, { skip: need.skip || l.skip }, async (t) => {
    const d = tmp('path');
    fs.mkdirSync(path.join(d, 'dir'));
    // (Node's own bind cuts a long path short, and calls every failure EACCES.)
    for (const sock of [path.join(d, 'x'.repeat(120)), path.join(d, 'dir'), path.join(d, 'none', 's')]) {
      const { want, got } = runBoth([sock, 'true'], { ...baseEnv, UCSPI_LAUNCHER: l.name });
      t.equal(got.status, want.status, `${sock.slice(0, 60)}: exit code`);
      t.equal(got.stderr.split('\n')[0], want.stderr.split('\n')[0], 'perror\'s line first');
    }
    t.ok(fs.statSync(path.join(d, 'dir')).isDirectory(), 'the directory is still there');
    t.same(fs.readdirSync(d), ['dir'], 'no other file made');
  });
}

t.test('a stale socket file is replaced; a FIFO or file in the way is not removed (ours)', need, async (t) => {
  for (const srv of [REF!, ours('unixserver')]) {
    const sock = path.join(tmp('stale'), 's');
    // A server killed with SIGKILL leaves its socket file behind.
    const dead = start(srv, ['-v', sock, 'true'], baseEnv);
    await listening(dead);
    killGroup(dead.proc.pid);
    await dead.exited;
    t.ok(fs.lstatSync(sock).isSocket(), 'a stale socket file');
    const s = start(srv, ['-v', sock, '/bin/echo', 'fresh'], baseEnv);
    await listening(s);
    t.equal((await client(sock)).out, 'fresh\n', `${srv}: served on the stale socket's path`);
    await stop(s);
  }
  // Debian's removes whatever is at the path (a FIFO, a regular file) and binds;
  // ours removes only a socket, and fails as the original fails on a directory.
  for (const make of [(p: string) => spawnSync('mkfifo', [p]), (p: string) => fs.writeFileSync(p, 'data\n')]) {
    const sock = path.join(tmp('other'), 's');
    make(sock);
    const r = spawnSync(ours('unixserver'), [sock, 'true'], { encoding: 'latin1', timeout: 15000 });
    t.equal(r.status, 1);
    t.equal(r.stderr, `bind: Address already in use\nunixserver: ${sock}: exists and is not a socket: not removed\n`);
    t.notOk(fs.lstatSync(sock).isSocket(), 'left in place');
  }
});

t.test('-p, -m, -o and -r set the socket file\'s mode and owner as Debian\'s', need, async (t) => {
  const root = process.getuid!() === 0;
  const CASES = [[], ['-p', '640'], ['-m', '027'], ['-m', '077', '-p', '0604'], ...(root ? [['-o', '65534', '-r', '65534']] : [])];
  for (const opts of CASES) {
    const seen: string[] = [];
    for (const srv of [REF!, ours('unixserver')]) {
      const sock = path.join(tmp('mode'), 's');
      const s = start(srv, ['-v', ...opts, sock, 'true'], baseEnv);
      await listening(s);
      const st = fs.lstatSync(sock);
      seen.push(`${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
      await stop(s);
    }
    t.equal(seen[1], seen[0], `unixserver ${opts.join(' ')}: ${seen[0]}`);
  }
  // -d keeps the file at TERM.
  const sock = path.join(tmp('keep'), 's');
  const s = start(ours('unixserver'), ['-v', '-d', sock, 'true'], baseEnv);
  await listening(s);
  await stop(s);
  t.ok(fs.lstatSync(sock).isSocket(), '-d: the socket file stays');
});

t.test('-c 1 and a client that stalls: the next one waits, then is served', need, async (t) => {
  for (const srv of [REF!, ours('unixserver')]) {
    const sock = path.join(tmp('stall'), 's');
    const s = start(srv, ['-v', '-c', '1', sock, '--', 'sh', '-c', 'echo "$UNIXLOCALPATH"; read -r l; echo "$l"'], baseEnv);
    await listening(s);
    // The first client connects and sends nothing: prog waits on it.
    const staller = spawn(REF_CLIENT!, [sock, 'sh', '-c', 'cat <&6'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await waitFor('the first started', () => /status: 1\/1\n/.test(s.out()));
    const second = client(sock, 'two\n');
    let done = false;
    void second.then(() => { done = true; });
    // The second waits in the backlog: no second start while the first stalls.
    await new Promise((r) => setTimeout(r, 300));
    t.notOk(done, 'the second client is not served while -c is full');
    t.equal(pidLines(s.out()).length, 1);
    killGroup(staller.pid);
    const c = await second;
    t.equal(c.out, `${sock}\ntwo\n`, `${srv}: the second is served once the first ends`);
    await stop(s);
  }
});

t.test('signals and -c 0 as Debian\'s: HUP ignored, INT and QUIT remove the socket file and exit 0', need, async (t) => {
  for (const srv of [REF!, ours('unixserver')]) {
    for (const sig of ['SIGINT', 'SIGQUIT'] as const) {
      const sock = path.join(tmp('sig'), 's');
      const s = start(srv, ['-v', sock, '/bin/echo', 'up'], baseEnv);
      await listening(s);
      s.proc.kill('SIGHUP');
      s.proc.kill('SIGALRM');
      t.equal((await client(sock)).out, 'up\n', `${srv}: serves after HUP and ALRM`);
      s.proc.kill(sig);
      t.equal(await s.exited, 0, `${srv}: ${sig} exits 0`);
      t.notOk(fs.existsSync(sock), `${srv}: ${sig} removes the socket file`);
    }
  }
  const sock = path.join(tmp('c0'), 's');
  const { want, got } = runBoth(['-c', '0', sock, 'true']);
  t.same(got, want, '-c 0: "wait: No child processes", exit 1');
  t.notOk(fs.existsSync(sock), '-c 0: no socket file left');
});

t.test('our long options: --log-json lines and --status\'s file', need, async (t) => {
  const d = tmp('long');
  const sock = path.join(d, 's');
  const status = path.join(d, 'status');
  const s = start(ours('unixserver'), ['--log-json', `--status=${status}`, '--status-interval=10', sock, '/bin/echo', 'json'], baseEnv);
  await waitFor('the status file', () => fs.existsSync(status));
  t.equal((await client(sock)).out, 'json\n');
  await waitFor('the end line', () => /"event":"end"/.test(s.out()));
  const lines = s.out().trim().split('\n').map((l) => JSON.parse(l));
  t.match(lines[0], { prog: 'unixserver', event: 'start', pid: Number, peer_uid: process.getuid!(), peer_pid: Number });
  t.match(lines[1], { event: 'end', pid: lines[0].pid, exit: 0 });
  await waitFor('accepted 1 in the status file', () => /"accepted":1\b/.test(fs.readFileSync(status, 'utf8')));
  await stop(s);
  const bad = spawnSync(ours('unixserver'), ['--status-interval=1', sock, 'true'], { encoding: 'latin1', timeout: 15000 });
  t.equal(bad.status, 100, 'a bad value of our option exits 100');
  t.match(bad.stderr, /bad --status-interval value/);
});

t.test('-u and -g: the program runs under them, UNIXLOCALUID/GID say so', { skip: need.skip || (process.getuid!() !== 0 && 'needs root') }, async (t) => {
  for (const srv of [REF!, ours('unixserver')]) {
    const d = tmp('ids');
    fs.chmodSync(d, 0o755);
    const sock = path.join(d, 's');
    const s = start(srv, ['-v', '-u', '65534', '-g', '65534', sock, '/usr/bin/env'], baseEnv);
    await listening(s);
    const env = envOf((await client(sock)).out);
    t.equal(env.get('UNIXLOCALUID'), '65534', `${srv}: UNIXLOCALUID`);
    t.equal(env.get('UNIXLOCALGID'), '65534', `${srv}: UNIXLOCALGID`);
    await stop(s);
  }
});

for (const l of launchers()) {
  t.test(`prog starts with HUP, PIPE and ALRM ignored, as under Debian's (${l.name})`, { skip: need.skip || l.skip }, async (t) => {
    const seen: string[] = [];
    for (const srv of [REF!, ours('unixserver')]) {
      const sock = path.join(tmp('sigign'), 's');
      const s = start(srv, ['-v', sock, '--', 'sh', '-c', 'grep SigIgn /proc/self/status'], { ...baseEnv, UCSPI_LAUNCHER: l.name });
      await listening(s);
      seen.push((await client(sock)).out);
      await stop(s);
    }
    t.match(seen[0], /^SigIgn:\s+[0-9a-f]*3[0-9a-f]{2}[13579bdf]\n$/, 'Debian\'s: HUP (1), PIPE (13), ALRM (14)');
    t.equal(seen[1], seen[0]);
  });
}
