// setlock's and chpst -l/-L's lock: the file opened for appending (created
// 0600 when missing, as open_append does), then flock'ed, exclusively; the
// descriptor stays open into prog, which holds the lock while it runs.
import * as fs from 'node:fs';
import { lockEx, lockExNb } from '../lib/flock';

export class LockError extends Error {
  constructor(readonly step: 'open' | 'lock', readonly cause: unknown) {
    super(step);
  }
}

/** Returns the locked descriptor; wait: block until the lock is free (else EAGAIN). */
export function takeLock(file: string, wait: boolean): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NONBLOCK, 0o600);
  } catch (e) {
    throw new LockError('open', e);
  }
  try {
    if (!wait) lockExNb(fd);
    else lockEx(fd);
  } catch (e) {
    throw new LockError('lock', e);
  }
  return fd;
}
