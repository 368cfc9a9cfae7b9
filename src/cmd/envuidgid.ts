// envuidgid account child: run child with $UID and $GID set to account's
// uid and gid, as daemontools 0.76's envuidgid.
import { die } from '../lib/strerr';
import { accountAndChild } from '../chain/account';
import { EnvChanges } from '../chain/env';
import { execProg } from '../chain/exec';

const P = 'envuidgid';

export function main(argv: string[]): void {
  const { pw, child } = accountAndChild(P, argv);
  const env = new EnvChanges();
  env.set('GID', String(pw.gid));
  env.set('UID', String(pw.uid));
  execProg({ tool: P, file: child[0], argv: child, env: env.apply(process.env), fail: (e) => die(P, `unable to run ${child[0]}`, e) });
}
