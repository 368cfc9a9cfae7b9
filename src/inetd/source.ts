// Reading inetd.conf itself, never blocking and never unbounded: what
// openbsd-inetd makes of a path that is not an ordinary file, and what this
// inetd does instead where the original would hang. A directory opens and
// reads as nothing there (every service goes, inetd stays up and takes the
// next good file on SIGHUP), so it is read here as an empty file. A FIFO,
// device or socket would block the original in open(2) or read(2), and with
// it every service: here it is refused. A file that cannot be opened at all
// (missing, a symlink loop, no permission) makes the original exit 1.
import { readRegular } from '../lib/regular';
import { strerror } from '../lib/errstr';

/** Larger than any inetd.conf: a file beyond it is refused rather than read into memory. */
export const MAX_CONF = 16 << 20;

export type ConfText =
  /** The text (latin1), and what to say about it (a directory). */
  | { text: string; note?: string }
  /** Not read. fatal: as openbsd-inetd, exit 1; else the services stay as they are. */
  | { error: string; fatal: boolean };

export function readConfText(file: string, max = MAX_CONF): ConfText {
  try {
    return { text: readRegular(file, max).toString('latin1') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') return { text: '', note: `${file}: Is a directory` };
    if (code === 'ENOTREG') return { error: `${file}: not a regular file`, fatal: false };
    if (code === 'EFBIG') return { error: `${file}: File too large (over ${max} bytes)`, fatal: false };
    return { error: `${file}: ${strerror(e)}`, fatal: true };
  }
}
