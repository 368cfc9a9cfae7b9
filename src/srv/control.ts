// Commands to a supervisor through supervise/control (daemontools' and
// runit's letters), and bounded waits on what supervise/status then says.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { sleepSync } from '../lib/sleep';
import { Observed, observe } from './state';

export class ControlError extends Error {}

export function send(dir: string, letters: string): void {
  const file = path.join(dir, 'supervise', 'control');
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENXIO' || code === 'ENOENT' ? 'supervise not running' : errstr(e);
    throw new ControlError(`unable to control ${file}: ${why}`);
  }
  try {
    // Only a supervisor's FIFO: a regular file there (or a link to one) would be overwritten.
    if (!fs.fstatSync(fd).isFIFO()) throw new ControlError(`unable to control ${file}: not a FIFO`);
    fs.writeSync(fd, letters);
  } catch (e) {
    if (e instanceof ControlError) throw e;
    throw new ControlError(`unable to write to ${file}: ${errstr(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Polls dir until done(observed) or ms pass; the last observation and whether done. */
export function waitUntil(dir: string, ms: number, done: (o: Observed) => boolean): { o: Observed; ok: boolean } {
  const end = Date.now() + ms;
  for (;;) {
    const o = observe(dir);
    if (done(o)) return { o, ok: true };
    if (Date.now() >= end) return { o, ok: false };
    sleepSync(Math.min(100, Math.max(1, end - Date.now())));
  }
}
