// Facts about the standard descriptors that Node.js hides, for the commands
// that must answer as the originals do when started with one closed.
//
// A descriptor 0, 1 or 2 that is closed when Node.js starts is reopened by
// Node itself on /dev/null (read-write), before any of our code runs: a
// closed input then reads as empty and a closed output swallows everything.
// The originals see the closed descriptor (or the next file they open lands
// on it) and fail. To tell the two apart:
//
// 1. The start-up stage in bin/ says which descriptors it found closed,
//    in UCSPI_CLOSED_FDS (a comma-separated list such as "0" or "0,1"; empty
//    for none), that answer is used and the variable is removed from the
//    environment, so that no child inherits it. A POSIX shell learns it with:
//
//        c=
//        true 9>&2 || c=2
//        for fd in 0 1; do { true 9>&$fd; } 2>/dev/null || c="$c${c:+,}$fd"; done
//        UCSPI_CLOSED_FDS=$c; export UCSPI_CLOSED_FDS
//
// 2. Otherwise, the descriptor is taken as closed when it is /dev/null open
//    for both reading and writing, as Node reopens it (Linux: the flags in
//    /proc/self/fdinfo). A shell's "</dev/null" or ">/dev/null" opens it for
//    one direction only and is not affected; "<>/dev/null" is, and is
//    documented as such in the man pages of the commands that check.
import * as fs from 'node:fs';

const ENV = 'UCSPI_CLOSED_FDS';
const O_ACCMODE = 3;
const O_RDWR = 2;
const DEV_NULL_RDEV = (1 << 8) | 3; // major 1, minor 3 on Linux

let told: Set<number> | null | undefined;

function fromEnv(): Set<number> | null {
  if (told !== undefined) return told;
  // The bundle's start-up code (scripts/banner.js) takes it out of the
  // environment for every command; run from elsewhere, it may still be there.
  let v = (process as { ucspiClosedFds?: string }).ucspiClosedFds;
  if (v === undefined) v = process.env[ENV];
  if (v === undefined) return (told = null);
  delete process.env[ENV];
  told = new Set(v.split(',').filter((x) => /^[0-9]+$/.test(x)).map(Number));
  return told;
}

/** Whether fd (0, 1 or 2) was closed when this process was started. */
export function closedAtStart(fd: number): boolean {
  const env = fromEnv();
  if (env) return env.has(fd);
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch {
    return true; // closed now: closed then, or made so since
  }
  if (!st.isCharacterDevice() || st.rdev !== DEV_NULL_RDEV) return false;
  let info: string;
  try {
    info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
  } catch {
    return false; // no /proc: nothing more can be known
  }
  const m = /^flags:\s*([0-7]+)$/m.exec(info);
  return m !== null && (parseInt(m[1], 8) & O_ACCMODE) === O_RDWR;
}

/** An errno-style error for a descriptor that is not open (EBADF). */
export function badDescriptor(): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error('file descriptor not open');
  e.code = 'EBADF';
  return e;
}
