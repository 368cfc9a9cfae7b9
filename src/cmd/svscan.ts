// svscan [dir]: supervise every service directory in dir, in this one process.
// TERM hands the services to a keeper process and exits (supervise/keeper.ts);
// started with UCSPI_KEEPER set, this command is that keeper.
import { Scanner } from '../supervise/scan';
import { die } from '../lib/strerr';
import { raiseNofile } from '../supervise/sys';
import { KEEPER_ENV, handToKeeper, keep } from '../supervise/keeper';

const say = (line: string) => process.stderr.write(line + '\n');

export function main(argv: string[]): void {
  // A closed or broken stderr must not take the supervisor down with it.
  process.stderr.on('error', () => {});
  const keeper = process.env[KEEPER_ENV];
  if (keeper !== undefined) {
    delete process.env[KEEPER_ENV];
    const kept = keep(Number(keeper), say, () => {});
    try { process.title = `svscan keeper ${process.cwd()}`; } catch { /* not settable here */ }
    process.on('SIGTERM', () => kept.stop());
    process.on('SIGINT', () => kept.stop());
    for (const sig of ['SIGHUP', 'SIGALRM'] as const) process.on(sig, () => {});
    return;
  }
  const dir = argv[0] ?? '.';
  try {
    process.chdir(dir);
  } catch (e) {
    die('svscan', `unable to chdir to ${dir}`, e);
  }
  // Room for every service's descriptors; the children get the administrator's limit.
  raiseNofile();
  const scanner = new Scanner(say, () => process.exit(0));
  process.on('SIGALRM', () => scanner.scan());
  process.on('SIGHUP', () => scanner.scan());
  // daemontools' svscan dies on TERM, its supervise processes go on: the
  // services stay up, supervised by one keeper process.
  let handing = false;
  process.on('SIGTERM', () => {
    if (handing) return;
    handing = true;
    handToKeeper(scanner, { prog: process.argv[1], args: argv, flavor: 'daemontools', errFd: 'inherit' }, (failure) => {
      if (failure === null) process.exit(0);
      handing = false;
      say(`svscan: warning: unable to hand the services over, still supervising: ${failure}`);
    });
  });
  process.on('SIGINT', () => scanner.shutdown());
  scanner.scan();
}
