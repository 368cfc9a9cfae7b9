// multilog never gives up on the disk after it has started reading: it
// says what failed, waits five seconds and tries again, so that no line is
// dropped. A fatal error is only possible before reading.
import { errstr } from '../lib/errstr';
import { sleepSync } from '../lib/sleep';
import { writeAll } from '../lib/writeall';

export const FATAL = 'multilog: fatal: ';
export const WARNING = 'multilog: warning: ';
export const PAUSE_MS = 5000;

export function say(line: string): void {
  try {
    writeAll(2, Buffer.from(line + '\n'));
  } catch {
    // stderr is gone: nobody is left to tell.
  }
}

export function die(what: string, e: unknown): never {
  say(FATAL + what + errstr(e));
  process.exit(111);
}

export function pause(what: string, e: unknown): void {
  say(WARNING + what + errstr(e));
  sleepSync(PAUSE_MS);
}

// Runs fn until it succeeds; `what` prefixes the warning (it ends in
// ", pausing: " like the original's).
export function retry<T>(what: () => string, fn: () => T): T {
  for (;;) {
    try {
      return fn();
    } catch (e) {
      pause(what(), e);
    }
  }
}
