// tai64nlocal: turn the TAI64N labels at the start of lines into local time.
import { LocalConverter } from '../tai64/local';
import { writeAll } from '../lib/writeall';
import { errstr } from '../lib/errstr';
import { badDescriptor, closedAtStart } from '../lib/stdfd';
import { writeLine } from '../lib/strerr';

const FATAL = 'tai64nlocal: fatal: ';

function die(what: string, e: unknown): never {
  // Like the original, which dies of SIGPIPE: a closed reader is no news.
  if ((e as NodeJS.ErrnoException)?.code !== 'EPIPE') writeLine(FATAL + what + errstr(e));
  process.exit(111);
}

// Node reopens a closed descriptor on /dev/null: without this, output to a
// closed stdout would vanish with exit 0 (the original fails its write).
let outClosed = false;

function emit(buf: Buffer): void {
  if (buf.length === 0) return;
  if (outClosed) die('unable to write output: ', badDescriptor());
  try {
    writeAll(1, buf);
  } catch (e) {
    die('unable to write output: ', e);
  }
}

export function main(_argv: string[]): void {
  // The original's first read fails on a closed stdin: 111, not an empty input.
  if (closedAtStart(0)) die('unable to read input: ', badDescriptor());
  outClosed = closedAtStart(1);
  const conv = new LocalConverter();
  process.stdin.on('data', (chunk: Buffer) => emit(conv.push(chunk)));
  process.stdin.on('end', () => {
    emit(conv.end());
    process.exit(0);
  });
  process.stdin.on('error', (e) => die('unable to read input: ', e));
}
