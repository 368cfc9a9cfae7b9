// Acceptance run for the hardened server (not part of npm test; takes a few
// minutes): ours tcpserver (-x rules) and tcpsvd (-i peers), each under a
// small descriptor limit, take ACCEPT_CONNS connections from ever new 127/8
// source addresses (tools/connspread.c) and ACCEPT_EPISODES bursts of three
// times the descriptor limit at once, each burst forcing the server through
// descriptor exhaustion (it pauses accepting, clients wait in the backlog).
// Afterwards the server must hold as many descriptors as after the warm-up,
// its RSS must be within 5 % of it, and it must still serve.
//
//   npm run build && node dist/benchmarks/acceptance.js
//
// Environment: ACCEPT_CONNS (default 100000), ACCEPT_EPISODES (default 1000),
// ACCEPT_NOFILE (the servers' descriptor limit, default 64). Everything runs
// on 127.0.0.1 with port 0; no server asks DNS (-l0, -H -R, DNSCACHEIP set to
// a closed local port). Every server started is killed on exit.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin');
const TOOLS = path.join(ROOT, 'benchmarks', 'tools');
const CONNS = Number(process.env.ACCEPT_CONNS ?? 100000);
const EPISODES = Number(process.env.ACCEPT_EPISODES ?? 1000);
const NOFILE = Number(process.env.ACCEPT_NOFILE ?? 64);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started: ChildProcess[] = [];

function killAll(): void {
  for (const p of started) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

function listenPort(pid: number): number | undefined {
  const inodes = new Set<string>();
  for (const f of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(require('node:fs').readlinkSync(`/proc/${pid}/fd/${f}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  for (const t of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${t}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) return parseInt(f[1].split(':')[1], 16);
    }
  }
  return undefined;
}

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssKB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

async function startServer(cmd: string, args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn('/bin/sh', ['-c', `ulimit -n ${NOFILE}; exec "$@"`, 'sh', cmd, ...args],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true,
      env: { PATH: '/usr/bin:/bin', DNSCACHEIP: '127.0.0.1:9' } });
  started.push(proc);
  for (let i = 0; i < 400; i++) {
    await sleep(25);
    const port = listenPort(proc.pid!);
    if (port) return { proc, port };
  }
  throw new Error(`${cmd} did not listen`);
}

/** n clients at once from 127.0.0.1; resolves with how many read "hello". */
function burst(port: number, n: number): Promise<number> {
  return new Promise((resolve) => {
    let ok = 0, done = 0;
    const timer = setTimeout(() => resolve(ok), 60000);
    for (let i = 0; i < n; i++) {
      const s = net.connect(port, '127.0.0.1');
      let d = '';
      s.on('data', (x) => { d += x; });
      const fin = () => {
        if (d.startsWith('hello')) ok++;
        if (++done === n) {
          clearTimeout(timer);
          resolve(ok);
        }
      };
      s.once('close', fin);
      s.on('error', () => {});
    }
  });
}

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', timeout: 30 * 60 * 1000 });
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'acceptance-'));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  const gcc = (args: string[]) => execFileSync('gcc', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  gcc(['-O2', '-o', path.join(work, 'connspread'), path.join(TOOLS, 'connspread.c'), '-lpthread']);
  gcc(['-O2', '-static', '-o', path.join(work, 'hello'), path.join(TOOLS, 'hello.c')]);
  const hello = path.join(work, 'hello');
  // Rules that every new address looks up: an exact rule, a prefix rule, the default.
  const rules = path.join(work, 'rules.cdb');
  execFileSync(path.join(BIN, 'tcprules'), [rules, rules + '.tmp'],
    { input: '127.0.0.1:allow,WHO="one"\n127.1.:allow,WHO="spread"\n:allow\n' });
  const peers = path.join(work, 'peers');
  mkdirSync(peers);
  writeFileSync(path.join(peers, '127.0.0.1'), '+WHO=one\n');
  writeFileSync(path.join(peers, '127.1'), '+WHO=spread\n');
  writeFileSync(path.join(peers, '0'), '');

  const servers = [
    { name: 'tcpserver -x rules', cmd: path.join(BIN, 'tcpserver'), args: ['-H', '-R', '-l0', '-b', '1024', '-c', '100', '-x', rules] },
    { name: 'tcpsvd -i peers', cmd: path.join(BIN, 'tcpsvd'), args: ['-l0', '-b', '1024', '-c', '100', '-i', peers] },
  ];
  let failed = false;
  console.log(`| server | conns | bursts of ${3 * NOFILE} | fds after warm-up | fds after | RSS after warm-up (MB) | RSS after (MB) | growth | failed connections | still serving |`);
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const s of servers) {
    const { proc, port } = await startServer(s.cmd, [...s.args, '127.0.0.1', '0', hello]);
    const pid = proc.pid!;
    // Warm-up: both kinds of load once, then the baseline.
    run(path.join(work, 'connspread'), [String(port), '5000', '16']);
    for (let i = 0; i < 5; i++) await burst(port, 3 * NOFILE);
    await sleep(1000);
    const fd0 = fds(pid), rss0 = rssKB(pid);
    let bad = 0;
    const out = run(path.join(work, 'connspread'), [String(port), String(CONNS), '16']);
    bad += Number(/err=(\d+)/.exec(out)?.[1] ?? CONNS);
    for (let i = 0; i < EPISODES; i++) bad += 3 * NOFILE - (await burst(port, 3 * NOFILE));
    await sleep(1000);
    const fd1 = fds(pid), rss1 = rssKB(pid);
    const serving = (await burst(port, 1)) === 1;
    const growth = ((rss1 - rss0) / rss0) * 100;
    const ok = fd1 === fd0 && growth <= 5 && serving && bad === 0;
    if (!ok) failed = true;
    console.log(`| ${s.name} | ${CONNS} | ${EPISODES} | ${fd0} | ${fd1} | ${(rss0 / 1024).toFixed(1)} | ` +
      `${(rss1 / 1024).toFixed(1)} | ${growth.toFixed(1)} % | ${bad} | ${serving ? 'yes' : 'NO'} |`);
    process.kill(-pid, 'SIGTERM');
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(111);
});
