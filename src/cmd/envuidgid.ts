// envuidgid account child: run child with $UID and $GID set to account's
// uid and gid, as daemontools 0.76's envuidgid.
import { usage } from '../lib/getopt';
import { die } from '../lib/strerr';
import { getpwnam, LookupError } from '../chain/account';
import { EnvChanges } from '../chain/env';
import { execProg } from '../chain/exec';

const P = 'envuidgid';

export function main(argv: string[]): void {
  const [account, ...child] = argv;
  if (account === undefined || child.length === 0) usage({ prog: P, text: `${P}: usage: ${P} account child`, code: 100 });
  let pw;
  try {
    pw = getpwnam(account);
  } catch (e) {
    die(P, 'unable to read the account database', e instanceof LookupError ? e.cause : e);
  }
  if (pw === undefined) die(P, `unknown account ${account}`);
  const env = new EnvChanges();
  env.set('GID', String(pw.gid));
  env.set('UID', String(pw.uid));
  execProg({ tool: P, file: child[0], argv: child, env: env.apply(process.env), fail: (e) => die(P, `unable to run ${child[0]}`, e) });
}
