// utmpset's two updates, as runit 2.1.2's: in utmp, the first login record
// on the line becomes a logout (rewritten in place, under an exclusive flock
// of the file); in wtmp, a logout record for the line is appended (the file
// created 0600 when missing, cut back to its size when the write fails).
import * as fs from 'node:fs';
import { lockEx } from '../lib/flock';
import { SIZE, deadRecord, isLoginOn, markDead } from './record';

export const UTMP = '/var/run/utmp';
export const WTMP = '/var/log/wtmp';

/** A step that failed: the words after "utmpset: fatal: ", and the system error. */
export class UtmpError extends Error {
  constructor(readonly what: string, readonly cause: unknown) {
    super(what);
  }
}

const now = () => Math.floor(Date.now() / 1000);

/** true when a login record on line was found and rewritten; false when none was (or the rewrite failed). */
export function utmpLogout(line: Buffer, file = UTMP): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR);
  } catch (e) {
    throw new UtmpError(`unable to open ${file}`, e);
  }
  try {
    try {
      lockEx(fd);
    } catch (e) {
      throw new UtmpError(`unable to lock: ${file}`, e);
    }
    const rec = Buffer.alloc(SIZE);
    for (let pos = 0; ; pos += SIZE) {
      let n: number;
      try {
        n = fs.readSync(fd, rec, 0, SIZE, pos);
      } catch {
        return false;
      }
      if (n !== SIZE) return false;
      if (!isLoginOn(rec, line)) continue;
      markDead(rec, now());
      try {
        return fs.writeSync(fd, rec, 0, SIZE, pos) === SIZE;
      } catch {
        return false;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends the logout record; throws UtmpError when the file cannot be opened or locked, returns the write's error otherwise. */
export function wtmpLogout(line: Buffer, file = WTMP): unknown {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
  } catch (e) {
    throw new UtmpError(`unable to open ${file}`, e);
  }
  try {
    try {
      lockEx(fd);
    } catch (e) {
      throw new UtmpError(`unable to lock ${file}`, e);
    }
    let size: number;
    try {
      size = fs.fstatSync(fd).size;
    } catch (e) {
      return e;
    }
    const rec = deadRecord(line, now());
    try {
      const n = fs.writeSync(fd, rec);
      if (n === SIZE) return undefined;
      throw Object.assign(new Error('short write'), { code: 'EIO' });
    } catch (e) {
      try { fs.ftruncateSync(fd, size); } catch { /* as the original: no word of it */ }
      return e;
    }
  } finally {
    fs.closeSync(fd);
  }
}
