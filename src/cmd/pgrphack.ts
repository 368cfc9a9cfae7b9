// pgrphack child: run child in a new session and process group, as
// daemontools 0.76's pgrphack (a failed setsid is ignored, as there).
import { usage } from '../lib/getopt';
import { die } from '../lib/strerr';
import { newSession } from '../chain/effects';
import { canExec, execProg } from '../chain/exec';

const P = 'pgrphack';

export function main(argv: string[]): void {
  if (argv.length === 0) usage({ prog: P, text: `${P}: usage: ${P} child`, code: 100 });
  if (canExec()) newSession();
  execProg({ tool: P, file: argv[0], argv, env: process.env, newSession: !canExec(), fail: (e) => die(P, `unable to run ${argv[0]}`, e) });
}
