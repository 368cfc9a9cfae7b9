// Memory of 20 TCP services: our one-process inetd serving an inetd.conf of
// 20 lines, against 20 of our tcpsvd processes (one per service, as inetconv's
// tree would run them). Goal: the inetd at most 50 MB RSS.
//
//   npm run build && node dist/benchmarks/inetd-rss.js
//
// Everything listens on 127.0.0.1, on ports found free at run time; no DNS
// (tcpsvd -l0, $DNSCACHEIP=127.0.0.1). RSS is read from /proc once every
// service listens, then again after each service has served 20 clients.
// Every process started is killed on exit, error or signal.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort, live, scratchDir } from './run';

const root = path.resolve(__dirname, '..', '..');
const BIN = path.join(root, 'bin');
const SERVICES = Number(process.env.BENCH_SERVICES ?? 20);
const GOAL_MB = 50;
// Started processes (live) and the scratch directory go when the benchmark ends (run.ts).
const top = scratchDir('inetdrss-');

function start(cmd: string, args: string[]): ChildProcess {
  const p = spawn(cmd, args, { detached: true, stdio: 'ignore', env: { ...process.env, DNSCACHEIP: '127.0.0.1' } });
  live.add(p);
  return p;
}

function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function talk(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let b = '';
    const t = setTimeout(() => { s.destroy(); resolve('timeout'); }, 5000);
    s.on('data', (d) => { b += d; });
    s.on('error', () => { clearTimeout(t); resolve('error'); });
    s.on('close', () => { clearTimeout(t); resolve(b); });
  });
}

async function waitListening(ports: number[]): Promise<void> {
  const end = Date.now() + 20_000;
  for (const port of ports) {
    for (;;) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => { s.destroy(); r(true); });
        s.on('error', () => r(false));
      });
      if (ok) break;
      if (Date.now() > end) throw new Error(`port ${port} never listened`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function serveSome(ports: number[]): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const answers = await Promise.all(ports.map(talk));
    if (answers.some((a) => a !== 'hi\n')) throw new Error(`a service did not answer: ${JSON.stringify(answers)}`);
  }
}

const mb = (kb: number) => (kb / 1024).toFixed(1);

async function main(): Promise<void> {
  const ports: number[] = [];
  while (ports.length < SERVICES) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  // Ours, one process.
  const conf = path.join(top, 'inetd.conf');
  fs.writeFileSync(conf, ports.map((p) => `127.0.0.1:${p} stream tcp nowait root /bin/echo echo hi\n`).join(''));
  const inetd = start(path.join(BIN, 'inetd'), ['-i', `--pidfile=${top}/inetd.pid`, conf]);
  // (probing connections count as invocations; the rate limit is far above them)
  await waitListening(ports);
  await new Promise((r) => setTimeout(r, 1000));
  const inetdIdle = rssKb(inetd.pid!);
  await serveSome(ports);
  await new Promise((r) => setTimeout(r, 500));
  const inetdServed = rssKb(inetd.pid!);
  process.kill(-inetd.pid!, 'SIGKILL');
  live.delete(inetd);
  // 20 tcpsvd processes.
  const svds = ports.map((p) => start(path.join(BIN, 'tcpsvd'), ['-l0', '127.0.0.1', String(p), '/bin/echo', 'hi']));
  await waitListening(ports);
  await new Promise((r) => setTimeout(r, 1000));
  const svdIdle = svds.reduce((s, p) => s + rssKb(p.pid!), 0);
  await serveSome(ports);
  await new Promise((r) => setTimeout(r, 500));
  const svdServed = svds.reduce((s, p) => s + rssKb(p.pid!), 0);
  const rows = [
    '| what | ours inetd (1 process) | ours tcpsvd × ' + SERVICES + ' |',
    '|---|---|---|',
    `| RSS, every service listening (MB) | ${mb(inetdIdle)} | ${mb(svdIdle)} (${mb(svdIdle / SERVICES)} each) |`,
    `| RSS after ${20 * SERVICES} clients (MB) | ${mb(inetdServed)} | ${mb(svdServed)} |`,
    `| goal: inetd ≤ ${GOAL_MB} MB | ${Math.max(inetdIdle, inetdServed) / 1024 <= GOAL_MB ? 'met' : 'not met'} | |`,
  ];
  console.log(rows.join('\n'));
  process.exit(Math.max(inetdIdle, inetdServed) / 1024 > GOAL_MB ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(111);
});
