// tcprules cdb tmp: compile the rules on stdin for tcpserver.
import { compileRules, RulesError } from '../rules/compile';
import { usage } from '../lib/getopt';

export function main(argv: string[]): void {
  if (argv.length < 2) usage({ prog: 'tcprules', text: 'tcprules: usage: tcprules rules.cdb rules.tmp', code: 100 });
  try {
    compileRules(0, argv[0], argv[1]);
  } catch (e) {
    if (!(e instanceof RulesError)) throw e;
    process.stderr.write(Buffer.concat([e.text, Buffer.from('\n')]));
    process.exit(e.exitCode);
  }
  process.exit(0);
}
