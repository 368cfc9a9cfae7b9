// Environment changes as djb's pathexec_env makes them (envdir, envuidgid,
// chpst -e and -U): each name first loses its old value, then gets the new
// one, or none ("unset").
import * as fs from 'node:fs';

export class EnvChanges {
  private readonly changes: [string, string | undefined][] = [];

  set(name: string, value: string | undefined): void {
    this.changes.push([name, value]);
  }

  /** The environment prog gets: base with the changes applied in order. */
  apply(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...base };
    for (const [k, v] of this.changes) {
      delete env[k];
      if (v !== undefined) env[k] = v;
    }
    return env;
  }
}

/** Where an envdir read failed, for each tool's wording. */
export class EnvDirError extends Error {
  constructor(readonly step: 'cwd' | 'chdir' | 'opendir' | 'readdir' | 'read' | 'back',
              readonly cause: unknown, readonly file?: string) {
    super(step);
  }
}

const EMPTY = Buffer.alloc(0);
const NUL = Buffer.from([0]);
const MAX = 256; // read this much at a time: only the first line matters
/**
 * Linux's MAX_ARG_STRLEN: a variable of this many bytes or more cannot reach
 * the program (execve fails, E2BIG). A first line that has not ended within
 * this many bytes is read no further: the originals read the whole file
 * first (and never end on /dev/zero), to fail in the exec the same way.
 */
const LONGEST = 128 * 1024;

/**
 * A file's value: the first line, spaces and tabs at its end removed, NULs
 * turned into newlines; undefined for an empty file (unset the variable).
 */
export function envValue(buf: Buffer): string | undefined {
  if (buf.length === 0) return undefined;
  let end = buf.indexOf(0x0a);
  if (end < 0) end = buf.length;
  while (end > 0 && (buf[end - 1] === 0x20 || buf[end - 1] === 0x09)) end--;
  const line = Buffer.from(buf.subarray(0, end));
  for (let i = 0; i < line.length; i++) if (line[i] === 0) line[i] = 0x0a;
  return line.toString('utf8');
}

/**
 * The start of a file, up to its first newline. Opened without blocking, as
 * the originals' open_read: a FIFO with no writer reads as empty (the
 * variable is unset) instead of waiting for one for ever.
 */
function readHead(name: string): Buffer {
  const fd = fs.openSync(name, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < LONGEST) {
      const b = Buffer.alloc(MAX);
      const n = fs.readSync(fd, b, 0, MAX, null);
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
      total += n;
      if (b.subarray(0, n).includes(0x0a)) break;
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads dir as envdir does: every entry whose name does not start with '.',
 * in directory order, read from inside dir (so a relative symlink resolves
 * there). skipDir: a subdirectory is passed over (chpst -e) rather than fatal;
 * onSkip hears of it.
 */
export function readEnvDir(dir: string, changes: EnvChanges,
                           skipDir = false, onSkip?: (name: string, e: unknown) => void): void {
  let start: string;
  try {
    start = process.cwd();
  } catch (e) {
    throw new EnvDirError('cwd', e);
  }
  try {
    process.chdir(dir);
  } catch (e) {
    throw new EnvDirError('chdir', e);
  }
  let last = EMPTY;
  try {
    let d: fs.Dir;
    try {
      d = fs.opendirSync('.');
    } catch (e) {
      throw new EnvDirError('opendir', e);
    }
    try {
      for (;;) {
        let ent: fs.Dirent | null;
        try {
          ent = d.readSync();
        } catch (e) {
          throw new EnvDirError('readdir', e);
        }
        if (ent === null) break;
        if (ent.name.startsWith('.')) continue;
        let buf: Buffer;
        try {
          buf = readHead(ent.name);
        } catch (e) {
          if (skipDir && (e as NodeJS.ErrnoException).code === 'EISDIR') {
            onSkip?.(ent.name, e);
            continue;
          }
          // An entry that cannot be opened for want of a file (a dangling
          // symlink, a file removed since readdir) is no error to the
          // originals: their read leaves the buffer as the entry before left
          // it, and that is read again.
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new EnvDirError('read', e, ent.name);
          buf = last;
        }
        const value = envValue(buf);
        changes.set(ent.name, value);
        // What the originals' buffer holds now: the value and its NUL.
        last = value === undefined ? EMPTY : Buffer.concat([Buffer.from(value), NUL]);
      }
    } finally {
      d.closeSync();
    }
  } finally {
    try {
      process.chdir(start);
    } catch (e) {
      // eslint-disable-next-line no-unsafe-finally
      throw new EnvDirError('back', e);
    }
  }
}
