// A service's child: ./run or ./finish started in its directory, and a run
// handed over by a scanner (not our child) watched until it is gone.
import { ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { startTicks, underAdminLimit } from './sys';
import { keepIgnored } from '../lib/ignored';

/** spawn() failures that mean "no process could be made", not "run is broken". */
export const FORK_ERRORS = new Set(['EAGAIN', 'ENOMEM', 'EMFILE', 'ENFILE']);
/** Those of them that are out of file descriptors: ours to free. */
export const FD_ERRORS = new Set(['EMFILE', 'ENFILE']);
/**
 * How often a run handed over by a scanner (not our child) is looked for: a
 * signal 0 (cheap: is the pid taken?) every WATCH_MS, and its start time in
 * /proc every WATCH_STAT_EVERY times, so a pid reused by another process, or
 * a zombie nobody reaps, is seen for what it is within a couple of seconds.
 */
const WATCH_MS = 250;
const WATCH_STAT_EVERY = 8;

/** Start ./prog in dir. Throws when spawn() does; a failed exec comes as the child's 'error'. */
export function startChild(dir: string, prog: 'run' | 'finish', args: string[], stdio: StdioOptions): ChildProcess {
  // Own session and process group, so that a signal meant for the
  // supervisor's group (a terminal's ^C) does not hit the services.
  // Signals ignored at start stay ignored in the run (lib/ignored.ts).
  const [file, argv] = keepIgnored(...underAdminLimit(`./${prog}`, args, dir));
  return spawn(file, argv, { cwd: dir, detached: true, stdio });
}

/**
 * Watch pid, started at start (clock ticks since boot, from /proc), until it
 * is gone, then call gone(). null, and no watch, when it is gone already.
 */
export function watch(pid: number, start: string | null, gone: () => void): NodeJS.Timeout | null {
  const alive = () => start !== null && startTicks(pid) === start;
  if (!alive()) return null;
  let tick = 0;
  const poll = setInterval(() => {
    if (++tick % WATCH_STAT_EVERY ? pidTaken(pid) : alive()) return;
    clearInterval(poll);
    gone();
  }, WATCH_MS);
  return poll;
}

/** Whether some process has pid (signal 0: no /proc read). */
function pidTaken(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
