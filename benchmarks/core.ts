// The launch path at its limit: connections per second with the static
// hello, at 1, 8, 32 and 128 concurrent clients, of our tcpserver, tcpsvd
// and inetd (one line) beside the minimal C loop (tools/limit-server.c:
// accept4 → posix_spawn → close → reap, single thread), Debian's tcpserver
// and tcpsvd, and xinetd, interleaved in one run. Goals (issue "one launch
// path"): ours at least the C loop's rate at c=1 and c=8, and at least 1.2×
// the best peer (tcpserver, tcpsvd, xinetd) at every concurrency.
//
//   npm run build && node dist/benchmarks/core.js
//
// $BENCH_XINETD names an unpacked xinetd binary (see inetd-speed.ts); without
// it that column is empty. $BENCH_SECS (default 4) and $BENCH_ROUNDS
// (default 3): every round visits every server at every concurrency; the
// figures are the medians, the ratios the medians of per-round ratios (same
// moment, same load). Everything on 127.0.0.1, ports found free at run time,
// no DNS.
import { execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, freePort, listening, load, runDetached as run, scratchDir } from './run';
import { median } from './table';

const root = path.resolve(__dirname, '..', '..');
const out = path.join(root, 'benchmarks', 'out');
const tools = path.join(root, 'benchmarks', 'tools');
const SECS = Number(process.env.BENCH_SECS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const XINETD = process.env.BENCH_XINETD ?? '';
const CONC = (process.env.BENCH_CONC ?? '1,8,32,128').split(',').map(Number);
const top = scratchDir('core-');




interface Server { name: string; port: number; ours: boolean }

async function main(): Promise<void> {
  build();
  const loop = path.join(out, 'limit-server');
  execFileSync('gcc', ['-O2', '-o', loop, path.join(tools, 'limit-server.c')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const hello = path.join(out, 'hello');
  const bin = (n: string) => path.join(root, 'bin', n);
  const servers: Server[] = [];
  const add = async (name: string, ours: boolean, start: (port: number) => ChildProcess) => {
    const port = await freePort();
    const p = start(port);
    await listening(name, p, port);
    servers.push({ name, port, ours });
  };
  await add('C loop', false, (port) => run(loop, [String(port), hello]));
  await add('tcpserver', false, (port) => run('/usr/bin/tcpserver', ['-c', '200', '-b', '512', '-HRl0', '127.0.0.1', String(port), hello]));
  await add('tcpsvd', false, (port) => run('/usr/bin/tcpsvd', ['-c', '200', '-b', '512', '-l0', '127.0.0.1', String(port), hello]));
  if (XINETD) {
    await add('xinetd', false, (port) => {
      const conf = path.join(top, 'xinetd.conf');
      fs.writeFileSync(conf, 'defaults\n{\n\tinstances = UNLIMITED\n\tper_source = UNLIMITED\n\tcps = 100000000 1\n}\n' +
        `service bench\n{\n\ttype = UNLISTED\n\tsocket_type = stream\n\tprotocol = tcp\n\twait = no\n\tuser = root\n` +
        `\tserver = ${hello}\n\tport = ${port}\n\tbind = 127.0.0.1\n\tinstances = UNLIMITED\n\tcps = 100000000 1\n}\n`);
      return run(XINETD, ['-dontfork', '-f', conf, '-pidfile', path.join(top, 'xinetd.pid')]);
    });
  }
  await add('ours tcpserver', true, (port) => run(bin('tcpserver'), ['-c', '200', '-b', '512', '-HRl0', '127.0.0.1', String(port), hello]));
  await add('ours tcpsvd', true, (port) => run(bin('tcpsvd'), ['-c', '200', '-b', '512', '-l0', '127.0.0.1', String(port), hello]));
  await add('ours inetd', true, (port) => {
    const conf = path.join(top, 'inetd.conf');
    fs.writeFileSync(conf, `127.0.0.1:${port} stream tcp nowait.100000000 root ${hello} hello\n`);
    return run(bin('inetd'), ['-i', `--pidfile=${path.join(top, 'inetd.pid')}`, conf]);
  });

  const rate = servers.map(() => CONC.map(() => [] as number[]));
  const p99 = servers.map(() => CONC.map(() => [] as number[]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let ci = 0; ci < CONC.length; ci++) {
      process.stderr.write(`core: round ${r + 1}/${ROUNDS}, c=${CONC[ci]}\n`);
      for (let si = 0; si < servers.length; si++) {
        const l = await load(servers[si].port, CONC[ci], SECS);
        rate[si][ci].push(l.rate);
        p99[si][ci].push(l.p99);
      }
    }
  }
  const cLoop = servers.findIndex((s) => s.name === 'C loop');
  const peers = servers.map((s, i) => (!s.ours && i !== cLoop ? i : -1)).filter((i) => i >= 0);
  const ours = servers.map((s, i) => (s.ours ? i : -1)).filter((i) => i >= 0);
  const ratio = (si: number, ci: number, refs: number[]) =>
    median(rate[si][ci].map((v, r) => v / Math.max(...refs.map((i) => rate[i][ci][r]))));
  const head = ['c', ...servers.map((s) => s.name), ...ours.flatMap((i) => [`${servers[i].name} / C loop`, `${servers[i].name} / best peer`])];
  const lines = [`Benchmark core: conn/s, static hello, ${ROUNDS} rounds of ${SECS} s (medians; ratios: medians of per-round ratios)`, '',
    `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (let ci = 0; ci < CONC.length; ci++) {
    lines.push(`| ${CONC[ci]} | ${servers.map((_, si) => Math.round(median(rate[si][ci]))).join(' | ')} | ` +
      ours.map((i) => `${ratio(i, ci, [cLoop]).toFixed(2)}× | ${ratio(i, ci, peers).toFixed(2)}×`).join(' | ') + ' |');
  }
  lines.push('', `| p99 (ms) | ${servers.map((s) => s.name).join(' | ')} |`, `|${['', ...servers].map(() => '---').join('|')}|`);
  for (let ci = 0; ci < CONC.length; ci++)
    lines.push(`| c=${CONC[ci]} | ${servers.map((_, si) => median(p99[si][ci]).toFixed(2)).join(' | ')} |`);
  process.stdout.write(lines.join('\n') + '\n');
}

// Exit ends the servers started (run.ts kills its live set at exit).
main().then(() => process.exit(0), (e) => {
  process.stderr.write(`core: ${(e as Error).message}\n`);
  process.exit(111);
});
