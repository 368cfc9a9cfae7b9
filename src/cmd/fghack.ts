// fghack child: run child, which puts itself in the background, in the
// foreground (src/supervise/fghack.ts).
import { usage } from '../lib/getopt';
import { foreground } from '../supervise/fghack';

export function main(argv: string[]): void {
  if (argv.length === 0) usage({ prog: 'fghack', text: 'fghack: usage: fghack child', code: 100 });
  foreground(argv);
}
