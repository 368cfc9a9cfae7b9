// Connections per second of the one-process inetd, 20 stream services in its
// conf, static hello, against openbsd-inetd and xinetd on the same conf, and
// against our own tcpsvd, interleaved in one run. Goal: our inetd at least
// 1.3× the better of openbsd-inetd and xinetd, and at least 0.9× our tcpsvd,
// at c=1, 8 and 32.
//
//   npm run build && node dist/benchmarks/inetd-speed.js
//
// xinetd conflicts with openbsd-inetd as a package: unpack it anywhere
// (apt-get download xinetd; dpkg -x xinetd_*.deb DIR) and name its binary in
// $BENCH_XINETD; without it that column is empty. Everything listens on
// 127.0.0.1 on ports found free at run time; no DNS. Each server is started
// once and kept; every load round visits all of them in turn, $BENCH_ROUNDS
// times ($BENCH_SECS seconds each), and the medians are reported.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, freePort, listening, load, runDetached as run, scratchDir } from './run';
import { median } from './table';

const root = path.resolve(__dirname, '..', '..');
const out = path.join(root, 'benchmarks', 'out');
const SERVICES = Number(process.env.BENCH_SERVICES ?? 20);
const SECS = Number(process.env.BENCH_SECS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const XINETD = process.env.BENCH_XINETD ?? '';
const CONC = [1, 8, 32];
// Started processes (live) and the scratch directory go when the benchmark ends (run.ts).
const top = scratchDir('inetdspeed-');



interface Server { name: string; port: number }

async function ports(): Promise<number[]> {
  const ps: number[] = [];
  while (ps.length < SERVICES) {
    const p = await freePort();
    if (!ps.includes(p)) ps.push(p);
  }
  return ps;
}


/** inetd.conf of SERVICES hello lines; the first port is the one measured. No rate limit. */
function inetdConf(file: string, ps: number[], hello: string): void {
  fs.writeFileSync(file, ps.map((p) => `127.0.0.1:${p} stream tcp nowait.100000000 root ${hello} hello\n`).join(''));
}

function xinetdConf(file: string, ps: number[], hello: string): void {
  let s = 'defaults\n{\n\tinstances = UNLIMITED\n\tper_source = UNLIMITED\n\tcps = 100000000 1\n}\n';
  ps.forEach((p, i) => {
    s += `service bench${i}\n{\n\ttype = UNLISTED\n\tsocket_type = stream\n\tprotocol = tcp\n\twait = no\n\tuser = root\n` +
      `\tserver = ${hello}\n\tport = ${p}\n\tbind = 127.0.0.1\n\tinstances = UNLIMITED\n\tcps = 100000000 1\n}\n`;
  });
  fs.writeFileSync(file, s);
}

async function main(): Promise<void> {
  build();
  const hello = path.join(out, 'hello');
  const servers: Server[] = [];
  {
    const ps = await ports();
    inetdConf(path.join(top, 'openbsd.conf'), ps, hello);
    const p = run('/usr/sbin/inetd', ['-i', path.join(top, 'openbsd.conf')]);
    await listening('openbsd-inetd', p, ps[0]);
    servers.push({ name: 'openbsd-inetd', port: ps[0] });
  }
  if (XINETD) {
    const ps = await ports();
    xinetdConf(path.join(top, 'xinetd.conf'), ps, hello);
    const p = run(XINETD, ['-dontfork', '-f', path.join(top, 'xinetd.conf'), '-pidfile', path.join(top, 'xinetd.pid')]);
    await listening('xinetd', p, ps[0]);
    servers.push({ name: 'xinetd', port: ps[0] });
  }
  {
    const ps = await ports();
    inetdConf(path.join(top, 'ours.conf'), ps, hello);
    const p = run(path.join(root, 'bin', 'inetd'), ['-i', `--pidfile=${path.join(top, 'ours.pid')}`, path.join(top, 'ours.conf')]);
    await listening('ours inetd', p, ps[0]);
    servers.push({ name: 'ours inetd', port: ps[0] });
  }
  {
    const port = await freePort();
    const p = run(path.join(root, 'bin', 'tcpsvd'), ['-c', '200', '-b', '512', '-l0', '127.0.0.1', String(port), hello]);
    await listening('ours tcpsvd', p, port);
    servers.push({ name: 'ours tcpsvd', port });
  }
  // rate[server][c] and p99[server][c]: one figure per round.
  const rate = servers.map(() => CONC.map(() => [] as number[]));
  const p99 = servers.map(() => CONC.map(() => [] as number[]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let ci = 0; ci < CONC.length; ci++) {
      process.stderr.write(`inetd-speed: round ${r + 1}/${ROUNDS}, c=${CONC[ci]}\n`);
      for (let si = 0; si < servers.length; si++) {
        const l = await load(servers[si].port, CONC[ci], SECS);
        rate[si][ci].push(l.rate);
        p99[si][ci].push(l.p99);
      }
    }
  }
  const ours = servers.findIndex((s) => s.name === 'ours inetd');
  const tcpsvd = servers.findIndex((s) => s.name === 'ours tcpsvd');
  const refs = servers.map((s, i) => (s.name === 'openbsd-inetd' || s.name === 'xinetd' ? i : -1)).filter((i) => i >= 0);
  const head = ['what', ...servers.map((s) => s.name), 'ours / best C inetd', 'ours / our tcpsvd', 'goal'];
  const lines = [`Benchmark inetd, ${SERVICES} services, static hello, ${ROUNDS} rounds of ${SECS} s (medians)`, '',
    `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (let ci = 0; ci < CONC.length; ci++) {
    // The ratios per round (same moment, same load), then their median.
    const vsRef = median(rate[ours][ci].map((v, r) => v / Math.max(...refs.map((i) => rate[i][ci][r]))));
    const vsSvd = median(rate[ours][ci].map((v, r) => v / rate[tcpsvd][ci][r]));
    const met = vsRef >= 1.3 && vsSvd >= 0.9;
    lines.push(`| conn/s, c=${CONC[ci]} | ${servers.map((_, si) => Math.round(median(rate[si][ci]))).join(' | ')} | ` +
      `${vsRef.toFixed(2)}× | ${vsSvd.toFixed(2)}× | ≥ 1.30× and ≥ 0.90× ${met ? 'met' : 'MISSED'} |`);
    lines.push(`| p99, c=${CONC[ci]} (ms) | ${servers.map((_, si) => median(p99[si][ci]).toFixed(2)).join(' | ')} | | | |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

// Exit ends the servers started (run.ts kills its live set at exit).
main().then(() => process.exit(0), (e) => {
  process.stderr.write(`inetd-speed: ${(e as Error).message}\n`);
  process.exit(111);
});
