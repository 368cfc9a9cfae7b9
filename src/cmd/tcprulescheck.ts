// tcprulescheck cdb: what tcpserver would do for the client in $TCPREMOTE*.
import { checkRules } from '../rules/check';

export function main(argv: string[]): void {
  if (argv[0] === undefined) {
    process.stderr.write('tcprulescheck: usage: tcprulescheck rules.cdb\n');
    process.exit(100);
  }
  const r = checkRules(argv[0], process.env);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exit(r.code);
}
