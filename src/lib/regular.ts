// Files read on an event loop (rules cdb, peers dir entries, peers cdb) are
// opened without blocking and must be regular files: a FIFO, device or socket
// put in their place would otherwise freeze the whole process in open(2) or
// read(2). What is not a regular file fails (the server: closed, for the
// client that needed it; it goes on serving the others).
import * as fs from 'node:fs';

const { O_RDONLY, O_NONBLOCK } = fs.constants;

function failure(code: string, message: string, path: string | Buffer): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, path: String(path), syscall: 'open' });
}

/** Opens path for reading, never blocking; throws unless it is a regular file. */
export function openRegular(path: string | Buffer): { fd: number; size: number } {
  const fd = fs.openSync(path, O_RDONLY | O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    // A directory fails as reading it would (ipsvd: "is a directory").
    if (st.isDirectory()) throw failure('EISDIR', 'is a directory', path);
    if (!st.isFile()) throw failure('ENOTREG', 'not a regular file', path);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/**
 * A regular file's contents, at most max bytes (a longer file throws EFBIG,
 * "file too big"); buf is reused when big enough. Returns the bytes read.
 */
export function readRegular(path: string | Buffer, max: number, buf?: Buffer): Buffer {
  const { fd, size } = openRegular(path);
  try {
    if (size > max) throw failure('EFBIG', 'file too big', path);
    let b = buf && buf.length > size ? buf : Buffer.allocUnsafeSlow(Math.min(max, size) + 1);
    let n = 0;
    for (;;) {
      if (n === b.length) {
        // Grew while being read: at most max bytes are ever taken.
        if (n > max) throw failure('EFBIG', 'file too big', path);
        const bigger = Buffer.allocUnsafeSlow(Math.min(max + 1, b.length * 2));
        b.copy(bigger, 0, 0, n);
        b = bigger;
      }
      const r = fs.readSync(fd, b, n, b.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > max) throw failure('EFBIG', 'file too big', path);
    return b.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
