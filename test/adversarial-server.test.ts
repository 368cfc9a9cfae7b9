// Probes an adversary (or a careless environment) can aim at the servers, run
// against ours and, where they apply, the reference binaries beside it: every
// one must leave the server listening and serving. Each server runs in its own
// process group, killed at teardown whatever happened.
import t, { type Test } from 'tap';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import * as path from 'node:path';
import { BIN, listeners, listeningPort, parseEnv, quietDnsAddr } from './helpers/net';

// Many servers, some under thousands of clients, on a shared machine: more than the default file timeout.
t.setTimeout(600000);
// Every test has its own servers and directories: two run at a time, and
// cases that mostly wait (a bound on a crowd, a signal) run side by side
// within their test.
t.jobs = 2;

const OURS_TCPSERVER = path.join(BIN, 'tcpserver');
const OURS_TCPSVD = path.join(BIN, 'tcpsvd');

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

interface Server {
  proc: ChildProcess;
  port: number;
  pid: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** A server in its own process group, under `sh -c 'prelude; exec "$@"'` (ulimit and the like). */
async function start(t: Test, prelude: string, cmd: string, args: string[],
                     env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const { NODE_OPTIONS: nodeOptions, ...rest } = env;
  const fullEnv = { PATH: '/usr/bin:/bin', DNSCACHEIP: await quietDnsAddr(), ...rest, ADVERSARIAL_NODE_OPTIONS: nodeOptions };
  // The test runner adds its own NODE_OPTIONS to what it spawns: the server gets only the test's.
  const setOptions = nodeOptions === undefined ? 'unset NODE_OPTIONS'
    : 'NODE_OPTIONS=$ADVERSARIAL_NODE_OPTIONS; export NODE_OPTIONS';
  const proc = spawn('/bin/sh', ['-c', `${setOptions}; unset ADVERSARIAL_NODE_OPTIONS\n${prelude}\nexec "$@"`, 'sh', cmd, ...args],
    { env: fullEnv, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = '';
  proc.stderr!.on('data', (d) => { err += d; });
  let exited = false;
  proc.on('exit', () => { exited = true; });
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, sig);
    } catch {
      // already gone
    }
  };
  t.teardown(() => kill('SIGKILL'));
  let port: number | undefined;
  for (const end = Date.now() + 8000; !exited && !port && Date.now() < end; await sleep(20)) {
    port = listeningPort(proc.pid!);
  }
  if (!port) {
    kill('SIGKILL');
    throw new Error(`${cmd} did not listen: ${err}`);
  }
  return {
    proc, port, pid: proc.pid!,
    stderr: () => err,
    async stop() {
      if (exited) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      kill('SIGTERM');
      const k = setTimeout(() => kill('SIGKILL'), 3000);
      await done;
      clearTimeout(k);
    },
  };
}

