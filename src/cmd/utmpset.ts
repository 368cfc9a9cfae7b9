// utmpset [-w] line: runit 2.1.2's (Debian's): log the line out in utmp
// (and, with -w, in wtmp), for a getty's finish script (utmp/logout.ts).
import { getopt, orUsage, UsageError } from '../lib/getopt';
import { die, writeLine } from '../lib/strerr';
import { errstr } from '../lib/errstr';
import { calledAs } from '../supervise/progname';
import { UtmpError, utmpLogout, wtmpLogout } from '../utmp/logout';

const ID = '$Id: cb399098f794012a7f5e6a3a7090b2d53b86c08c $';

export function main(argv: string[]): void {
  const prog = calledAs('utmpset');
  let wtmp = false;
  const rest = orUsage({ prog, text: `usage: ${prog} [-w] line\n`, code: 1 }, () => {
    const r = getopt(argv, 'wV', (letter) => {
      if (letter === 'w') wtmp = true;
      else {
        writeLine(ID);
        throw new UsageError();
      }
    });
    if (r.length === 0) throw new UsageError();
    return r;
  });
  const arg = rest[0];
  const line = Buffer.from(arg, 'utf8');
  try {
    if (!utmpLogout(line)) {
      writeLine(`utmpset: warning: unable to logout line ${arg} in utmp: no such entry`);
      process.exit(111);
    }
    if (wtmp) {
      const e = wtmpLogout(line);
      if (e !== undefined) {
        writeLine(`utmpset: warning: unable to logout line ${arg} in wtmp: ${errstr(e)}`);
        process.exit(111);
      }
    }
  } catch (e) {
    if (!(e instanceof UtmpError)) throw e;
    die('utmpset', e.what, e.cause);
  }
  process.exit(0);
}
