// The few system calls the supervisor needs beyond Node's: through the native
// addon when it is built, otherwise through degraded fallbacks (see lock()).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { addonPart } from '../native';
import { lockExNb } from '../lib/flock';

const C = fs.constants;

/** Gives a lock back. */
export type Unlock = () => void;

/**
 * flock(LOCK_EX|LOCK_NB) on supervise/lock, as daemontools and runit do, so
 * that neither original can supervise a directory we hold (nor we theirs).
 * null when another process holds it. Without the addon, util-linux flock(1)
 * takes it on our descriptor (lib/flock); without flock(1) either, a reader
 * on supervise/ok is taken for the holder, which only our own tools and svok
 * respect. The lock goes with the descriptor: closing it gives it back.
 */
export function lock(fd: number, okPath: string, warn: (m: string) => void): Unlock | null {
  try {
    if (lockExNb(fd) === 'flock(1)') warnOnce(warn, 'native addon missing: flock(1) holds supervise/lock');
    return () => {};
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return null;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  warnOnce(warn, 'native addon and flock(1) missing: supervise/lock is not locked, supervise/ok tells whether another supervisor runs');
  try {
    fs.closeSync(fs.openSync(okPath, C.O_WRONLY | C.O_NONBLOCK));
    return null;
  } catch {
    return () => {};
  }
}

let warned = false;
function warnOnce(warn: (m: string) => void, m: string): void {
  if (warned) return;
  warned = true;
  warn(m);
}

export function mkfifo(p: string): void {
  const n = addonPart('sys');
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
  const n = addonPart('sys');
  if (n) return n.pipe();
  const p = path.join(scratchDir, `pipe.${process.pid}`);
  mkfifo(p);
  const fd = fs.openSync(p, C.O_RDWR);
  fs.unlinkSync(p);
  return [fd, fd];
}

/**
 * When pid started, in clock ticks after boot (field 22 of /proc/pid/stat),
 * as text; null when there is no such process or it is a zombie. With the
 * pid, it names one process: a pid reused later has another start.
 */
export function startTicks(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // Fields after the parenthesised command name, which may contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (f[0] === 'Z' || f[0] === 'X' || f[19] === undefined) return null;
  return f[19];
}

/**
 * FD_CLOEXEC on a descriptor this process was handed, so that the programs
 * it starts do not inherit it. Without the addon it stays inheritable (the
 * programs then hold a copy: a lock, a FIFO end).
 */
export function closeOnExec(fd: number): void {
  try { addonPart('sys')?.cloexec(fd); } catch { /* a bad descriptor: its user says */ }
}

/** The administrator's soft descriptor limit, once the supervisor raised its own above it. */
let adminNofile: number | undefined;
/** How a child is put back under it: util-linux prlimit(1), or sh's ulimit when prlimit is missing. */
let limiter: string | undefined;

/**
 * A supervisor serves every service from one process, about 3 descriptors a
 * service: it raises its own soft RLIMIT_NOFILE to the hard limit, keeping
 * the administrator's soft limit (the bundle's banner set it back at start)
 * for every child it starts (see underAdminLimit). Needs the addon, as the
 * banner does; without it, the children get the limit Node raised.
 */
export function raiseNofile(): void {
  const n = addonPart('exec');
  if (!n) return;
  try {
    const [soft, hard] = n.getrlimit('nofile');
    // An unlimited hard limit: the kernel's ceiling.
    const to = hard >= 0 ? hard : Number(fs.readFileSync('/proc/sys/fs/nr_open', 'latin1'));
    if (soft < 0 || !(to > soft)) return;
    n.setrlimit('nofile', to);
    adminNofile = soft;
    limiter = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => {
      try {
        fs.accessSync(p, C.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? '/bin/sh';
  } catch {
    // The limit stays as it was: every child gets it too.
  }
}

/**
 * [file, args] that start file (relative to cwd) under the administrator's
 * soft descriptor limit: as they are when the supervisor did not raise its
 * own, else through a stage that sets the limit and execs file, so the pid is
 * the service's. prlimit(1) leaves the environment alone; sh, its fallback,
 * drops variables whose names are not shell names and sets PWD. A file that
 * cannot be run is left to spawn, whose error the supervisor reports as usual.
 */
export function underAdminLimit(file: string, args: string[], cwd: string): [string, string[]] {
  if (adminNofile === undefined || limiter === undefined) return [file, args];
  try {
    const p = path.resolve(cwd, file);
    if (!fs.statSync(p).isFile()) return [file, args];
    fs.accessSync(p, C.X_OK);
  } catch {
    return [file, args];
  }
  if (limiter === '/bin/sh') return [limiter, ['-c', `ulimit -S -n ${adminNofile}; exec "$0" "$@"`, file, ...args]];
  return [limiter, [`--nofile=${adminNofile}:`, '--', file, ...args]];
}