/** n clients at once, each reading to EOF; how many read `want`. Bounded by ms. */
function crowd(port: number, n: number, want: string, ms: number): Promise<{ ok: number; failed: number }> {
  return new Promise((resolve) => {
    let ok = 0, failed = 0;
    const socks: net.Socket[] = [];
    const timer = setTimeout(() => {
      for (const s of socks) s.destroy();
      resolve({ ok, failed: n - ok });
    }, ms);
    for (let i = 0; i < n; i++) {
      const s = net.connect(port, '127.0.0.1');
      socks.push(s);
      let data = '', done = false;
      const fin = () => {
        if (done) return;
        done = true;
        if (data.includes(want)) ok++;
        else failed++;
        if (ok + failed === n) {
          clearTimeout(timer);
          resolve({ ok, failed });
        }
      };
      s.on('data', (d) => { data += d; });
      s.on('error', fin);
      s.on('close', fin);
    }
  });
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Live children of pid (every thread's). */
function childCount(pid: number): number {
  let n = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      n += readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter((x) => x !== '' && x !== '\n').length;
    } catch {
      // thread gone
    }
  }
  return n;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const refs: Record<string, string | false> = {
  tcpserver: existsSync('/usr/bin/tcpserver') ? false : '/usr/bin/tcpserver (ucspi-tcp) not installed',
  tcpsvd: existsSync('/usr/bin/tcpsvd') ? false : '/usr/bin/tcpsvd (ipsvd) not installed',
};

// -b 250: every client fits in the backlog at once, so none waits for SYN retries.
const emfileCases: Array<{ name: string; cmd: string; args: string[]; skip: string | false }> = [
  { name: 'ours tcpserver', cmd: OURS_TCPSERVER, args: ['-v', '-H', '-R', '-l0', '-b', '250', '-c', '100'], skip: false },
  { name: 'ours tcpsvd without -l', cmd: OURS_TCPSVD, args: ['-v', '-b', '250', '-c', '100'], skip: false },
  { name: '/usr/bin/tcpserver', cmd: '/usr/bin/tcpserver', args: ['-v', '-H', '-R', '-l0', '-b', '250', '-c', '100'],
    skip: refs.tcpserver },
  { name: '/usr/bin/tcpsvd without -l', cmd: '/usr/bin/tcpsvd', args: ['-v', '-b', '250', '-c', '100'], skip: refs.tcpsvd },
];

t.test('EMFILE: ulimit -n 30, 200 clients, -c 100: every client served, server still listening', async (t) => {
  t.jobs = 4;
  for (const c of emfileCases) {
    t.test(c.name, { skip: c.skip }, async (t) => {
      const srv = await start(t, 'ulimit -n 30', c.cmd, [...c.args, '127.0.0.1', '0', 'sh', '-c', 'sleep 0.2; echo ok']);
      const r = await crowd(srv.port, 200, 'ok', 60000);
      t.same(r, { ok: 200, failed: 0 }, 'all 200 served');
      t.ok(alive(srv.pid), 'server still running');
      t.equal(listeningPort(srv.pid), srv.port, 'still listening');
      t.same(await crowd(srv.port, 5, 'ok', 20000), { ok: 5, failed: 0 }, 'and serving afterwards');
      await srv.stop();
    });
  }
});

t.test('EMFILE with the default backlog: the server never exits, and serves once descriptors free up', async (t) => {
  t.jobs = 4;
  for (const c of emfileCases) {
    t.test(c.name, { skip: c.skip }, async (t) => {
      const args = c.args.filter((a, i, all) => a !== '-b' && all[i - 1] !== '-b');
      const srv = await start(t, 'ulimit -n 30', c.cmd, [...args, '127.0.0.1', '0', 'sh', '-c', 'sleep 0.2; echo ok']);
      // Clients beyond the backlog of 20 wait for SYN retries: not all are done within the bound.
      const r = await crowd(srv.port, 200, 'ok', 8000);
      t.ok(r.ok > 0, `some served meanwhile (${r.ok})`);
      t.ok(alive(srv.pid), 'server still running');
      t.equal(listeningPort(srv.pid), srv.port, 'still listening');
      t.same(await crowd(srv.port, 5, 'ok', 30000), { ok: 5, failed: 0 }, 'and serving afterwards');
      await srv.stop();
    });
  }
});

t.test('a live child costs the server no descriptor: -c 1100 under a 1024 limit', async (t) => {
  const cases = [
    { name: 'ours tcpserver', cmd: OURS_TCPSERVER, skip: false as string | false },
    { name: '/usr/bin/tcpserver', cmd: '/usr/bin/tcpserver', skip: refs.tcpserver },
  ];
  for (const c of cases) {
    t.test(c.name, { skip: c.skip }, async (t) => {
      const srv = await start(t, 'ulimit -n 1024', c.cmd,
        ['-H', '-R', '-l0', '-b', '1200', '-c', '1100', '127.0.0.1', '0', 'sh', '-c', 'sleep 6; echo ok']);
      const before = fdCount(srv.pid);
      const crowdDone = crowd(srv.port, 1100, 'ok', 120000);
      // Once every child is running, the server holds about what it held idle.
      let kids = 0;
      for (const end = Date.now() + 60000; kids < 1100 && Date.now() < end; await sleep(100)) kids = childCount(srv.pid);
      t.equal(kids, 1100, 'all 1100 children alive at once');
      t.ok(fdCount(srv.pid) <= before + 20, `descriptors with 1100 children: ${fdCount(srv.pid)} (idle ${before})`);
      t.same(await crowdDone, { ok: 1100, failed: 0 }, 'all 1100 served');
      t.notMatch(srv.stderr(), /EMFILE|too many open files/i, 'no descriptor shortage');
      await srv.stop();
    });
  }
});

/** Resolves with how the process ended; kills its group if it has not ended within ms. */
function ended(s: Server, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) {
      resolve({ code: s.proc.exitCode, signal: s.proc.signalCode });
      return;
    }
    const t = setTimeout(() => {
      resolve({ code: null, signal: null });
      void s.stop();
    }, ms);
    s.proc.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

t.test('SIGUSR1 does what it does to the originals: the server dies, no inspector opens', async (t) => {
  t.jobs = 4;
  const cases = [
    { name: 'ours tcpserver', cmd: OURS_TCPSERVER, args: ['-H', '-R', '-l0'], skip: false as string | false },
    { name: 'ours tcpsvd', cmd: OURS_TCPSVD, args: ['-l0'], skip: false as string | false },
    { name: '/usr/bin/tcpserver', cmd: '/usr/bin/tcpserver', args: ['-H', '-R', '-l0'], skip: refs.tcpserver },
    { name: '/usr/bin/tcpsvd', cmd: '/usr/bin/tcpsvd', args: ['-l0'], skip: refs.tcpsvd },
  ];
  for (const c of cases) {
    t.test(c.name, { skip: c.skip }, async (t) => {
      const srv = await start(t, ':', c.cmd, [...c.args, '127.0.0.1', '0', 'echo', 'ok']);
      process.kill(srv.pid, 'SIGUSR1');
      t.same(await ended(srv, 5000), { code: null, signal: 'SIGUSR1' }, 'killed by SIGUSR1');
    });
  }
  t.test('ours tcpsvd, SIGUSR2 too', async (t) => {
    const srv = await start(t, ':', OURS_TCPSVD, ['-l0', '127.0.0.1', '0', 'echo', 'ok']);
    process.kill(srv.pid, 'SIGUSR2');
    t.same(await ended(srv, 5000), { code: null, signal: 'SIGUSR2' }, 'killed by SIGUSR2');
  });
});

t.test('SIGUSR1 to supervise, svscan and multilog: the process dies', async (t) => {
  t.jobs = 4;
  const dir = mkdtempSync(path.join(tmpdir(), 'adversarial-usr1-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'svc'));
  writeFileSync(path.join(dir, 'svc', 'run'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  mkdirSync(path.join(dir, 'scan'));
  const cases = [
    { name: 'supervise', args: [path.join(dir, 'svc')] },
    { name: 'svscan', args: [path.join(dir, 'scan')] },
    { name: 'multilog', args: [path.join(dir, 'log')] },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const proc = spawn(path.join(BIN, c.name), c.args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true,
        env: { PATH: '/usr/bin:/bin' } });
      t.teardown(() => {
        try {
          process.kill(-proc.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      });
      const r = new Promise<NodeJS.Signals | null>((resolve) => {
        const k = setTimeout(() => resolve(null), 8000);
        proc.once('exit', (_code, sig) => { clearTimeout(k); resolve(sig); });
      });
      await sleep(1500); // started and set up its handlers
      process.kill(proc.pid!, 'SIGUSR1');
      t.equal(await r, 'SIGUSR1', 'killed by SIGUSR1');
    });
  }
});

t.test('Node settings in the environment reach prog, never the server\'s own Node', async (t) => {
  t.jobs = 4;
  const dir = mkdtempSync(path.join(tmpdir(), 'adversarial-env-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const marker = path.join(dir, 'required-ran');
  const evil = path.join(dir, 'evil.js');
  writeFileSync(evil, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
  const cov = path.join(dir, 'coverage');
  mkdirSync(cov);
  const env: NodeJS.ProcessEnv = {
    NODE_OPTIONS: `--require ${evil} --inspect=127.0.0.1:0`,
    NODE_PATH: dir, NODE_V8_COVERAGE: cov, NODE_DEBUG: 'net,child_process,fs', UV_THREADPOOL_SIZE: '77',
    NODE_EXTRA_CA_CERTS: '', NODE_REDIRECT_WARNINGS: path.join(dir, 'warnings'),
    OPENSSL_CONF: path.join(dir, 'openssl.cnf'), UCSPI_SAVED_NODE_PATH: 'kept as is', UCSPI_NOFILE: 'admin',
  };
  for (const launcher of ['native', 'spawn']) {
    for (const cmd of [OURS_TCPSERVER, OURS_TCPSVD]) {
      t.test(`${path.basename(cmd)}, launcher ${launcher}`, async (t) => {
        const args = cmd === OURS_TCPSERVER ? ['-H', '-R', '-l0'] : ['-l0'];
        const srv = await start(t, ':', cmd, [...args, '127.0.0.1', '0', '/usr/bin/env'],
          { ...env, UCSPI_LAUNCHER: launcher });
        const out = await crowdText(srv.port);
        t.equal(listeners(srv.pid).length, 1, 'the server listens on its port only (no inspector)');
        t.notOk(existsSync(marker), 'NODE_OPTIONS --require did not run in the server');
        const seen = parseEnv(out);
        for (const [k, v] of Object.entries(env)) t.equal(seen[k], v, `prog sees ${k} as set`);
        t.same(Object.keys(seen).filter((k) => /^UCSPI_(SAVED_|START_|NOFILE)/.test(k) && !(k in env)), [],
          'no moved-aside name reaches prog');
        await srv.stop();
        t.notMatch(srv.stderr(), /\bNET\b|CHILD_PROCESS|\bFS\b/, 'no NODE_DEBUG output from the server');
        t.same(readdirSync(cov), [], 'the server wrote no V8 coverage');
        t.notOk(existsSync(path.join(dir, 'warnings')), 'no redirected warnings file');
      });
    }
  }
});

t.test('children get the descriptor limit the server was started with', async (t) => {
  t.jobs = 4;
  const cases = [
    { name: 'ours tcpserver, native', cmd: OURS_TCPSERVER, env: { UCSPI_LAUNCHER: 'native' }, skip: false as string | false },
    { name: 'ours tcpserver, spawn', cmd: OURS_TCPSERVER, env: { UCSPI_LAUNCHER: 'spawn' }, skip: false as string | false },
    { name: '/usr/bin/tcpserver', cmd: '/usr/bin/tcpserver', env: {}, skip: refs.tcpserver },
  ];
  for (const c of cases) {
    t.test(c.name, { skip: c.skip }, async (t) => {
      const srv = await start(t, 'ulimit -S -n 256', c.cmd,
        ['-H', '-R', '-l0', '127.0.0.1', '0', 'sh', '-c', 'ulimit -S -n; ulimit -H -n'], c.env);
      const [soft, hard] = (await crowdText(srv.port)).trim().split('\n');
      t.equal(soft, '256', 'soft limit as set');
      t.not(hard, '256', 'hard limit untouched');
      await srv.stop();
    });
  }
});

/** One client's whole answer. */
function crowdText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let d = '';
    const k = setTimeout(() => { s.destroy(); reject(new Error('no answer')); }, 8000);
    s.on('data', (x) => { d += x; });
    s.on('error', (e) => { clearTimeout(k); reject(e); });
    s.on('close', () => { clearTimeout(k); resolve(d); });
  });
}

/** Whether the server closes a connection from local within ms (dropped or served). */
function closedWithin(port: number, local: string, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: local });
    let d = '';
    const k = setTimeout(() => { s.destroy(); resolve(null); }, ms);
    s.on('data', (x) => { d += x; });
    s.on('error', () => { clearTimeout(k); resolve(d); });
    s.on('close', () => { clearTimeout(k); resolve(d); });
  });
}

