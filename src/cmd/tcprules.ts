// tcprules cdb tmp: compile the rules on stdin for tcpserver.
import { compileRules, RulesError } from '../rules/compile';
import { usage } from '../lib/getopt';
import { isOutOfMemory } from '../lib/nomem';
import { closedAtStart } from '../lib/stdfd';
import { die } from '../lib/strerr';

export function main(argv: string[]): void {
  if (argv.length < 2) usage({ prog: 'tcprules', text: 'tcprules: usage: tcprules rules.cdb rules.tmp', code: 100 });
  try {
    // A closed stdin is a read error, as for the original (whose first open
    // lands on descriptor 0), not an empty, allow-all database.
    compileRules(0, argv[0], argv[1], closedAtStart(0));
  } catch (e) {
    if (!(e instanceof RulesError)) {
      if (!isOutOfMemory(e)) throw e;
      die('tcprules', 'out of memory');
    }
    process.stderr.write(Buffer.concat([e.text, Buffer.from('\n')]));
    process.exit(e.exitCode);
  }
  process.exit(0);
}
