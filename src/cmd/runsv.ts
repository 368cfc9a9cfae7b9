// runsv dir: runit 2.1.2's runsv. Supervises dir and, when dir/log is a
// directory, its log service, joined by a pipe kept across restarts; x (sv
// exit) or TERM stops the service, then the log service, then exits 0.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { die, writeLine } from '../lib/strerr';
import { calledAs } from '../supervise/progname';
import { Unit } from '../supervise/unit';
import { raiseNofile } from '../supervise/sys';

const say = (line: string) => writeLine(line);

export function main(argv: string[]): void {
  if (argv.length !== 1) {
    // The original's line: the program as called, and an empty line after it.
    say(`usage: ${calledAs('runsv')} dir\n`);
    process.exit(1);
  }
  const dir = argv[0];
  try {
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
  } catch (e) {
    die(`runsv ${dir}`, 'unable to change to directory', e);
  }
  // Room for the service's and its log's descriptors; the children get the administrator's limit.
  raiseNofile();
  // A closed or broken stderr must not take the supervisor down with it.
  process.stderr.on('error', () => {});
  const unit = new Unit(dir, path.resolve(dir), say, (u) => process.exit(u.failed ? 111 : 0), 'runit');
  // runsv's rule: TERM is an x for the service. Caught before the service
  // starts, as runsv does: a TERM while open() is still at work (the run is
  // already started) is handled once it returns, instead of killing us.
  process.on('SIGTERM', () => unit.stop());
  if (!unit.open()) process.exit(111);
}
