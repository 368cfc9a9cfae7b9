// npm run bench:svlogd: logging throughput of our svlogd against runit's
// /usr/bin/svlogd on the same 100 MB of lines, fed through a pipe by cat(1)
// into a log directory with the default config (s1000000, n10), or with
// s4096 n3 (a rotation, with its fsync, every 4 kB). Runs the two
// alternately, three times per variant (plain, -tt, -r _, s4096 n3),
// reports the medians and the ratio, and checks that the runs without time
// stamps left the same directory (old files' sizes and contents, current).
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'svlogd-bench-'));
const live = new Set<ChildProcess>();
function cleanup(): void {
  for (const p of live) {
    try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
  }
  fs.rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { cleanup(); process.exit(1); });

// Log-like lines of 40 to 130 bytes, the same every time.
function makeInput(file: string): number {
  const fd = fs.openSync(file, 'w');
  let total = 0;
  let lines = 0;
  const parts: string[] = [];
  let pending = 0;
  for (let i = 0; total < MB * 1024 * 1024; i++) {
    const l = `${i} service[${1000 + (i % 50)}]: request from 127.0.0.${i % 256} handled in ${i % 997} ms ${'x'.repeat(i % 60)}\n`;
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

// cat input | svlogd args dir, dir/config holding config; wall seconds.
function once(cmd: string, args: string[], config: string | undefined, input: string, dir: string): Promise<number> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config'), config);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const t0 = process.hrtime.bigint();
  const p = spawn('/bin/sh', ['-c', `cat ${q(input)} | ${[cmd, ...args, dir].map(q).join(' ')}`], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  live.add(p);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { process.kill(-p.pid!, 'SIGKILL'); reject(new Error(`${cmd} took over 10 minutes`)); }, 600_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      live.delete(p);
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      resolve(Number(process.hrtime.bigint() - t0) / 1e9);
    });
  });
}

// Names (labels as @L), sizes and content hashes, oldest first.
function summary(dir: string): string[] {
  return fs.readdirSync(dir).sort().map((f) => {
    const b = fs.readFileSync(path.join(dir, f));
    return `${f.replace(/^@[0-9a-f]{24}/, '@L')} ${b.length} ${crypto.createHash('sha1').update(b).digest('hex').slice(0, 12)}`;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!fs.existsSync(REF)) throw new Error(`${REF} not installed (runit)`);
  const input = path.join(work, 'input');
  const lines = makeInput(input);
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
        if (JSON.stringify(summary(path.join(work, 'ref'))) !== JSON.stringify(summary(path.join(work, 'ours'))))
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
