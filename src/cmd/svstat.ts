// svstat [-r] dir...: one line per directory, daemontools' format. With -r
// (ours) a line also ends in ", restarts N" when our supervisor, the one
// that wrote the current supervise/status, keeps the count.
import * as fs from 'node:fs';
import { errstr } from '../lib/errstr';
import { readRestarts } from '../supervise/service';
import { describe } from '../supervise/svstat';

export function main(argv: string[]): void {
  const withRestarts = argv[0] === '-r';
  const dirs = withRestarts ? argv.slice(1) : argv;
  const home = process.cwd();
  let out = '';
  for (const dir of dirs) {
    out += `${dir}: ${look(dir, withRestarts)}\n`;
    process.chdir(home);
  }
  process.stdout.write(out);
}

function look(dir: string, withRestarts: boolean): string {
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
  return describe({ normallyDown, status, now: Math.floor(Date.now() / 1000), restarts });
}
