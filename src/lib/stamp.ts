// "Has this file changed since we read it?", for the readers that keep what
// they read (a rules cdb, an instructions cdb, a directory listing) and
// stat(2) the path before every use.
//
// dev and ino: which file the path names; the compilers rename a new file
// over the old one, which gives a new inode (and an inode number alone may
// come back on another file system or after delete and create). size and
// mtime: a rewrite in place. ctime: a rewrite whose mtime was put back
// (cp -p, touch -r, tar), since no one can set ctime. And timestamps come
// from a coarse clock: a file changed within RACY_MS of our read may have
// changed again in the same tick unseen, so such a read is done once more
// when that window has passed. (Not at every use inside the window: a
// rules cdb of 100k lines is walked whole on every read, and tcprules has
// just written it when a server starts.)
import type { Stats } from 'node:fs';

const RACY_MS = 2000;

export class Stamp {
  private dev = -1;
  private ino = -1;
  private size = -1;
  private mtimeMs = NaN;
  private ctimeMs = NaN;
  private racy = false;

  /** Whether st is the file as it was read: false means read it again (and take() the new stat). */
  same(st: Stats, now?: number): boolean {
    if (st.ino !== this.ino || st.dev !== this.dev || st.size !== this.size ||
        st.mtimeMs !== this.mtimeMs || st.ctimeMs !== this.ctimeMs) return false;
    if (!this.racy) return true;
    const t = now ?? Date.now();
    return !(t > this.mtimeMs + RACY_MS && t > this.ctimeMs + RACY_MS);
  }

  /** Remember st, the stat(2) taken just before reading the file, read at `now`. */
  take(st: Stats, now: number = Date.now()): void {
    this.dev = st.dev;
    this.ino = st.ino;
    this.size = st.size;
    this.mtimeMs = st.mtimeMs;
    this.ctimeMs = st.ctimeMs;
    this.racy = now <= st.mtimeMs + RACY_MS || now <= st.ctimeMs + RACY_MS;
  }

  /** Forget: the next same() is false. */
  clear(): void {
    this.ino = -1;
  }
}
