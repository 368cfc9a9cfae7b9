// svc -udopchaitkx dir...: write the command letters to each supervise/control.
import * as fs from 'node:fs';
import { errstr } from '../lib/errstr';
import { getopt } from '../supervise/getopt';

const USAGE = 'svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill';
const warn = (m: string) => process.stderr.write(`svc: warning: ${m}\n`);

export function main(argv: string[]): void {
  const { flags, rest, bad } = getopt(argv, 'udopchaitkx');
  if (bad !== undefined) {
    process.stderr.write(`svc: illegal option -- ${bad}\n${USAGE}\n`);
    process.exit(100);
  }
  // Each letter once, in the order first given, as the original keeps them.
  const data = Buffer.from([...new Set(flags)].join(''), 'latin1');
  const home = process.cwd();
  for (const dir of rest) {
    try {
      process.chdir(dir);
    } catch (e) {
      warn(`unable to chdir to ${dir}: ${errstr(e)}`);
      continue;
    }
    send(dir, data);
    process.chdir(home);
  }
  process.exit(0);
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