t.test('rule sources that are not regular files fail closed; the server keeps serving', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'adversarial-fifo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const peers = path.join(dir, 'peers');
  mkdirSync(peers);
  const fifo = path.join(dir, 'fifo');
  for (const f of [fifo, path.join(peers, '127.0.0.1')]) {
    const r = spawnSync('mkfifo', [f]);
    if (r.status !== 0) throw new Error('mkfifo failed');
  }
  writeFileSync(path.join(peers, '127.0.0.3'), 'x'.repeat(200 * 1024), { mode: 0o644 }); // over the 64 KiB limit
  writeFileSync(path.join(peers, '0'), '', { mode: 0o644 });
  mkdirSync(path.join(peers, '127.0.0.4'));

  t.test('tcpsvd -i: a directory entry drops its client with the reference\'s line', async (t) => {
    for (const cmd of [OURS_TCPSVD, ...(refs.tcpsvd ? [] : ['/usr/bin/tcpsvd'])]) {
      const srv = await start(t, ':', cmd, ['-l0', '-i', peers, '127.0.0.1', '0', 'echo', 'ok']);
      t.equal(await closedWithin(srv.port, '127.0.0.4', 8000), '', `${cmd}: dropped`);
      await srv.stop();
      t.match(srv.stderr(), /^tcpsvd: drop: unable to check inst: 127\.0\.0\.4: is a directory\n/m, `${cmd}: logged`);
    }
  });

  t.test('tcpsvd -i: a FIFO entry and a too big entry drop their client only', async (t) => {
    const srv = await start(t, ':', OURS_TCPSVD, ['-v', '-l0', '-i', peers, '127.0.0.1', '0', 'echo', 'ok']);
    t.equal(await closedWithin(srv.port, '127.0.0.1', 8000), '', 'the FIFO\'s client is dropped');
    t.equal(await closedWithin(srv.port, '127.0.0.3', 8000), '', 'the big entry\'s client is dropped');
    t.equal(await closedWithin(srv.port, '127.0.0.2', 8000), 'ok\n', 'another client is served');
    t.match(srv.stderr(), /tcpsvd: drop: unable to check inst: 127\.0\.0\.1: not a regular file\n/);
    t.match(srv.stderr(), /tcpsvd: drop: unable to check inst: 127\.0\.0\.3: file too big\n/);
    await srv.stop();
    t.equal(srv.proc.signalCode, null, 'TERM ends it, no KILL needed');
  });

  const cases = [
    { name: 'tcpsvd -x FIFO', cmd: OURS_TCPSVD, args: ['-v', '-l0', '-x', fifo], log: /unable to read: .*fifo: not a regular file/ },
    { name: 'tcpserver -x FIFO', cmd: OURS_TCPSERVER, args: ['-v', '-H', '-R', '-l0', '-x', fifo], log: /not a regular file/ },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const srv = await start(t, ':', c.cmd, [...c.args, '127.0.0.1', '0', 'echo', 'ok']);
      t.equal(await closedWithin(srv.port, '127.0.0.1', 8000), '', 'the client is dropped');
      t.equal(await closedWithin(srv.port, '127.0.0.2', 8000), '', 'and the next one, without waiting');
      t.match(srv.stderr(), c.log);
      await srv.stop();
      t.equal(srv.proc.signalCode, null, 'TERM ends it, no KILL needed');
    });
  }
});

