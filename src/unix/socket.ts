// The socket file: what is at the path before unixserver binds, and what
// becomes of it at the end. ucspi-unix unlinks whatever is at the path
// before it binds (a regular file or a FIFO included) and unlinks the path
// on exit whatever is there then; here only a socket is ever removed: a
// stale one before binding, and at the end only the one this server bound
// (the same inode), never another server's that took the path since.
import { lstatSync, unlinkSync } from 'node:fs';

/** The path's inode if it is a socket, undefined when nothing is there; throws what lstat throws otherwise. */
function socketAt(path: string): { dev: number; ino: number } | undefined | 'other' {
  try {
    const st = lstatSync(path);
    return st.isSocket() ? { dev: st.dev, ino: st.ino } : 'other';
  } catch {
    return undefined;
  }
}

/**
 * Before binding: a socket at path (stale, or another server's, as
 * ucspi-unix takes it) is removed. Anything else is left in place, and the
 * bind then fails as it does for a directory ("Address already in use"):
 * the returned text says why, for a line of its own.
 */
export function clearStale(path: string): string | undefined {
  const at = socketAt(path);
  if (at === undefined) return undefined;
  if (at === 'other') return `${path}: exists and is not a socket: not removed`;
  try {
    unlinkSync(path);
  } catch {
    // gone meanwhile, or not ours to remove: the bind says so
  }
  return undefined;
}

/** The socket file this server bound: removed at the end only while it is still that file. */
export class BoundFile {
  private readonly id: { dev: number; ino: number } | undefined;
  constructor(readonly path: string) {
    const at = socketAt(path);
    this.id = at === 'other' ? undefined : at;
  }

  remove(): void {
    const now = socketAt(this.path);
    if (!this.id || !now || now === 'other' || now.dev !== this.id.dev || now.ino !== this.id.ino) return;
    try {
      unlinkSync(this.path);
    } catch {
      // nothing better to do at exit
    }
  }
}
