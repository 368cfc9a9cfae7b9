// npm run bench:svlogd: logging throughput of our svlogd against runit's
// /usr/bin/svlogd on the same 100 MB of lines, fed through a pipe by cat(1)
// into a log directory with the default config (s1000000, n10), or with
// s4096 n3 (a rotation, with its fsync, every 4 kB). Runs the two
// alternately, three times per variant (plain, -tt, -r _, s4096 n3),
// reports the medians and the ratio, and checks that the runs without time
// stamps left the same directory (every file's name, mode, size and contents).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dirSummary, makeLines, scratch, timedPipe } from './logbench';
import { median } from './table';

const root = path.resolve(__dirname, '..', '..');
const OURS = path.join(root, 'bin', 'svlogd');
const REF = '/usr/bin/svlogd';
const MB = Number(process.env.SVLOGD_BENCH_MB ?? 100);
const RUNS = Number(process.env.SVLOGD_BENCH_RUNS ?? 3);
interface Variant { name: string; args: string[]; config?: string; same: boolean }
const VARIANTS: Variant[] = [
  { name: 'plain', args: [], same: true },
  { name: '-tt', args: ['-tt'], same: false },
  { name: '-r _', args: ['-r', '_'], same: true },
  { name: 's4096 n3', args: [], config: 's4096\nn3\n', same: true },
];

const { work, cleanup, live } = scratch('svlogd-bench-');

// cat input | svlogd args dir, dir/config holding config; wall seconds.
async function once(cmd: string, args: string[], config: string | undefined, input: string, dir: string): Promise<number> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config'), config);
  return (await timedPipe(live, work, input, [cmd, ...args, dir], work)).wall;
}

async function main(): Promise<void> {
  if (!fs.existsSync(REF)) throw new Error(`${REF} not installed (runit)`);
  const input = path.join(work, 'input');
  const lines = makeLines(input, 'short', MB * 1048576);
  const size = fs.statSync(input).size;
  console.error(`input: ${lines} lines, ${(size / 1048576).toFixed(1)} MB`);
  const rows: string[] = ['| what | runit svlogd (MB/s) | ours (MB/s) | ours / runit | goal |', '|---|---|---|---|---|'];
  for (const { name, args, config, same } of VARIANTS) {
    const t: Record<string, number[]> = { ref: [], ours: [] };
    for (let r = 0; r < RUNS; r++) {
      for (const [who, cmd] of [['ref', REF], ['ours', OURS]]) {
        const dir = path.join(work, who);
        t[who].push(await once(cmd, args, config, input, dir));
      }
      if (same && r === 0) {
        if (JSON.stringify(dirSummary(path.join(work, 'ref'))) !== JSON.stringify(dirSummary(path.join(work, 'ours'))))
          throw new Error(`${name}: ours and runit left different directories`);
        console.error(`${name}: identical directories`);
      }
    }
    const ref = size / 1048576 / median(t.ref);
    const ours = size / 1048576 / median(t.ours);
    const ratio = ours / ref;
    console.error(`${name}: runit ${t.ref.map((x) => x.toFixed(2)).join(' ')} s; ours ${t.ours.map((x) => x.toFixed(2)).join(' ')} s`);
    rows.push(`| svlogd ${name}, ${MB} MB of lines through a pipe, median of ${RUNS} | ${ref.toFixed(1)} | ${ours.toFixed(1)} | ${ratio.toFixed(2)}× | ≥ 1.00× ${ratio >= 1 ? 'met' : 'MISSED'} |`);
  }
  console.log(rows.join('\n'));
}

main().then(cleanup, (e) => {
  console.error(`bench: ${e.message}`);
  cleanup();
  process.exit(1);
});
