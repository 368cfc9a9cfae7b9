// tcpclient, start to first byte: the time from starting the client until
// its program has the server's first byte (tcpcat's way: the program is
// `sh -c 'exec cat <&6'`, and the clock stops at the first byte on its
// standard output), and until the client has exited. Debian's
// /usr/bin/tcpclient, ours with the addon (connect and exec in place) and
// ours without it (UCSPI_NO_NATIVE=1: net.Socket and a child), interleaved
// run by run in the same process, against one loopback server that greets
// at once. No DNS (-RHl0, a dotted address).
//
//   npm run build && node dist/benchmarks/tcpclient.js     (BENCH_RUNS, default 40)
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { live } from './run';

const root = path.resolve(__dirname, '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 40);

interface Sample { first: number; exit: number }

function once(cmd: string, port: number, env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = 0;
    const p = spawn(cmd, ['-RHl0', '127.0.0.1', String(port), 'sh', '-c', 'exec cat <&6'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    live.add(p);
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${cmd}: no end in 20 s`)); }, 20_000);
    p.stdout.once('data', () => { first = Number(process.hrtime.bigint() - t0) / 1e6; });
    p.stdout.resume();
    p.on('close', (code) => {
      clearTimeout(timer);
      live.delete(p);
      if (code !== 0 || first === 0) return reject(new Error(`${cmd}: exit ${code}, first byte ${first ? 'seen' : 'never seen'}`));
      resolve({ first, exit: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
  });
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

export async function main(): Promise<void> {
  const srv = net.createServer((c) => { c.on('error', () => {}); c.end('x\n'); });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as net.AddressInfo).port;
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const kinds: Array<[string, string, NodeJS.ProcessEnv]> = [
    ['Debian tcpclient', '/usr/bin/tcpclient', base],
    ['ours (addon)', path.join(root, 'bin', 'tcpclient'), base],
    ['ours (pure Node)', path.join(root, 'bin', 'tcpclient'), { ...base, UCSPI_NO_NATIVE: '1' }],
  ];
  const samples = new Map<string, Sample[]>(kinds.map(([k]) => [k, []]));
  // One warm-up each (page cache), then the runs, interleaved.
  for (const [, cmd, env] of kinds) await once(cmd, port, env);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, cmd, env] of kinds) samples.get(k)!.push(await once(cmd, port, env));
  }
  srv.close();
  const ref = samples.get('Debian tcpclient')!;
  const refFirst = pct(ref.map((s) => s.first), 0.5), refExit = pct(ref.map((s) => s.exit), 0.5);
  console.log(`tcpclient start to first byte, ${RUNS} runs each, interleaved (node ${process.version})\n`);
  console.log('| client | first byte p50 (ms) | p90 (ms) | exit p50 (ms) | first byte p50 / Debian | exit p50 / Debian |');
  console.log('|---|---|---|---|---|---|');
  for (const [k] of kinds) {
    const s = samples.get(k)!;
    const f = pct(s.map((x) => x.first), 0.5), f90 = pct(s.map((x) => x.first), 0.9), e = pct(s.map((x) => x.exit), 0.5);
    console.log(`| ${k} | ${f.toFixed(2)} | ${f90.toFixed(2)} | ${e.toFixed(2)} | ${(f / refFirst).toFixed(2)}× | ${(e / refExit).toFixed(2)}× |`);
  }
}

if (require.main === module) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
