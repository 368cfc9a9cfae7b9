// Replacing a file in a directory others may write to (a service's peers/
// or env/, run as root): the new contents go to a temporary file of an
// unpredictable name, created with O_EXCL and O_NOFOLLOW (a link or file
// planted at that name makes the open fail instead of being followed), its
// mode set on the descriptor, synced, then renamed over the file. rename
// replaces a link at the final name itself, never what it points to.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll } from './writeall';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/** A new file beside `file`, named .<base>.<random>.tmp, with mode (umask aside): its descriptor and path. */
export function createTemp(file: string, mode: number): { fd: number; tmp: string } {
  for (let tries = 0; ; tries++) {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
    let fd: number;
    try {
      fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (e) {
      // A name taken by chance (or by someone guessing): another one.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 8) throw e;
      continue;
    }
    try {
      fs.fchmodSync(fd, mode);
    } catch (e) {
      fs.closeSync(fd);
      fs.unlinkSync(tmp);
      throw e;
    }
    return { fd, tmp };
  }
}

/** file's contents become content, with mode, all at once for any reader. */
export function replaceFile(file: string, content: string | Buffer, mode: number): void {
  const { fd, tmp } = createTemp(file, mode);
  try {
    try {
      writeAll(fd, typeof content === 'string' ? Buffer.from(content) : content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* renamed, or gone */ }
    throw e;
  }
}
