// svok dir: exit 0 when a supervisor runs in dir, 100 when none does.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { usage } from '../lib/getopt';
import { die } from '../lib/strerr';

export function main(argv: string[]): void {
  const dir = argv[0];
  if (!dir) usage({ prog: 'svok', text: 'svok: usage: svok dir', code: 100 });
  try {
    process.chdir(dir);
  } catch (e) {
    die('svok', `unable to chdir to ${dir}`, e);
  }
  try {
    // Succeeds only while a supervisor holds supervise/ok open for reading.
    fs.closeSync(fs.openSync(path.join('supervise', 'ok'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') process.exit(100);
    die('svok', `unable to open ${dir}/supervise/ok`, e);
  }
  process.exit(0);
}
