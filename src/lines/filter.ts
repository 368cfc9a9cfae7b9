// addcr and delcr: standard input to standard output through a converter, as
// ucspi-tcp's filters run: reads of up to 8192 bytes, each one's output
// written before the next read. A read that fails ends the filter with 111,
// and so does a write that fails (the originals see it at their next read);
// a write into a pipe nobody reads kills it with SIGPIPE, as it kills them.
// At the end of the input: exit 0 (delcr's last CR is written, its failure
// ignored, as delcr ignores its last flush).
import * as fs from 'node:fs';
import { writeAll } from '../lib/writeall';
import { sleepSync } from '../lib/sleep';
import { badDescriptor, closedAtStart } from '../lib/stdfd';
import { dieOf } from '../chain/exec';
import type { Converter } from './crlf';

const SIZE = 8192;

/** One read of fd, waiting out a descriptor left non-blocking; throws what read(2) fails with. */
export function readSome(fd: number, buf: Buffer): number {
  for (;;) {
    try {
      return fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') sleepSync(1);
      else if (code !== 'EINTR') throw e;
    }
  }
}

export function runFilter(conv: Converter): void {
  const inClosed = closedAtStart(0), outClosed = closedAtStart(1);
  const write = (b: Buffer): boolean => {
    if (b.length === 0) return true;
    try {
      if (outClosed) throw badDescriptor();
      writeAll(1, b);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
        dieOf('SIGPIPE');
        sleepSync(1000); // the signal's default action ends the process meanwhile
      }
      return false;
    }
  };
  const buf = Buffer.allocUnsafe(SIZE);
  for (;;) {
    let n: number;
    try {
      if (inClosed) throw badDescriptor();
      n = readSome(0, buf);
    } catch {
      return process.exit(111);
    }
    if (n === 0) {
      write(conv.end());
      return process.exit(0);
    }
    if (!write(conv.put(buf.subarray(0, n)))) return process.exit(111);
  }
}
