// One line to stderr (or fd) in one write(2), as djb's strerr and buffer do:
// lines of concurrent writers never interleave, and a closed or full stderr
// never stops the program that logs.
import { writeSync } from 'node:fs';
import { errstr } from './errstr';

export function writeLine(s: string, fd = 2): void {
  try {
    writeSync(fd, s + '\n');
  } catch {
    // stderr gone or full: nothing better to do.
  }
}

/** "prog: warning: what: errstr", or without ": errstr" when there is no error. */
export function warn(prog: string, what: string, e?: unknown): void {
  writeLine(`${prog}: warning: ${what}${e === undefined ? '' : `: ${errstr(e)}`}`);
}

/** "prog: fatal: what: errstr", then exit with code (111 unless told). */
export function die(prog: string, what: string, e?: unknown, code = 111): never {
  writeLine(`${prog}: fatal: ${what}${e === undefined ? '' : `: ${errstr(e)}`}`);
  process.exit(code);
}
