// tai64n: copy stdin to stdout, each line preceded by '@', the TAI64N label
// of the moment its first byte was read, and a space, as daemontools 0.76's
// tai64n. Everything read is written before the next read, so lines come out
// as they come in. Exits 0 at end of input (a last line without newline is
// written as it is), 111 when stdout cannot be written.
import { timestampLabel } from '../lib/tai64';
import { writeAll } from '../lib/writeall';

export function main(_argv: string[]): void {
  let atLineStart = true;
  process.stdin.on('data', (chunk: Buffer) => {
    const parts: Buffer[] = [];
    let from = 0;
    while (from < chunk.length) {
      if (atLineStart) {
        parts.push(Buffer.from(timestampLabel() + ' ', 'latin1'));
        atLineStart = false;
      }
      const nl = chunk.indexOf(0x0a, from);
      const to = nl < 0 ? chunk.length : nl + 1;
      parts.push(chunk.subarray(from, to));
      if (nl >= 0) atLineStart = true;
      from = to;
    }
    try {
      writeAll(1, Buffer.concat(parts));
    } catch {
      process.exit(111);
    }
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(111));
}
