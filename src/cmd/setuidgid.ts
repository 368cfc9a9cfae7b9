// setuidgid account child: run child as account's uid and gid (its only
// group), as daemontools 0.76's setuidgid.
import { usage } from '../lib/getopt';
import { die } from '../lib/strerr';
import { getpwnam, LookupError } from '../chain/account';
import { becomeAccount } from '../chain/effects';
import { execProg } from '../chain/exec';

const P = 'setuidgid';

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
  becomeAccount([pw.gid], pw.uid, (step, e) => die(P, step === 'uid' ? 'unable to setuid' : 'unable to setgid', e));
  execProg({ tool: P, file: child[0], argv: child, env: process.env, fail: (e) => die(P, `unable to run ${child[0]}`, e) });
}
