// svscan [dir]: supervise every service directory in dir, in this one process.
// TERM hands the services to a keeper process and exits (supervise/keeper.ts);
// started with UCSPI_KEEPER set, this command is that keeper.
import { Scanner } from '../supervise/scan';
import { die } from '../lib/strerr';
import { raiseNofile } from '../supervise/sys';
import { KEEPER_ENV, handToKeeper, keep } from '../supervise/keeper';
import { onAddition } from '../lib/ignored';

const say = (line: string) => process.stderr.write(line + '\n');

export function main(argv: string[]): void {
  // A closed or broken stderr must not take the supervisor down with it.
  process.stderr.on('error', () => {});
  const keeper = process.env[KEEPER_ENV];
  if (keeper !== undefined) {
    delete process.env[KEEPER_ENV];
    const kept = keep(Number(keeper), say, () => {});
    try { process.title = `svscan keeper ${process.cwd()}`; } catch { /* not settable here */ }
    onAddition('SIGTERM', () => kept.stop());
    onAddition('SIGINT', () => kept.stop());
    for (const sig of ['SIGHUP', 'SIGALRM'] as const) onAddition(sig, () => {});
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
  // daemontools' svscan catches no signal: each one we catch is an addition,
  // and one ignored at start stays ignored in the runs (nohup: HUP).
  onAddition('SIGALRM', () => scanner.scan());
  onAddition('SIGHUP', () => scanner.scan());
  // daemontools' svscan dies on TERM, its supervise processes go on: the
  // services stay up, supervised by one keeper process.
  let handing = false;
  onAddition('SIGTERM', () => {
    if (handing) return;
    handing = true;
    handToKeeper(scanner, { prog: process.argv[1], args: argv, flavor: 'daemontools', errFd: 'inherit' }, (failure) => {
      if (failure === null) process.exit(0);
      handing = false;
      say(`svscan: warning: unable to hand the services over, still supervising: ${failure}`);
    });
  });
  onAddition('SIGINT', () => scanner.shutdown());
  scanner.scan();
}
