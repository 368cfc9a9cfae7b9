// recordio program [ arg ... ]: ucspi-tcp's recordio (src/lines/relay.ts, record.ts).
import { writeLine } from '../lib/strerr';
import { runCopier } from '../lines/relay';
import { record, recordEof } from '../lines/record';

export function main(argv: string[]): void {
  if (argv.length < 1) {
    writeLine('recordio: usage: recordio program [ arg ... ]');
    process.exit(100);
  }
  runCopier({
    tool: 'recordio', prog: argv,
    left: (b, pid) => { record(pid, '<', b); return b; },
    leftEnd: (pid) => recordEof(pid, '<'),
    right: (b, pid) => { record(pid, '>', b); return b; },
    rightEnd: (pid) => recordEof(pid, '>'),
  });
}
