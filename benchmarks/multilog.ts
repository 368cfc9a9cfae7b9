// npm run bench:multilog: logging throughput of our multilog against
// daemontools' /usr/bin/multilog on the same 100 MB of lines, fed through a
// pipe by cat(1), for a few scripts: plain, t, patterns, long lines, small
// s and n. Runs the two alternately, three times per variant, reports the
// medians (wall time, and the logger's own CPU time where /usr/bin/time is
// there to measure it) and the ratio, and checks after the first run of
// each variant that both left the same directory (time stamps aside).
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const OURS = path.join(root, 'bin', 'multilog');
const REF = '/usr/bin/multilog';
const TIME = '/usr/bin/time';
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

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'multilog-bench-'));
const live = new Set<ChildProcess>();
function cleanup(): void {
  for (const p of live) {
    try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
  }
  fs.rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { cleanup(); process.exit(1); });

// Lines the same every time: short ones of 40 to 130 bytes (those of
// benchmarks/svlogd.ts), or long ones of 100 to 3000 bytes, a third of
// them past multilog's 1000-byte window.
function makeInput(file: string, kind: 'short' | 'long', bytes: number): number {
  const fd = fs.openSync(file, 'w');
  let total = 0;
  let lines = 0;
  const parts: string[] = [];
  let pending = 0;
  for (let i = 0; total < bytes; i++) {
    const l = kind === 'short'
      ? `${i} service[${1000 + (i % 50)}]: request from 127.0.0.${i % 256} handled in ${i % 997} ms ${'x'.repeat(i % 60)}\n`
      : `${i} service[${1000 + (i % 50)}]: dump ${'0123456789abcdef '.repeat(((i * 7919) % 2900) / 17 + 5)}\n`;
    parts.push(l);
    pending += l.length;
    total += l.length;
    lines++;
    if (pending > 1 << 20) {
      fs.writeSync(fd, parts.join(''));
      parts.length = 0;
      pending = 0;
    }
  }
  fs.writeSync(fd, parts.join(''));
  fs.closeSync(fd);
  return lines;
}

interface Timing { wall: number; cpu: number | null }

// cat input | multilog args, in dir; wall seconds, and the logger's user +
// system seconds from time(1).
function once(cmd: string, args: string[], input: string, dir: string): Promise<Timing> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const timeFile = path.join(work, 'time');
  fs.rmSync(timeFile, { force: true });
  const timed = fs.existsSync(TIME) ? [TIME, '-f', '%U %S', '-o', timeFile, cmd] : [cmd];
  const t0 = process.hrtime.bigint();
  const p = spawn('/bin/sh', ['-c', `cat ${q(input)} | ${[...timed, ...args].map(q).join(' ')}`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  live.add(p);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { process.kill(-p.pid!, 'SIGKILL'); reject(new Error(`${cmd} took over 10 minutes`)); }, 600_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      live.delete(p);
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      let cpu: number | null = null;
      try {
        const [u, s] = fs.readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
        if (Number.isFinite(u) && Number.isFinite(s)) cpu = u + s;
      } catch { /* no time(1) */ }
      resolve({ wall, cpu });
    });
  });
}

// Every file under dir: name and contents with labels as @L, size, mode;
// old files keep their order (their names sort by time).
const LABEL = /@[0-9a-f]{24}/g;
function summary(dir: string): string[] {
  return fs.readdirSync(dir).sort().flatMap((f): string[] => {
    const p = path.join(dir, f);
    const st = fs.statSync(p);
    if (st.isDirectory()) return summary(p).map((e) => `${f}/${e}`);
    const body = fs.readFileSync(p, 'latin1').replace(LABEL, '@L');
    return [`${f.replace(LABEL, '@L')} ${(st.mode & 0o777).toString(8)} ${st.size} ${crypto.createHash('sha1').update(body, 'latin1').digest('hex').slice(0, 12)}`];
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!fs.existsSync(REF)) throw new Error(`${REF} not installed (daemontools)`);
  const inputs: Record<string, string> = {};
  for (const v of VARIANTS) {
    const key = v.input;
    if (inputs[key]) continue;
    const file = path.join(work, `input-${key}`);
    const lines = makeInput(file, v.input, MB * 1048576);
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
        const ref = summary(path.join(work, 'ref'));
        const ours = summary(path.join(work, 'ours'));
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
