// What --proxy costs: the connection rate of our tcpsvd and tcpserver with
// every client sending a PROXY v2 header (tools/connproxy.c) that the server
// parses, against the same server without --proxy under connbench, in one
// run. Rounds alternate plain and proxied so that the machine's drift falls
// on both alike; the medians are compared. Not part of npm run bench:
//   npm run build && node dist/benchmarks/proxy.js
// BENCH_SECS (seconds per round, default 4), PROXY_BENCH_ROUNDS (default 3),
// UCSPI_LAUNCHER=spawn for the pure-Node path. Loopback only, no DNS.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort } from './run';
import { promisify } from 'node:util';
import { median } from './table';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
const out = path.join(root, 'benchmarks', 'out');
const tools = path.join(root, 'benchmarks', 'tools');
const env = { ...process.env, DNSCACHEIP: '127.0.0.1' };
const SECS = Number(process.env.BENCH_SECS ?? 4);
const ROUNDS = Number(process.env.PROXY_BENCH_ROUNDS ?? 3);
const C = 8;
const GOAL = 0.95;

const live = new Set<ChildProcess>();
function killAll(): void {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(111);
  });
}

function build(): void {
  fs.mkdirSync(out, { recursive: true });
  const gcc = (args: string[]) => execFileSync('gcc', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  gcc(['-O2', '-o', path.join(out, 'connbench'), path.join(tools, 'connbench.c'), '-lpthread']);
  gcc(['-O2', '-o', path.join(out, 'connproxy'), path.join(tools, 'connproxy.c'), '-lpthread']);
  gcc(['-O2', '-static', '-o', path.join(out, 'hello'), path.join(tools, 'hello.c')]);
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

async function start(cmd: string, args: (port: number) => string[]): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = spawn(cmd, args(port), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (d) => { if (stderr.length < 4096) stderr += d; });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && proc.exitCode === null) {
    // (A probe without a header: with --proxy it is dropped after the wait, harmlessly.)
    if (await tryConnect(port)) return { proc, port };
    await new Promise((r) => setTimeout(r, 5));
  }
  proc.kill('SIGKILL');
  throw new Error(`${cmd} did not start listening: ${stderr.trim()}`);
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) { live.delete(proc); return resolve(); }
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    proc.once('exit', () => { clearTimeout(timer); live.delete(proc); resolve(); });
    proc.kill('SIGTERM');
  });
}

async function load(tool: string, port: number): Promise<{ rate: number; errors: number; p99: number }> {
  const { stdout } = await run(path.join(out, tool), ['127.0.0.1', String(port), String(C), String(SECS)]);
  const f = (k: string) => Number(new RegExp(`${k}=([0-9.]+)`).exec(stdout)?.[1]);
  return { rate: f('rate'), errors: f('errors'), p99: f('p99') };
}

export async function main(): Promise<void> {
  build();
  const hello = path.join(out, 'hello');
  const servers = [
    { name: 'tcpsvd', cmd: path.join(root, 'bin', 'tcpsvd'), args: (p: number, extra: string[]) =>
      ['-c', '200', '-b', '512', '-l0', ...extra, '127.0.0.1', String(p), hello] },
    { name: 'tcpserver', cmd: path.join(root, 'bin', 'tcpserver'), args: (p: number, extra: string[]) =>
      ['-c', '200', '-b', '512', '-HRl0', ...extra, '127.0.0.1', String(p), hello] },
  ];
  const lines = [
    `PROXY v2 header cost, ${new Date().toISOString()}, c=${C}, ${ROUNDS} alternating rounds of ${SECS} s, ` +
      `launcher ${process.env.UCSPI_LAUNCHER === 'spawn' ? 'spawn' : 'native'}, node ${process.version}`,
    '',
    '| server | plain conn/s (median) | --proxy, v2 header conn/s (median) | proxied / plain | p99 plain (ms) | p99 proxied (ms) | failed | goal |',
    '|---|---|---|---|---|---|---|---|',
  ];
  let allMet = true;
  for (const s of servers) {
    const plain = await start(s.cmd, (p) => s.args(p, []));
    const proxied = await start(s.cmd, (p) => s.args(p, ['--proxy=127.0.0.1', '--proxy-timeout=1']));
    const pr: number[] = [], xr: number[] = [], pp: number[] = [], xp: number[] = [];
    let failed = 0;
    for (let i = 0; i < ROUNDS; i++) {
      process.stderr.write(`bench: ${s.name} round ${i + 1}/${ROUNDS}\n`);
      const a = await load('connbench', plain.port);
      const b = await load('connproxy', proxied.port);
      pr.push(a.rate); pp.push(a.p99); xr.push(b.rate); xp.push(b.p99);
      failed += a.errors + b.errors;
    }
    await stop(plain.proc);
    await stop(proxied.proc);
    const ratio = median(xr) / median(pr);
    const met = ratio >= GOAL && failed === 0;
    allMet &&= met;
    lines.push(`| ours ${s.name} | ${Math.round(median(pr))} | ${Math.round(median(xr))} | ${ratio.toFixed(2)}× | ` +
      `${median(pp).toFixed(2)} | ${median(xp).toFixed(2)} | ${failed} | ≥ ${GOAL.toFixed(2)}× ${met ? 'met' : 'missed'} |`);
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  fs.writeFileSync(path.join(out, 'proxy.md'), text);
  if (!allMet) process.exitCode = 1;
}

if (require.main === module) {
  main().then(() => killAll(), (e) => {
    killAll();
    process.stderr.write(`bench: fatal: ${e instanceof Error ? e.message : e}\n`);
    process.exit(111);
  });
}