t.test('a -C message to a client that never reads does not stall the others', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'adversarial-busy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const peers = path.join(dir, 'peers');
  mkdirSync(peers);
  // 8 MB of message, far more than a socket buffer holds; in a peers cdb (no size limit there).
  writeFileSync(path.join(peers, '127.0.0.5'), `C1:${'b'.repeat(8 * 1024 * 1024)}\n`, { mode: 0o644 });
  writeFileSync(path.join(peers, '0'), '', { mode: 0o644 });
  const cdb = path.join(dir, 'peers.cdb');
  const r = spawnSync(path.join(BIN, 'ipsvd-cdb'), [cdb, cdb + '.tmp', peers], { timeout: 30000 });
  t.equal(r.status, 0, 'ipsvd-cdb compiled the peers');
  const srv = await start(t, ':', OURS_TCPSVD, ['-l0', '-C', '5', '-x', cdb, '127.0.0.1', '0', 'sh', '-c', 'sleep 3; echo ok']);
  const first = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.5' });
  t.teardown(() => first.destroy());
  await sleep(500);
  // The second client over the per-host limit of 1 gets the message, and never reads it.
  const hog = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.5' });
  hog.pause();
  t.teardown(() => hog.destroy());
  await sleep(500);
  t.equal(await closedWithin(srv.port, '127.0.0.6', 8000), 'ok\n', 'another client is served meanwhile');
  t.ok(alive(srv.pid), 'server still running');
  await srv.stop();
});

