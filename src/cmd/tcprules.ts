// tcprules cdb tmp: compile the rules on stdin for tcpserver.
import { compileRules, RulesError } from '../rules/compile';
import { closedAtStart, isOutOfMemory } from '../stdio';

export function main(argv: string[]): void {
  if (argv.length < 2) {
    process.stderr.write('tcprules: usage: tcprules rules.cdb rules.tmp\n');
    process.exit(100);
  }
  try {
    // A closed stdin is a read error, as for the original (whose first open
    // lands on descriptor 0), not an empty, allow-all database.
    compileRules(0, argv[0], argv[1], closedAtStart(0));
  } catch (e) {
    if (!(e instanceof RulesError)) {
      if (!isOutOfMemory(e)) throw e;
      process.stderr.write('tcprules: fatal: out of memory\n');
      process.exit(111);
    }
    process.stderr.write(Buffer.concat([e.text, Buffer.from('\n')]));
    process.exit(e.exitCode);
  }
  process.exit(0);
}
