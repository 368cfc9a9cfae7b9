// supervise dir: supervise one service directory (and its log/ service,
// as runit's runsv does). Exits 0 once the service is down after "x" or TERM.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Unit } from '../supervise/unit';
import { usage } from '../lib/getopt';
import { die } from '../lib/strerr';

const say = (line: string) => process.stderr.write(line + '\n');

export function main(argv: string[]): void {
  const dir = argv[0];
  if (!dir) usage({ prog: 'supervise', text: 'supervise: usage: supervise dir', code: 100 });
  try {
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
  } catch (e) {
    die('supervise', `unable to chdir to ${dir}`, e);
  }
  // A closed or broken stderr must not take the supervisor down with it.
  process.stderr.on('error', () => {});
  const unit = new Unit(dir, path.resolve(dir), say, () => process.exit(0));
  if (!unit.open()) process.exit(111);
  // runsv's rule: TERM is an "x" on the control FIFO.
  process.on('SIGTERM', () => unit.stop());
}
