// svc -udopchaitkx dir...: write the command letters to each supervise/control.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { getopt, usage } from '../lib/getopt';
import { warn as strerrWarn } from '../lib/strerr';

const USAGE = {
  prog: 'svc',
  text: 'svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill',
  code: 100,
};
const warn = (m: string) => strerrWarn('svc', m);

export function main(argv: string[]): void {
  // Each letter once, in the order first given, as the original keeps them.
  const letters = new Set<string>();
  let rest: string[];
  try {
    rest = getopt(argv, 'udopchaitkx', (ch) => letters.add(ch));
  } catch (e) {
    usage(USAGE, e);
  }
  const data = Buffer.from([...letters].join(''), 'latin1');
  const home = process.cwd();
  for (const dir of rest) {
    try {
      process.chdir(where(dir));
    } catch (e) {
      warn(`unable to chdir to ${dir}: ${errstr(e)}`);
      continue;
    }
    send(dir, data);
    process.chdir(home);
  }
  process.exit(0);
}

/**
 * Ours, as runit's sv: a bare name that is not a directory here is looked up
 * in $SVDIR, when set. Without $SVDIR, or for a path, the name as given.
 */
function where(dir: string): string {
  const svdir = process.env.SVDIR;
  if (!svdir || dir.includes('/') || dir === '.' || dir === '..') return dir;
  try {
    if (fs.statSync(dir).isDirectory()) return dir;
  } catch { /* not here: try $SVDIR */ }
  return path.join(svdir, dir);
}

function send(dir: string, data: Buffer): void {
  let fd: number;
  try {
    fd = fs.openSync('supervise/control', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENXIO' ? 'supervise not running' : errstr(e);
    warn(`unable to control ${dir}: ${why}`);
    return;
  }
  try {
    if (data.length) fs.writeSync(fd, data);
  } catch (e) {
    warn(`error writing commands to ${dir}: ${errstr(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}
