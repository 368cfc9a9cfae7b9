// write(2) until everything is out. An inherited descriptor may be in
// non-blocking mode (Node leaves pipes that way), so EAGAIN means: wait a
// little and try again, not: fail.
import * as fs from 'node:fs';
import { sleepSync } from './sleep';

export function writeAll(fd: number, buf: Buffer, position: number | null = null): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off, position === null ? null : position + off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      sleepSync(1);
    }
  }
}
