// The few system calls the supervisor needs beyond Node's: through the native
// addon when it is built, otherwise through degraded fallbacks (see lock()).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadNative } from '../native';

const C = fs.constants;

/**
 * flock(LOCK_EX|LOCK_NB) on fd, as daemontools and runit do on supervise/lock.
 * Returns false when another process holds the lock. Without the addon Node
 * cannot flock: we then treat a reader on supervise/ok as the holder (which
 * is what svok tests anyway) and warn once.
 */
export function lock(fd: number, dir: string, warn: (m: string) => void): boolean {
  const n = loadNative();
  if (n) return n.flockExNb(fd) as boolean;
  warnNoNative(warn);
  try {
    fs.closeSync(fs.openSync(path.join(dir, 'supervise/ok'), C.O_WRONLY | C.O_NONBLOCK));
    return false;
  } catch {
    return true;
  }
}

let warned = false;
function warnNoNative(warn: (m: string) => void): void {
  if (warned) return;
  warned = true;
  warn('native addon missing: supervise/lock is not flock()ed, supervise/ok tells whether another supervisor runs');
}

export function mkfifo(p: string): void {
  const n = loadNative();
  if (n) return n.mkfifo(p, 0o600);
  try {
    if (fs.statSync(p).isFIFO()) return;
  } catch { /* create it below */ }
  execFileSync('mkfifo', ['-m', '600', p], { stdio: 'ignore' });
}

/**
 * A pipe as [readFd, writeFd]. Without the addon we open a FIFO read-write
 * (Linux never blocks on that) and use the one fd as both ends; the logger
 * then never sees end of file, so shutdown falls back to a signal.
 */
export function pipe(scratchDir: string): [number, number] {
  const n = loadNative();
  if (n) return n.pipe() as [number, number];
  const p = path.join(scratchDir, `pipe.${process.pid}`);
  mkfifo(p);
  const fd = fs.openSync(p, C.O_RDWR);
  fs.unlinkSync(p);
  return [fd, fd];
}

/**
 * Whether pid is alive and is the process started at startSec (unix time),
 * so that a pid reused by an unrelated process is not taken for our service.
 */
export function sameProcess(pid: number, startSec: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // Fields after the parenthesised command name, which may contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (f[0] === 'Z' || f[0] === 'X') return false;
  const ticks = Number(f[19]);
  const btime = Number(/^btime (\d+)/m.exec(fs.readFileSync('/proc/stat', 'latin1'))?.[1]);
  if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return true;
  // USER_HZ is 100 on every Linux ABI; allow slack for clock adjustments.
  return Math.abs(btime + ticks / 100 - startSec) < 3;
}
