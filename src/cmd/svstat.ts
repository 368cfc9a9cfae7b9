// svstat [-r] [--long] dir...: one line per directory, daemontools' format.
// With -r (ours) a line also ends in ", restarts N" when our supervisor, the
// one that wrote the current supervise/status, keeps the count. With --long
// (ours) the line is followed by the extended status: uptime, restarts, how
// the last run ended, readiness and the restart policy (see extended()).
import * as fs from 'node:fs';
import { errstr } from '../lib/errstr';
import { readRestarts } from '../supervise/service';
import { describe, extended } from '../supervise/svstat';
import { readExtended } from '../supervise/extra';

export function main(argv: string[]): void {
  // The original takes no options: only these two words, first, are ours.
  let withRestarts = false;
  let long = false;
  let i = 0;
  for (; i < 2 && i < argv.length; i++) {
    if (argv[i] === '-r' && !withRestarts) withRestarts = true;
    else if (argv[i] === '--long' && !long) long = true;
    else break;
  }
  const dirs = argv.slice(i);
  const home = process.cwd();
  let out = '';
  for (const dir of dirs) {
    out += `${dir}: ${look(dir, withRestarts, long)}\n`;
    process.chdir(home);
  }
  process.stdout.write(out);
}

function look(dir: string, withRestarts: boolean, long: boolean): string {
  try {
    process.chdir(dir);
  } catch (e) {
    return `unable to chdir: ${errstr(e)}`;
  }
  let normallyDown = true;
  try {
    fs.statSync('down');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return `unable to stat down: ${errstr(e)}`;
    normallyDown = false;
  }
  try {
    fs.closeSync(fs.openSync('supervise/ok', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') return 'supervise not running';
    return `unable to open supervise/ok: ${errstr(e)}`;
  }
  let status: Buffer;
  try {
    status = fs.readFileSync('supervise/status');
  } catch (e) {
    const open = (e as NodeJS.ErrnoException).code !== 'EISDIR';
    return `unable to ${open ? 'open' : 'read'} supervise/status: ${errstr(e)}`;
  }
  const restarts = withRestarts ? readRestarts(status, () => fs.readFileSync('supervise/restarts', 'latin1')) : null;
  const now = Date.now() / 1000;
  const line = describe({ normallyDown, status, now: Math.floor(now), restarts });
  if (!long) return line;
  const ext = readExtended('.', status);
  return ext ? line + extended(ext, now) : line;
}
