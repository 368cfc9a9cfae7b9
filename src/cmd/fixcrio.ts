// fixcrio program [ arg ... ]: ucspi-tcp's fixcrio, a CR before every bare LF
// both ways (src/lines/relay.ts, crlf.ts).
import { writeLine } from '../lib/strerr';
import { runCopier } from '../lines/relay';
import { fixcr } from '../lines/crlf';

export function main(argv: string[]): void {
  if (argv.length < 1) {
    writeLine('fixcrio: usage: fixcrio program [ arg ... ]');
    process.exit(100);
  }
  const toProg = fixcr(), fromProg = fixcr();
  runCopier({
    tool: 'fixcrio', prog: argv,
    left: (b) => toProg.put(b),
    right: (b) => fromProg.put(b),
  });
}
