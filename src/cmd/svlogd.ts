// svlogd: runit's log service. Reads lines on stdin and appends them to
// one or more log directories, each ruled by its own config file
// (src/svlogd, the loop in lines.ts). See man/svlogd.8.
import { UsageError, getopt, orUsage } from '../lib/getopt';
import { scanUlong } from '../lib/scan';
import { versionLine } from '../lib/version';
import { type Asked, logLines, type Options } from '../svlogd/lines';
import { INFO, fatal, say } from '../svlogd/say';

// The usage line ends with an empty line, as the original's does.
const USAGE = { prog: 'svlogd', text: 'usage: svlogd [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n', code: 111 };

/** Pure: the original's getopt("R:r:l:b:tvV") → options, or BadOption or UsageError thrown. */
function parseArgs(argv: string[]): Options {
  const o: Options = { verbose: 0, timestamp: 0, linemax: 1000, buflen: 1024, repl: 0, replace: Buffer.alloc(0), dirs: [] };
  o.dirs = getopt(argv, 'R:r:l:b:tvV', (ch, v) => {
    switch (ch) {
      case 'R':
        o.replace = Buffer.from(v!);
        if (!o.repl) o.repl = 0x5f; // '_'
        break;
      case 'r': {
        const b = Buffer.from(v!);
        o.repl = b.length ? b[0] : 0;
        if (!o.repl || b.length > 1) throw new UsageError();
        break;
      }
      case 'l': o.linemax = scanUlong(v!)[0] || 1000; break;
      case 'b': o.buflen = scanUlong(v!)[0] || 1024; break;
      case 't': if (++o.timestamp > 3) o.timestamp = 3; break;
      case 'v': o.verbose++; break;
      // -V prints the version, then the usage (exit 111).
      case 'V': throw new UsageError(versionLine('svlogd'));
    }
  });
  if (o.dirs.length === 0) throw new UsageError();
  if (o.buflen <= o.linemax) throw new UsageError();
  return o;
}

export function main(argv: string[]): void {
  // Caught from the start, acted on between reads, as the original blocks
  // them outside its wait for input.
  const asked: Asked = { exit: false, rotate: false, reopen: false };
  let kick = () => {};
  let verbose = 0;
  process.on('SIGTERM', () => {
    if (verbose) say(`${INFO}sigterm received.`);
    asked.exit = true;
    kick();
  });
  process.on('SIGALRM', () => {
    if (verbose) say(`${INFO}sigalarm received.`);
    asked.rotate = true;
    kick();
  });
  process.on('SIGHUP', () => {
    if (verbose) say(`${INFO}sighangup received.`);
    asked.reopen = true;
    kick();
  });

  const o = orUsage(USAGE, () => parseArgs(argv));
  verbose = o.verbose;
  let start: string;
  try {
    start = process.cwd();
  } catch (e) {
    fatal('unable to open current working directory', e);
  }
  kick = logLines(o, start, asked);
}
