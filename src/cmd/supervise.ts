// supervise dir: supervise dir, and dir only, as daemontools' supervise does
// (svscan starts a second supervise for dir/log). Exits 0 once the service is
// down after "x" (which does not stop it) or after TERM (which does).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Service } from '../supervise/service';
import { usage } from '../lib/getopt';
import { die } from '../lib/strerr';
import { raiseNofile } from '../supervise/sys';

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
  // As svscan; the children get the administrator's limit.
  raiseNofile();
  const service = new Service(dir, path.resolve(dir), { stdin: 'inherit', stdout: 'inherit' },
    { say, exited: () => process.exit(0) });
  if (!service.open()) process.exit(111);
  process.on('SIGTERM', () => service.shutdown());
}
