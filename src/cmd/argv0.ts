// argv0 realname program [ arg ... ]: runs realname with program as its
// argv[0], as ucspi-tcp's argv0 (exec in place with the addon).
import { writeLine, die } from '../lib/strerr';
import { execProg } from '../chain/exec';

export function main(argv: string[]): void {
  if (argv.length < 2) {
    writeLine('argv0: usage: argv0 realname program [ arg ... ]');
    process.exit(100);
  }
  execProg({ tool: 'argv0', file: argv[0], argv: argv.slice(1), env: process.env,
    fail: (e) => die('argv0', `unable to run ${argv[0]}`, e) });
}
