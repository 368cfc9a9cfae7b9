// svscan [dir]: supervise every service directory in dir, in this one process.
import { Scanner } from '../supervise/scan';
import { die } from '../lib/strerr';
import { raiseNofile } from '../supervise/sys';

const say = (line: string) => process.stderr.write(line + '\n');

export function main(argv: string[]): void {
  const dir = argv[0] ?? '.';
  try {
    process.chdir(dir);
  } catch (e) {
    die('svscan', `unable to chdir to ${dir}`, e);
  }
  // A closed or broken stderr must not take the supervisor down with it.
  process.stderr.on('error', () => {});
  // Room for every service's descriptors; the children get the administrator's limit.
  raiseNofile();
  const scanner = new Scanner(say, () => process.exit(0));
  process.on('SIGALRM', () => scanner.scan());
  process.on('SIGHUP', () => scanner.scan());
  process.on('SIGTERM', () => scanner.shutdown());
  process.on('SIGINT', () => scanner.shutdown());
  scanner.scan();
}
