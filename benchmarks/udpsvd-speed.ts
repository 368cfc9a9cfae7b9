// Datagrams served per second by udpsvd, one program per datagram (dd
// reading it), Debian's udpsvd against ours on the addon's launcher and ours
// through child_process ($UCSPI_LAUNCHER=spawn), interleaved in one run.
//
//   npm run build && node dist/benchmarks/udpsvd-speed.js
//
// udpsvd runs one program at a time; the client keeps $BENCH_WINDOW
// datagrams outstanding and sends the next one when the server logs an end
// (-v). Everything is on 127.0.0.1, no DNS (-l given). Each server is started
// once; every round visits all of them, $BENCH_ROUNDS times ($BENCH_SECS
// seconds each), and the medians are reported. UDPSVD_BASE=dir adds the
// udpsvd of another built checkout (the branch point in a git worktree, say).
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { build, live } from './run';
import { median } from './table';

const root = path.resolve(__dirname, '..', '..');
const SECS = Number(process.env.BENCH_SECS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 4);
const PROG = ['dd', 'bs=65536', 'count=1', 'of=/dev/null', 'status=none'];
const BASE = process.env.UDPSVD_BASE ?? '';

interface Server {
  name: string;
  port: number;
  proc: ChildProcess;
  /** "end" lines logged so far. */
  ends: number;
}

async function startServer(name: string, cmd: string, launcher: string): Promise<Server> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const proc = spawn(cmd, ['-v', '-l', 'bench', '127.0.0.1', String(port), ...PROG], {
      detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DNSCACHEIP: '127.0.0.1', UCSPI_LAUNCHER: launcher },
    });
    live.add(proc);
    const s: Server = { name, port, proc, ends: 0 };
    let text = '';
    const up = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 20_000);
      proc.on('exit', () => { clearTimeout(timer); resolve(false); });
      proc.stdout!.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (/listening on/.test(text)) { clearTimeout(timer); resolve(true); }
        // Count whole lines only.
        const i = text.lastIndexOf('\n');
        if (i < 0) return;
        s.ends += (text.slice(0, i).match(/: end \d+/g) ?? []).length;
        text = text.slice(i + 1);
      });
    });
    proc.stderr!.on('data', () => {});
    if (await up) return s;
    proc.kill('SIGKILL');
  }
  throw new Error(`${name} did not start`);
}

/** Datagrams served per second over secs, WINDOW outstanding. */
async function measure(s: Server, secs: number): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const send = () => sock.send('x\n', s.port, '127.0.0.1');
  const start = s.ends;
  let sent = 0;
  for (; sent < WINDOW; sent++) send();
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(secs * 1e9);
  // Poll the count (every 2 ms): the next datagram for every end logged.
  while (process.hrtime.bigint() < until) {
    await new Promise((r) => setTimeout(r, 2));
    while (sent - (s.ends - start) < WINDOW) { send(); sent++; }
  }
  const served = s.ends - start;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  // Let the outstanding ones drain before the next server runs (bounded).
  const drainUntil = Date.now() + 5000;
  while (s.ends - start < sent && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 10));
  sock.close();
  return served / elapsed;
}

async function main(): Promise<void> {
  build();
  const servers = [
    await startServer('udpsvd', '/usr/bin/udpsvd', 'native'),
    await startServer('ours, addon', path.join(root, 'bin', 'udpsvd'), 'native'),
    await startServer('ours, child_process', path.join(root, 'bin', 'udpsvd'), 'spawn'),
  ];
  if (BASE) servers.push(await startServer(`${BASE}`, path.join(BASE, 'bin', 'udpsvd'), 'native'));
  const rate = servers.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    process.stderr.write(`udpsvd-speed: round ${r + 1}/${ROUNDS}\n`);
    for (let i = 0; i < servers.length; i++) rate[i].push(await measure(servers[i], SECS));
  }
  const head = ['what', ...servers.map((s) => s.name), 'addon / udpsvd', 'child_process / udpsvd', ...(BASE ? ['addon / base'] : [])];
  const ratio = (i: number, to = 0) => median(rate[i].map((v, r) => v / rate[to][r])).toFixed(2) + '×';
  process.stdout.write([
    `Benchmark udpsvd, one program (dd) per datagram, ${WINDOW} outstanding, ${ROUNDS} rounds of ${SECS} s (medians)`, '',
    `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`,
    `| datagrams/s | ${rate.map((x) => Math.round(median(x))).join(' | ')} | ${ratio(1)} | ${ratio(2)} |` +
      (BASE ? ` ${ratio(1, 3)} |` : ''), '',
  ].join('\n'));
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`udpsvd-speed: ${(e as Error).message}\n`);
  process.exit(111);
});
