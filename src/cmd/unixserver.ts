// unixserver: ucspi-unix's UNIX-domain socket server, on the shared engine.
import { writeLine } from '../lib/strerr';
import { UnixUsage, parseUnixServer, usageText } from '../unix/options';
import { runUnixServer } from '../unix/server';

/** ucspi-unix names itself by its argv[0]; a command started through PATH is called by its name. */
const ARGV0 = 'unixserver';

export async function main(argv: string[]): Promise<void> {
  let o;
  try {
    o = parseUnixServer(argv, ARGV0, process.env);
  } catch (e) {
    if (!(e instanceof UnixUsage)) throw e;
    if (e.line !== undefined) writeLine(e.line);
    if (e.code === 1) writeLine(usageText(ARGV0));
    process.exit(e.code);
  }
  await runUnixServer(o);
}