t.test('acceptance, small: ever new client addresses and repeated descriptor exhaustion leave no trace', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'adversarial-accept-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rules = path.join(dir, 'rules.cdb');
  const r = spawnSync(path.join(BIN, 'tcprules'), [rules, rules + '.tmp'],
    { input: '127.0.0.1:allow,WHO="one"\n127.1.:allow,WHO="spread"\n:allow\n', timeout: 20000 });
  t.equal(r.status, 0, 'rules compiled');
  const srv = await start(t, 'ulimit -n 64', OURS_TCPSERVER,
    ['-H', '-R', '-l0', '-b', '1024', '-c', '100', '-x', rules, '127.0.0.1', '0', 'echo', 'ok']);
  // From 127.1.x.y, a new address for every connection, 50 at a time.
  let next = 0;
  const spread = async (n: number) => {
    let ok = 0;
    for (let done = 0; done < n; done += 50) {
      const batch = [];
      for (let i = 0; i < 50; i++, next++) {
        batch.push(closedWithin(srv.port, `127.1.${(next >> 8) & 255}.${(next & 255) || 1}`, 20000));
      }
      ok += (await Promise.all(batch)).filter((d) => d === 'ok\n').length;
    }
    return ok;
  };
  t.equal(await spread(500), 500, 'warm-up: served');
  t.same(await crowd(srv.port, 192, 'ok', 60000), { ok: 192, failed: 0 }, 'warm-up burst served');
  await sleep(500);
  const fds = fdCount(srv.pid);
  t.equal(await spread(2000), 2000, '2000 clients from distinct addresses served');
  let burstsOk = 0;
  for (let i = 0; i < 20; i++) if ((await crowd(srv.port, 192, 'ok', 60000)).ok === 192) burstsOk++;
  t.equal(burstsOk, 20, '20 bursts of three times the descriptor limit, every client served');
  await sleep(500);
  t.equal(fdCount(srv.pid), fds, 'as many descriptors as after the warm-up');
  t.equal(await closedWithin(srv.port, '127.0.0.1', 8000), 'ok\n', 'still serving');
  await srv.stop();
});

