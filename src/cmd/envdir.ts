// envdir d child: run child with the environment changed by the files in d
// (see src/chain/env.ts), as daemontools 0.76's envdir. Its usage exits 111,
// as the original's does.
import { usage } from '../lib/getopt';
import { die } from '../lib/strerr';
import { EnvChanges, EnvDirError, readEnvDir } from '../chain/env';
import { execProg } from '../chain/exec';

const P = 'envdir';

export function main(argv: string[]): void {
  const [dir, ...child] = argv;
  if (dir === undefined || child.length === 0) usage({ prog: P, text: `${P}: usage: ${P} dir child`, code: 111 });
  const env = new EnvChanges();
  try {
    readEnvDir(dir, env);
  } catch (e) {
    if (!(e instanceof EnvDirError)) throw e;
    switch (e.step) {
      case 'cwd': die(P, 'unable to switch to current directory', e.cause);
      // falls through (die does not return)
      case 'chdir': die(P, `unable to switch to directory ${dir}`, e.cause);
      // falls through
      case 'opendir':
      case 'readdir': die(P, `unable to read directory ${dir}`, e.cause);
      // falls through
      case 'read': die(P, `unable to read ${dir}/${e.file}`, e.cause);
      // falls through
      case 'back': die(P, 'unable to switch to starting directory', e.cause);
    }
  }
  execProg({ tool: P, file: child[0], argv: child, env: env.apply(process.env), fail: (e) => die(P, `unable to run ${child[0]}`, e) });
}
