// svlogd's messages on stderr, worded as runit's, through lib/strerr:
// `svlogd: warning: ...`, `svlogd: fatal: ...` (exit 111), `svlogd:
// pausing: ...` (then a 3-second wait and another try: after start-up svlogd
// never gives up on a directory, so that no line is lost), `svlogd: info:
// ...` (-v).
import { errstr } from '../lib/errstr';
import { sleepSync } from '../lib/sleep';
import { die, warn, writeLine } from '../lib/strerr';

const PROG = 'svlogd';
export const INFO = 'svlogd: info: ';
export const PAUSE_MS = 3000;

export const say = (line: string): void => writeLine(line);

/** `svlogd: warning: what`, with `: <error>` when there is one. */
export function warning(what: string, e?: unknown): void {
  warn(PROG, what, e);
}

/** `svlogd: warning: m0: m1: <error>` */
export function warn2(m0: string, m1: string, e: unknown): void {
  warn(PROG, `${m0}: ${m1}`, e);
}

/** `svlogd: fatal: m`, with `: <error>` when there is one; exit 111. */
export function fatal(m: string, e?: unknown): never {
  return die(PROG, m, e);
}

/** The fatal line of a processor that could not be started; nobody exits (the directory retries). */
export function fatalLine(m: string): void {
  writeLine(`${PROG}: fatal: ${m}`);
}

/** `svlogd: pausing: m0: m1: <error>`, then the pause. */
export function pause2(m0: string, m1: string | null, e: unknown): void {
  writeLine(m1 === null ? `${PROG}: pausing: ${m0}: ${errstr(e)}` : `${PROG}: pausing: ${m0}: ${m1}: ${errstr(e)}`);
  sleepSync(PAUSE_MS);
}

/** Runs fn until it succeeds, pausing with the original's message between tries. */
export function persist<T>(m0: string, m1: string, fn: () => T): T {
  for (;;) {
    try {
      return fn();
    } catch (e) {
      pause2(m0, m1, e);
    }
  }
}
