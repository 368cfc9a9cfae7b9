// setlock [-nNxX] file program [arg ...]: run program holding an exclusive
// flock on file (opened for appending, created when missing), as
// daemontools 0.76's setlock: -n fail rather than wait, -N wait (default),
// -x exit 0 silently when the file cannot be opened or locked, -X complain
// (default).
import { getopt, orUsage, UsageError } from '../lib/getopt';
import { die } from '../lib/strerr';
import { LockError, takeLock } from '../chain/lock';
import { execProg } from '../chain/exec';

const P = 'setlock';
const USAGE = { prog: P, code: 100, text: `${P}: usage: ${P} [ -nNxX ] file program [ arg ... ]` };

export function main(argv: string[]): void {
  let nodelay = false, quiet = false;
  const rest = orUsage(USAGE, () => {
    const r = getopt(argv, 'nNxX', (letter) => {
      if (letter === 'n') nodelay = true;
      else if (letter === 'N') nodelay = false;
      else if (letter === 'x') quiet = true;
      else quiet = false;
    });
    if (r.length < 2) throw new UsageError();
    return r;
  });
  const [file, ...child] = rest;
  let fd: number;
  try {
    fd = takeLock(file, !nodelay);
  } catch (e) {
    if (!(e instanceof LockError)) throw e;
    if (quiet) process.exit(0);
    die(P, `unable to ${e.step} ${file}`, e.cause);
  }
  execProg({ tool: P, file: child[0], argv: child, env: process.env, keep: [fd], fail: (e) => die(P, `unable to run ${child[0]}`, e) });
}
