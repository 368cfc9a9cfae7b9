// struct utmp as glibc lays it out on x86_64 (and every 64-bit Linux glibc
// port but for byte order, which is the machine's): 384 bytes, the same in
// /var/run/utmp and /var/log/wtmp. Only what utmpset reads and writes.
import { endianness } from 'node:os';

export const SIZE = 384;
export const DEAD_PROCESS = 8;

const TYPE = 0;      // short ut_type
const LINE = 8;      // char ut_line[32]
export const LINE_SIZE = 32;
const USER = 44;     // char ut_user[32] (ut_name)
const HOST = 76;     // char ut_host[256]
const TV_SEC = 340;  // int32_t ut_tv.tv_sec (32 bits even on 64-bit glibc)

const LE = endianness() === 'LE';

/**
 * Whether the record is a login on line, as runit compares: ut_user not
 * empty, and ut_line read as a C string (on into ut_id when all 32 bytes are
 * used) equal to line.
 */
export function isLoginOn(rec: Buffer, line: Buffer): boolean {
  if (rec[USER] === 0) return false;
  const end = rec.indexOf(0, LINE);
  const text = rec.subarray(LINE, end < 0 ? rec.length : end);
  return text.equals(line);
}

function setTime(rec: Buffer, sec: number): void {
  const v = sec % 2 ** 32; // the field's 32 bits, as a C assignment keeps them
  if (LE) rec.writeUInt32LE(v, TV_SEC);
  else rec.writeUInt32BE(v, TV_SEC);
}

function setType(rec: Buffer, type: number): void {
  if (LE) rec.writeInt16LE(type, TYPE);
  else rec.writeInt16BE(type, TYPE);
}

/** The login record made a logout, in place: no user, no host, the time now, DEAD_PROCESS; the rest kept. */
export function markDead(rec: Buffer, sec: number): void {
  rec.fill(0, USER, USER + 32);
  rec.fill(0, HOST, HOST + 256);
  setTime(rec, sec);
  setType(rec, DEAD_PROCESS);
}

/**
 * The wtmp logout record for line: all zero but the line, the time and
 * DEAD_PROCESS. A line longer than ut_line keeps its first 30 bytes, as runit's.
 */
export function deadRecord(line: Buffer, sec: number): Buffer {
  const rec = Buffer.alloc(SIZE);
  const len = line.length > LINE_SIZE ? LINE_SIZE - 2 : line.length;
  line.copy(rec, LINE, 0, len);
  setTime(rec, sec);
  setType(rec, DEAD_PROCESS);
  return rec;
}
