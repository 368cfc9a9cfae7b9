// tcprulescheck cdb: what tcpserver would do for the client in $TCPREMOTE*.
import { checkRules } from '../rules/check';
import { usage } from '../lib/getopt';

export function main(argv: string[]): void {
  if (argv[0] === undefined) {
    usage({ prog: 'tcprulescheck', text: 'tcprulescheck: usage: tcprulescheck rules.cdb', code: 100 });
  }
  const r = checkRules(argv[0], process.env);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exit(r.code);
}
