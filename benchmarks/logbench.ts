// What the two logger benchmarks (multilog.ts, svlogd.ts) share: a scratch
// directory removed however the run ends, the same log-like lines, and one
// timed run of `cat input | logger ...` with the logger's own CPU time,
// and a directory's summary to compare ours with the original's.
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const TIME = '/usr/bin/time';

/** A scratch directory under $TMPDIR; cleanup() kills what still runs and removes it (also on INT and TERM). */
export function scratch(prefix: string): { work: string; cleanup: () => void; live: Set<ChildProcess> } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const live = new Set<ChildProcess>();
  const cleanup = (): void => {
    for (const p of live) {
      try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
    fs.rmSync(work, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { cleanup(); process.exit(1); });
  return { work, cleanup, live };
}

/**
 * Writes at least `bytes` of lines, the same every time, to file: short
 * ones of 40 to 130 bytes, or long ones of 100 to 3000 bytes, a third of
 * them past multilog's 1000-byte window. Returns how many lines.
 */
export function makeLines(file: string, kind: 'short' | 'long', bytes: number): number {
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

export interface Timing { wall: number; cpu: number | null }

/**
 * cat input | argv..., in cwd, its own process group (in live while it
 * runs); wall seconds, and the logger's user + system seconds from time(1)
 * where it is installed. Rejects on a non-zero exit or after ten minutes.
 */
export function timedPipe(live: Set<ChildProcess>, work: string, input: string, argv: string[], cwd: string): Promise<Timing> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const timeFile = path.join(work, 'time');
  fs.rmSync(timeFile, { force: true });
  const timed = fs.existsSync(TIME) ? [TIME, '-f', '%U %S', '-o', timeFile, ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const p = spawn('/bin/sh', ['-c', `cat ${q(input)} | ${timed.map(q).join(' ')}`], { cwd, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  live.add(p);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { process.kill(-p.pid!, 'SIGKILL'); reject(new Error(`${argv[0]} took over 10 minutes`)); }, 600_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      live.delete(p);
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited ${code}`));
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
export function dirSummary(dir: string): string[] {
  return fs.readdirSync(dir).sort().flatMap((f): string[] => {
    const p = path.join(dir, f);
    const st = fs.statSync(p);
    if (st.isDirectory()) return dirSummary(p).map((e) => `${f}/${e}`);
    const body = fs.readFileSync(p, 'latin1').replace(LABEL, '@L');
    return [`${f.replace(LABEL, '@L')} ${(st.mode & 0o777).toString(8)} ${st.size} ${crypto.createHash('sha1').update(body, 'latin1').digest('hex').slice(0, 12)}`];
  });
}
