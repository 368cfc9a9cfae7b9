// npm run bench:multilog: logging throughput of our multilog against
// daemontools' /usr/bin/multilog on the same 100 MB of lines, fed through a
// pipe by cat(1), for a few scripts: plain, t, patterns, long lines, small
// s and n. Runs the two alternately, three times per variant, reports the
// medians (wall time, and the logger's own CPU time where /usr/bin/time is
// there to measure it) and the ratio, and checks after the first run of
// each variant that both left the same directory (time stamps aside).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dirSummary, makeLines, scratch, timedPipe, type Timing } from './logbench';
import { median } from './table';

const root = path.resolve(__dirname, '..', '..');
const OURS = path.join(root, 'bin', 'multilog');
const REF = '/usr/bin/multilog';
const MB = Number(process.env.MULTILOG_BENCH_MB ?? 100);
const RUNS = Number(process.env.MULTILOG_BENCH_RUNS ?? 3);

interface Variant {
  name: string;
  args: string[]; // the script; every log directory is under the run's directory
  input: 'short' | 'long';
}
const VARIANTS: Variant[] = [
  { name: 'plain', args: ['./main'], input: 'short' },
  { name: 't', args: ['t', './main'], input: 'short' },
  { name: '-/+ patterns', args: ['-*', '+*]: request from 127.0.0.1*', './main'], input: 'short' }, // 43 % of the lines
  { name: 't, -/+ patterns, two logs', args: ['t', 's1000000', 'n3', './all', '-*service[1007]: *', 's99999', 'n10', './main'], input: 'short' },
  { name: 'long lines', args: ['./main'], input: 'long' },
  { name: 'long lines, t', args: ['t', './main'], input: 'long' },
  { name: 's4096 n3', args: ['s4096', 'n3', './main'], input: 'short' },
];

const { work, cleanup, live } = scratch('multilog-bench-');

// cat input | multilog args, in a fresh dir.
function once(cmd: string, args: string[], input: string, dir: string): Promise<Timing> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  return timedPipe(live, work, input, [cmd, ...args], dir);
}

async function main(): Promise<void> {
  if (!fs.existsSync(REF)) throw new Error(`${REF} not installed (daemontools)`);
  const inputs: Record<string, string> = {};
  for (const v of VARIANTS) {
    const key = v.input;
    if (inputs[key]) continue;
    const file = path.join(work, `input-${key}`);
    const lines = makeLines(file, v.input, MB * 1048576);
    console.error(`input ${key}: ${lines} lines, ${(fs.statSync(file).size / 1048576).toFixed(1)} MB`);
    inputs[key] = file;
  }
  const rows: string[] = [
    '| what | daemontools multilog (MB/s) | ours (MB/s) | ours / daemontools | CPU s, daemontools | CPU s, ours | goal |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const v of VARIANTS) {
    const input = inputs[v.input];
    const size = fs.statSync(input).size;
    const t: Record<string, Timing[]> = { ref: [], ours: [] };
    for (let r = 0; r < RUNS; r++) {
      for (const [who, cmd] of [['ref', REF], ['ours', OURS]]) t[who].push(await once(cmd, v.args, input, path.join(work, who)));
      if (r === 0) {
        const ref = dirSummary(path.join(work, 'ref'));
        const ours = dirSummary(path.join(work, 'ours'));
        if (JSON.stringify(ref) !== JSON.stringify(ours)) {
          fs.writeFileSync(path.join(os.tmpdir(), 'multilog-bench-ref.txt'), ref.join('\n') + '\n');
          fs.writeFileSync(path.join(os.tmpdir(), 'multilog-bench-ours.txt'), ours.join('\n') + '\n');
          throw new Error(`${v.name}: ours and daemontools left different directories (listings in ${os.tmpdir()}/multilog-bench-*.txt)`);
        }
        console.error(`${v.name}: identical directories (${ref.length} files)`);
      }
    }
    const mbs = (xs: Timing[]) => size / 1048576 / median(xs.map((x) => x.wall));
    const cpu = (xs: Timing[]) => xs.every((x) => x.cpu !== null) ? median(xs.map((x) => x.cpu as number)).toFixed(2) : '–';
    const ref = mbs(t.ref);
    const ours = mbs(t.ours);
    const ratio = ours / ref;
    console.error(`${v.name}: daemontools ${t.ref.map((x) => x.wall.toFixed(2)).join(' ')} s; ours ${t.ours.map((x) => x.wall.toFixed(2)).join(' ')} s`);
    const what = `multilog ${v.args.join(' ')}, ${(size / 1048576).toFixed(0)} MB of ${v.input} lines through a pipe, median of ${RUNS}`;
    rows.push(`| ${what} | ${ref.toFixed(1)} | ${ours.toFixed(1)} | ${ratio.toFixed(2)}× | ${cpu(t.ref)} | ${cpu(t.ours)} | ≥ 1.00× ${ratio >= 1 ? 'met' : 'MISSED'} |`);
  }
  console.log(rows.join('\n'));
}

main().then(cleanup, (e) => {
  console.error(`bench: ${e.message}`);
  cleanup();
  process.exit(1);
});