t.test('rule values reach prog byte for byte (native launcher), as with the reference', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'adversarial-bytes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rules = path.join(dir, 'rules.cdb');
  const r = spawnSync(path.join(BIN, 'tcprules'), [rules, rules + '.tmp'],
    { input: Buffer.from([...Buffer.from('127.0.0.1:allow,X="'), 0xff, 0xfe, 0x41, 0xc3, 0xa9, ...Buffer.from('"\n')]),
      timeout: 20000 });
  t.equal(r.status, 0, 'rules compiled');
  const cases = [
    { name: 'ours tcpserver', cmd: OURS_TCPSERVER, skip: false as string | false },
    { name: '/usr/bin/tcpserver', cmd: '/usr/bin/tcpserver', skip: refs.tcpserver },
  ];
  for (const c of cases) {
    t.test(c.name, { skip: c.skip }, async (t) => {
      const srv = await start(t, ':', c.cmd, ['-H', '-R', '-l0', '-x', rules, '127.0.0.1', '0',
        'sh', '-c', 'printf %s "$X" | od -An -tx1'], { UCSPI_LAUNCHER: 'native' });
      t.equal((await crowdText(srv.port)).trim(), 'ff fe 41 c3 a9', 'X as written in the rules');
      await srv.stop();
    });
  }
});
