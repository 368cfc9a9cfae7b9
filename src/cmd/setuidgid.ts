// setuidgid account child: run child as account's uid and gid (its only
// group), as daemontools 0.76's setuidgid.
import { die } from '../lib/strerr';
import { accountAndChild } from '../chain/account';
import { becomeAccount } from '../chain/effects';
import { execProg } from '../chain/exec';

const P = 'setuidgid';

export function main(argv: string[]): void {
  const { pw, child } = accountAndChild(P, argv);
  becomeAccount([pw.gid], pw.uid, (step, e) => die(P, step === 'uid' ? 'unable to setuid' : 'unable to setgid', e));
  execProg({ tool: P, file: child[0], argv: child, env: process.env, fail: (e) => die(P, `unable to run ${child[0]}`, e) });
}
