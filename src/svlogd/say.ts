// svlogd's messages on stderr, worded as runit's: `svlogd: warning: ...`,
// `svlogd: fatal: ...` (exit 111), `svlogd: pausing: ...` (then a 3-second
// wait and another try: after start-up svlogd never gives up on a
// directory, so that no line is lost), `svlogd: info: ...` (-v).
import { errstr } from '../multilog/errstr';
import { sleepSync } from '../multilog/sleep';
import { writeAll } from '../multilog/writeall';

export const FATAL = 'svlogd: fatal: ';
export const WARNING = 'svlogd: warning: ';
export const PAUSE = 'svlogd: pausing: ';
export const INFO = 'svlogd: info: ';
export const PAUSE_MS = 3000;

export function say(line: string | Buffer): void {
  try {
    writeAll(2, Buffer.isBuffer(line) ? Buffer.concat([line, Buffer.from('\n')]) : Buffer.from(line + '\n'));
  } catch {
    // stderr is gone: nobody is left to tell.
  }
}

/** `svlogd: warning: m0: m1: <error>` */
export function warn2(m0: string, m1: string, e: unknown): void {
  say(`${WARNING}${m0}: ${m1}: ${errstr(e)}`);
}

export function fatal(m: string, e?: unknown): never {
  say(e === undefined ? FATAL + m : `${FATAL}${m}: ${errstr(e)}`);
  process.exit(111);
}

/** `svlogd: pausing: m0: m1: <error>`, then the pause. */
export function pause2(m0: string, m1: string | null, e: unknown): void {
  say(m1 === null ? `${PAUSE}${m0}: ${errstr(e)}` : `${PAUSE}${m0}: ${m1}: ${errstr(e)}`);
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
