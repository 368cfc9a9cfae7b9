// Every launcher through the same contract (src/launch/launch.ts): the socket
// as fd 0/1, stderr as fd 2 and nothing else, the exact environment, default
// signal dispositions, errno-style errors, exit reporting, and reaping that
// leaves child_process's own children alone.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { type EnvBase, type ExitStatus, INETD_STDIO, type Launcher, type LaunchSpec, UDP_STDIO } from '../src/launch/launch';
import { toBytes } from '../src/lib/bytes';
import { createNativeLauncher } from '../src/launch/native';
import { createSpawnLauncher } from '../src/launch/spawn';

const addonPath = path.join(__dirname, '..', 'build', 'Release', 'ucspi.node');

// Two launchers, a thousand children each; child_process spawns synchronously
// and slows the most under load: 38 s with the machine loaded ~12 deep, over
// the suite's 300 s at ~35 deep. Its own limit, well above that.
t.setTimeout(900_000);


interface Run {
  err: NodeJS.ErrnoException | null;
  pid: number;
  status?: ExitStatus;
  /** What the child wrote to the socket. */
  output: string;
  /** Set when exited() came before started(). */
  order?: string;
}

// Start argv on one accepted loopback connection; the client sends input, reads to EOF.
function run(l: Launcher, argv: string[], env: string[], input = '', lazyStart = false, base?: EnvBase,
             extra: Partial<LaunchSpec> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout running ${argv.join(' ')}`)), 15000);
    const result: Run = { err: null, pid: 0, output: '' };
    let exited = false;
    let eof = false;
    const finish = () => {
      if ((exited || result.err) && eof) {
        clearTimeout(timer);
        server.close();
        resolve(result);
      }
    };
    const server = net.createServer({ pauseOnConnect: true }, (sock) => {
      const fd = (sock as any)._handle.fd as number;
      l.launch({ argv, env, base, fd, owned: false, lazyStart, ...extra }, (err, pid) => {
        if (exited) result.order = 'exit before start';
        result.err = err;
        result.pid = pid;
        sock.destroy();
        finish();
      }, (status) => {
        result.status = status;
        exited = true;
        finish();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      c.setEncoding('utf8');
      c.on('data', (d) => (result.output += d));
      c.on('error', () => {});
      c.on('close', () => {
        eof = true;
        finish();
      });
      c.end(input);
    });
  });
}

const sh = (script: string) => ['/bin/sh', '-c', script];

// tap's processinfo hooks child_process and adds its own variables to every
// child it starts; they are the test runner's, not the launcher's.
function untapped(environ: string): string[] {
  return environ.split('\0').slice(0, -1)
    .filter((kv) => !kv.startsWith('_TAPJS_PROCESSINFO_') && !/^NODE_OPTIONS=.*@tapjs\/processinfo/.test(kv));
}

function launcherTests(t: Test, l: Launcher) {
  t.test('fd 0 and 1 are the socket, fd 2 is our stderr, nothing else is open', async (t) => {
    {
      const r = await run(l, sh('read line; echo "got $line"; ls /proc/$$/fd; readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2; grep flags /proc/$$/fdinfo/0'), [], 'ping\n');
      t.equal(r.err, null);
      const lines = r.output.trim().split('\n');
      t.equal(lines[0], 'got ping', 'reads the client on fd 0, writes to it on fd 1');
      let n = 1;
      while (/^\d+$/.test(lines[n] ?? '')) n++;
      const fds = lines.slice(1, n);
      const rest = lines.slice(n);
      // child_process cannot close what this process inherited without
      // close-on-exec from its own parent; a server on that path closes
      // them at start (closeInherited; tested in tcpsvd.test.ts), which
      // this test process, holding tap's descriptors, cannot do.
      const stray = l.name === 'spawn' ? strayFds() : [];
      t.same(fds, ['0', '1', '2'], 'exactly fds 0, 1, 2',
        stray.length ? { todo: `child_process passes on inherited fds ${stray.join(',')}` } : {});
      t.match(rest[0], /^socket:\[\d+\]$/);
      t.equal(rest[1], rest[0], 'fd 1 is the same socket as fd 0');
      t.equal(rest[2], fs.readlinkSync('/proc/self/fd/2'), "fd 2 is the server's stderr");
      const flags = parseInt(/flags:\s*(\d+)/.exec(rest[3] ?? '')?.[1] ?? 'x', 8);
      t.equal(flags & 0o4000, 0, 'the socket is blocking, as inetd-style services expect');
      t.equal(rest.length, 4);
      t.same(r.status, { pid: r.pid, code: 0, signal: null });
    }
  });

  t.test('the environment is exactly the one given', async (t) => {
    // The contract: byte strings (one char per byte); prog reads them back as UTF-8 here.
    const env = ['A=1', 'B=two words', 'EMPTY=', 'TCPREMOTEIP=127.0.0.1', 'Z=ü'];
    const r = await run(l, ['/bin/cat', '/proc/self/environ'], env.map(toBytes));
    t.same(untapped(r.output), env);
    const none = await run(l, ['/bin/cat', '/proc/self/environ'], []);
    t.same(untapped(none.output), [], 'an empty environment stays empty');
    // A base made once, then each child's own variables after it.
    const base = l.envBase(['A=1', 'B=two words', toBytes('Z=ü')]);
    for (const own of [['C=3'], [], ['D=4', 'E=']]) {
      const r = await run(l, ['/bin/cat', '/proc/self/environ'], own, '', false, base);
      t.same(untapped(r.output), ['A=1', 'B=two words', 'Z=ü', ...own], `base, then ${JSON.stringify(own)}`);
    }
    const odd = l.envBase(['A=1', 'NUL=a\0b']);
    const split = await run(l, ['/bin/cat', '/proc/self/environ'], ['C=3'], '', false, odd);
    t.ok(split.err !== null || !untapped(split.output).includes('NUL=a'), 'a stray NUL in a base never splits a variable');
  });

  t.test('argv is passed as given, argv[0] searched in PATH', async (t) => {
    const r = await run(l, ['sh', '-c', 'printf "%s|" "$0" "$@"', 'zero', 'a b', '', 'c'], []);
    t.equal(r.output, 'zero|a b||c|');
  });

  t.test('signals start at their defaults, none blocked', async (t) => {
    const own = fs.readFileSync('/proc/self/status', 'utf8');
    const ignMask = BigInt('0x' + /SigIgn:\s*([0-9a-f]+)/.exec(own)![1]);
    t.ok(ignMask & (1n << 12n), 'precondition: this server ignores SIGPIPE');
    const r = await run(l, ['/bin/cat', '/proc/self/status'], []);
    t.match(r.output, /\nSigBlk:\s*0+\n/);
    t.match(r.output, /\nSigIgn:\s*0+\n/);
    t.match(r.output, /\nSigCgt:\s*0+\n/);
  });

  t.test('a missing program is ENOENT, searched or not', async (t) => {
    for (const argv0 of ['no-such-program-ucspi', '/nonexistent/prog']) {
      const r = await run(l, [argv0], []);
      t.ok(r.err, argv0);
      t.equal(r.err?.code, 'ENOENT');
      t.equal(r.status, undefined, 'no exit for a child that never started');
    }
  });

  t.test('a program without execute permission is EACCES', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const prog = path.join(dir, 'noexec');
    fs.writeFileSync(prog, '#!/bin/sh\necho no\n', { mode: 0o644 });
    if (process.getuid?.() === 0) {
      // root may exec anything with one x bit: a directory is refused even for root.
      const r = await run(l, [dir], []);
      t.equal(r.err?.code, 'EACCES');
    }
    const r = await run(l, [prog], []);
    t.equal(r.err?.code, 'EACCES');
  });

  t.test('lazy start: started() still comes, before exited(), with the pid', async (t) => {
    for (const script of ['exit 5', 'sleep 0.3; exit 5']) {
      const r = await run(l, sh(script), [], '', true);
      t.equal(r.err, null);
      t.equal(r.order, undefined, `${script}: start before exit`);
      t.ok(r.pid > 0);
      t.same(r.status, { pid: r.pid, code: 5, signal: null });
    }
    const missing = await run(l, ['no-such-program-ucspi'], [], '', true);
    t.equal(missing.err?.code, 'ENOENT', 'a failed start is reported all the same');
  });

  t.test('exit codes and signals are reported', async (t) => {
    const ok = await run(l, sh('exit 7'), []);
    t.same(ok.status, { pid: ok.pid, code: 7, signal: null });
    const killed = await run(l, sh('kill -TERM $$'), []);
    t.same(killed.status, { pid: killed.pid, code: null, signal: 15 });
    const pipe = await run(l, sh('kill -PIPE $$'), []);
    t.same(pipe.status, { pid: pipe.pid, code: null, signal: 13 });
  });

  t.test('1000 quick children all reaped; child_process children unaffected', async (t) => {
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    c.on('error', () => {});
    const sock = await new Promise<net.Socket>((r) => server.once('connection', r));
    const fd = (sock as any)._handle.fd as number;
    const N = 1000;
    const codes: number[] = [];
    let errors = 0;
    // Meanwhile child_process runs its own children: their status must reach it.
    const cp = new Promise<number | null>((resolve) => {
      let left = 20;
      let bad: number | null = null;
      const one = () => execFile('/bin/sh', ['-c', 'exit 3'], (e: any) => {
        if (e?.code !== 3) bad = e?.code ?? 0;
        if (--left === 0) resolve(bad);
        else one();
      });
      one();
    });
    const all = new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      for (let i = 0; i < N; i++) {
        l.launch({ argv: ['/bin/true'], env: [], fd, owned: false }, (err) => { if (err) errors++; }, (s) => {
          codes.push(s.code ?? -1);
          if (codes.length === N) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
      // The bound starts once every launch is issued: child_process spawns
      // synchronously, and on a loaded machine the loop above alone has taken
      // over a minute, which a timer set before it counted against the exits.
      if (codes.length < N) timer = setTimeout(() => reject(new Error(`only ${codes.length} of ${N} exited`)), 60000);
    });
    await all;
    t.equal(await cp, null, 'every child_process child reported exit code 3');
    sock.destroy();
    c.destroy();
    server.close();
    t.equal(errors, 0);
    t.equal(codes.filter((x) => x === 0).length, N, 'every child reported exit 0');
    t.same(zombies(), [], 'no zombie left');
  });

  // inetd's programs (src/inetd/table.ts) through the same launcher.
  t.test("inetd's description: the path apart from argv[0], the socket as fd 2, a session, the user and groups", async (t) => {
    const script = 'tr "\\0" "\\n" < /proc/$$/cmdline | head -1; readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2; ' +
      'ps -o sid= -o pgid= -p $$; echo $$; id -u; id -G';
    const root = process.getuid!() === 0;
    const r = await run(l, ['myname', '-c', script], [], '', false, undefined,
      { path: '/bin/sh', stdio: INETD_STDIO, session: true, ...(root ? { uid: 65534, gids: [65534, 4, 1] } : {}) });
    t.equal(r.err, null);
    const lines = r.output.split('\n').slice(1);
    t.equal(r.output.split('\n')[0], 'myname', 'argv[0] is the name given, not the path run');
    t.match(lines[0], /^socket:\[\d+\]$/);
    const sock = lines[0];
    t.same([lines[1], lines[2]], [sock, sock], 'fd 1 and fd 2 are the socket too');
    const [sid, pgid] = lines[3].trim().split(/\s+/);
    t.same([sid, pgid], [lines[4], lines[4]], 'a session and process group of its own');
    if (root) {
      t.equal(lines[5], '65534', 'the user');
      // child_process sets the gid alone: Node clears the supplementary groups when it changes ids.
      t.same(lines[6].split(' ').map(Number).sort((a, b) => a - b), l.name === 'native' ? [1, 4, 65534] : [65534],
        l.name === 'native' ? 'the groups, supplementary ones included' : 'the gid, no supplementary group');
    }
    t.same(r.status, { pid: r.pid, code: 0, signal: null });
    // The path is not searched: a bare name is tried as it is, relative to the directory.
    const bare = await run(l, ['sh', '-c', 'echo no'], [], '', false, undefined, { path: 'sh', stdio: INETD_STDIO });
    t.equal(bare.err?.code, 'ENOENT');
    t.equal(bare.output, '');
    // Without those, fd 2 is still the server's and the session ours (tcpsvd's contract).
    const plain = await run(l, sh('readlink /proc/$$/fd/2; ps -o sid= -p $$'), []);
    t.equal(plain.output.split('\n')[0], fs.readlinkSync('/proc/self/fd/2'));
    t.equal(Number(plain.output.split('\n')[1]), Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[3]));
  });

  t.test("udpsvd's description: the socket as fd 0 only, the server's stderr as fds 1 and 2", async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const out = path.join(dir, 'out');
    // Its fd 1 is no way back to the client: the program writes its findings to a file.
    const r = await run(l, sh(`printf '%s\\n' "$(readlink /proc/$$/fd/0)" "$(readlink /proc/$$/fd/1)" "$(readlink /proc/$$/fd/2)" > ${out}`), [],
      '', false, undefined, { stdio: UDP_STDIO });
    t.equal(r.err, null);
    const [f0, f1, f2] = fs.readFileSync(out, 'utf8').split('\n');
    t.match(f0, /^socket:\[\d+\]$/, 'fd 0 is the socket');
    const stderr = fs.readlinkSync('/proc/self/fd/2');
    t.same([f1, f2], [stderr, stderr], "fds 1 and 2 are the server's stderr");
    t.same(r.status, { pid: r.pid, code: 0, signal: null });
  });
}

// Descriptors of this process above 2 without close-on-exec: inherited from its parent.
function strayFds(): number[] {
  return fs.readdirSync('/proc/self/fdinfo').map(Number).filter((fd) => {
    if (fd < 3) return false;
    try {
      const flags = parseInt(/flags:\s*(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);
      return (flags & 0o2000000) === 0;
    } catch {
      return false;
    }
  });
}

// Children of this process that exited and were never reaped.
function zombies(): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' && Number(f[1]) === process.pid) out.push(Number(name));
  }
  return out;
}

t.test('native launcher', { skip: fs.existsSync(addonPath) ? false : 'addon not built (node-gyp)' }, async (t) => {
  const l = createNativeLauncher();
  t.ok(l, 'the built addon yields a launcher');
  if (!l) return;
  t.equal(l.name, 'native');
  t.equal(createNativeLauncher(), l, 'one launcher per process');
  launcherTests(t, l);
});

t.test('child_process launcher', async (t) => {
  launcherTests(t, createSpawnLauncher());
});
