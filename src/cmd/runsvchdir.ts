// runsvchdir dir: runit 2.1.2's (Debian's): make /etc/runit/runsvdir/dir the
// current runlevel directory (runsvchdir/switch.ts).
import { writeSync } from 'node:fs';
import { die, writeLine } from '../lib/strerr';
import { errstr } from '../lib/errstr';
import { calledAs } from '../supervise/progname';
import { SwitchError, switchCurrent } from '../runsvchdir/switch';

const RUNSVDIR = '/etc/runit/runsvdir';

export function main(argv: string[]): void {
  const prog = calledAs('runsvchdir');
  if (argv.length === 0) {
    writeLine(`usage: ${prog} dir\n`);
    process.exit(1);
  }
  const dir = argv[0];
  if (dir.startsWith('.')) die(prog, `${dir}: must not start with a dot.`);
  try {
    process.chdir(RUNSVDIR);
  } catch (e) {
    die(prog, `unable to chdir: ${RUNSVDIR}`, e);
  }
  let r: ReturnType<typeof switchCurrent>;
  try {
    r = switchCurrent(dir, (w) => writeLine(`${prog}: fatal: ${w.what}: ${errstr(w.cause)}`));
  } catch (e) {
    if (!(e instanceof SwitchError)) throw e;
    die(prog, e.what, e.cause);
  }
  if (r === 'failed') process.exit(111);
  try {
    writeSync(1, `runsvchdir: ${dir}: ${r === 'now' ? 'now current' : 'current'}.\n`);
  } catch { /* stdout gone */ }
  process.exit(0);
}
