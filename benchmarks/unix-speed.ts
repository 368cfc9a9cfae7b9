// unixserver's connection rate, ours against Debian's /usr/bin/unixserver
// (ucspi-unix 1.0), in one run: each server with -c 200 -b 512 in front of
// the static hello, loaded by tools/connbench-unix.c (connect, read to EOF,
// close) at c=1, 8 and 32, the two servers interleaved round by round.
//
//   npm run build && node dist/benchmarks/unix-speed.js
//
// Environment: BENCH_SECS (seconds per load run, default 4), BENCH_ROUNDS
// (default 2; the best round of each counts), UCSPI_LAUNCHER=spawn (our
// pure-Node path). Needs gcc and libc6-dev. Every server started is killed
// on exit, and the scratch directory removed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const TOOLS = path.join(ROOT, 'benchmarks', 'tools');
const SECS = Number(process.env.BENCH_SECS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const REF = '/usr/bin/unixserver';

const dir = mkdtempSync(path.join(tmpdir(), 'unix-speed-'));
const started: ChildProcess[] = [];
function cleanUp(): void {
  for (const p of started) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startServer(cmd: string, sock: string, hello: string): Promise<ChildProcess> {
  const p = spawn(cmd, ['-c', '200', '-b', '512', sock, hello], {
    stdio: ['ignore', 'ignore', 'inherit'], detached: true, env: { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: process.env.UCSPI_LAUNCHER ?? '' },
  });
  started.push(p);
  // Ready when a client is served.
  for (let i = 0; i < 400; i++) {
    await sleep(25);
    if (!existsSync(sock)) continue;
    try {
      if (execFileSync(path.join(dir, 'connbench-unix'), [sock, '1', '0.05'], { encoding: 'utf8' }).includes('errors=0')) return p;
    } catch {
      // not yet
    }
  }
  throw new Error(`${cmd} did not serve on ${sock}`);
}

function load(sock: string, c: number): { rate: number; p50: number; p99: number; errors: number } {
  const out = execFileSync(path.join(dir, 'connbench-unix'), [sock, String(c), String(SECS)], { encoding: 'utf8' });
  const m = /conns=(\d+) errors=(\d+) secs=[\d.]+ rate=([\d.]+)\/s p50=([\d.]+)ms p99=([\d.]+)ms/.exec(out);
  if (!m) throw new Error(`connbench-unix: ${out}`);
  return { rate: Number(m[3]), p50: Number(m[4]), p99: Number(m[5]), errors: Number(m[2]) };
}

async function main(): Promise<number> {
  if (!existsSync(REF)) throw new Error(`${REF} missing: apt-get install ucspi-unix`);
  execFileSync('gcc', ['-O2', '-o', path.join(dir, 'connbench-unix'), path.join(TOOLS, 'connbench-unix.c'), '-lpthread']);
  const hello = path.join(dir, 'hello');
  execFileSync('gcc', ['-O2', '-static', '-o', hello, path.join(TOOLS, 'hello.c')]);
  await startServer(REF, path.join(dir, 'debian.sock'), hello);
  await startServer(path.join(ROOT, 'bin', 'unixserver'), path.join(dir, 'ours.sock'), hello);
  const best: Record<string, Record<number, { rate: number; p50: number; p99: number; errors: number }>> = { debian: {}, ours: {} };
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of [1, 8, 32]) {
      const order: Array<'debian' | 'ours'> = r % 2 === 0 ? ['debian', 'ours'] : ['ours', 'debian'];
      for (const who of order) {
        const x = load(path.join(dir, `${who}.sock`), c);
        if (!best[who][c] || x.rate > best[who][c].rate) best[who][c] = x;
      }
    }
  }
  console.log(`unixserver, connection rate (best of ${ROUNDS} rounds of ${SECS} s; launcher ${process.env.UCSPI_LAUNCHER || 'native'}, node ${process.version})\n`);
  console.log('| c | Debian unixserver (/s) | ours (/s) | ours / Debian | p50 Debian (ms) | p50 ours (ms) | p99 Debian (ms) | p99 ours (ms) | errors | goal ≥ 1.00× |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  let met = true;
  for (const c of [1, 8, 32]) {
    const d = best.debian[c], o = best.ours[c];
    const ratio = o.rate / d.rate;
    if (ratio < 1) met = false;
    console.log(`| ${c} | ${d.rate.toFixed(0)} | ${o.rate.toFixed(0)} | ${ratio.toFixed(2)}× | ${d.p50.toFixed(2)} | ${o.p50.toFixed(2)} | ` +
      `${d.p99.toFixed(2)} | ${o.p99.toFixed(2)} | ${d.errors}/${o.errors} | ${ratio >= 1 ? 'met' : 'NOT met'} |`);
  }
  return met ? 0 : 1;
}

// Exit ends the servers started (run.ts kills its live set at exit).
main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(111);
});
