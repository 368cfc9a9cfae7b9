// svstat dir...: one line per directory, daemontools' format, plus our
// ", restarts N" at the end when our supervisor keeps the count.
import * as fs from 'node:fs';
import { errstr } from '../lib/errstr';
import { describe } from '../supervise/svstat';

export function main(argv: string[]): void {
  const home = process.cwd();
  let out = '';
  for (const dir of argv) {
    out += `${dir}: ${look(dir)}\n`;
    process.chdir(home);
  }
  process.stdout.write(out);
}

function look(dir: string): string {
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
  let restarts: number | null = null;
  try {
    const t = fs.readFileSync('supervise/restarts', 'latin1');
    if (/^\d+\n$/.test(t)) restarts = Number(t);
  } catch { /* not our supervisor: the classic line only */ }
  return describe({ normallyDown, status, now: Math.floor(Date.now() / 1000), restarts });
}
