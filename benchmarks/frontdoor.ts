// The cost of the front door's opt-in features, ours only: the connection
// rate with --rate on (the table preloaded with 100,000 tracked sources) and
// with --status on, each against the same server with neither, in one run,
// as ratios (goal: at least 0.95×). Not part of `npm run bench`: after a
// build, `node dist/benchmarks/frontdoor.js`. Loopback only, no DNS
// (-l0/-HRl0 and $DNSCACHEIP on loopback); every server is killed on exit.
// FRONTDOOR_SECS: seconds per load run (default 3); FRONTDOOR_ROUNDS: load
// runs per variant, interleaved, the median reported (default 3);
// FRONTDOOR_TRACKED: sources preloaded into the rate table (default 100000);
// FRONTDOOR_BASE: another checkout, built (say the branch point, in a git
// worktree): its server is measured too, and "off" is compared with it, to
// show that the options cost nothing when they are not given.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { type Server, build, live, load, rssMB, start, stop } from './run';
import { median } from './table';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
const out = path.join(root, 'benchmarks', 'out');
const SECS = Number(process.env.FRONTDOOR_SECS ?? 3);
const ROUNDS = Number(process.env.FRONTDOOR_ROUNDS ?? 3);
const TRACKED = Number(process.env.FRONTDOOR_TRACKED ?? 100000);
const BASE = process.env.FRONTDOOR_BASE;

// A rate no benchmark client reaches: every connection takes the limiter's
// whole path (hash, window, refill) and none is refused.
const RATE = '--rate=999999999/1';

function variant(name: string, cmd: string, base: (port: number) => string[], extra: string[]): Server {
  return {
    name, cmd, ours: true,
    args: (port, prog) => {
      const b = base(port);
      // Options before host port prog.
      return [...b.slice(0, -2), ...extra, ...b.slice(-2), ...prog];
    },
  };
}

async function main(): Promise<void> {
  build();
  const hello = [path.join(out, 'hello')];
  const status = path.join(out, 'frontdoor.status');
  const rows: string[] = [];
  const syntaxes: Array<[string, string, (port: number) => string[]]> = [
    ['tcpsvd', path.join(root, 'bin', 'tcpsvd'), (p) => ['-c', '200', '-b', '512', '-l0', '127.0.0.1', String(p)]],
    ['tcpserver', path.join(root, 'bin', 'tcpserver'), (p) => ['-c', '200', '-b', '512', '-HRl0', '127.0.0.1', String(p)]],
  ];
  for (const [name, cmd, base] of syntaxes) {
    const vs = [
      variant(`${name} off`, cmd, base, []),
      variant(`${name} --rate`, cmd, base, [RATE]),
      variant(`${name} --status`, cmd, base, [`--status=${status}`]),
    ];
    if (BASE) vs.push(variant(`${name} base`, path.join(BASE, 'bin', name), base, []));
    const up = [];
    for (const v of vs) up.push(await start(v, hello));
    process.stderr.write(`frontdoor: ${name}: preloading ${TRACKED} sources into the rate table\n`);
    const { stdout } = await run(path.join(out, 'connspread'), [String(up[1].port), String(TRACKED), '16'], { maxBuffer: 1 << 20 });
    const pre = /ok=(\d+) err=(\d+)/.exec(stdout);
    const rates: number[][] = vs.map(() => []);
    const errors = vs.map(() => 0);
    // Warm every server alike, then interleave the variants round by round.
    for (const u of up) await load(u.port, 8, 1);
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < vs.length; i++) {
        process.stderr.write(`frontdoor: ${vs[i].name}, round ${r + 1}\n`);
        const l = await load(up[i].port, 8, SECS);
        rates[i].push(l.rate);
        errors[i] += l.errors;
      }
    }
    const rss = up.map((u) => rssMB(u.proc.pid!));
    const tracked = (() => {
      try { return JSON.parse(fs.readFileSync(status, 'utf8')).accepted as number; } catch { return NaN; }
    })();
    for (const u of up) await stop(u.proc);
    const m = rates.map(median);
    rows.push(`| ${name}: conn/s, c=8, off (median of ${ROUNDS}) | ${Math.round(m[0])} | – | ${rss[0].toFixed(1)} |`);
    rows.push(`| ${name}: conn/s, c=8, --rate, ${pre?.[1] ?? '?'} sources preloaded (${pre?.[2] ?? '?'} failed) | ${Math.round(m[1])} | ` +
      `${(m[1] / m[0]).toFixed(2)}× | ${rss[1].toFixed(1)} |`);
    rows.push(`| ${name}: conn/s, c=8, --status (${tracked} connections counted) | ${Math.round(m[2])} | ` +
      `${(m[2] / m[0]).toFixed(2)}× | ${rss[2].toFixed(1)} |`);
    if (BASE) {
      rows.push(`| ${name}: conn/s, c=8, ${BASE} without the options | ${Math.round(m[3])} | ` +
        `off / base: ${(m[0] / m[3]).toFixed(2)}× | ${rss[3].toFixed(1)} |`);
    }
    rows.push(`| ${name}: failed connections (${vs.map((v) => v.name.split(' ')[1]).join(', ')}) | ${errors.join(', ')} | – | – |`);
  }
  const text = `| what | ours | ratio to off (goal ≥ 0.95×) | RSS after (MB) |\n|---|---|---|---|\n${rows.join('\n')}\n`;
  process.stdout.write(text);
  fs.writeFileSync(path.join(out, 'frontdoor.md'), text);
}

if (require.main === module) {
  main().then(() => { for (const p of live) p.kill('SIGKILL'); }, (e) => {
    for (const p of live) p.kill('SIGKILL');
    process.stderr.write(`frontdoor: fatal: ${e instanceof Error ? e.message : e}\n`);
    process.exit(111);
  });
}
