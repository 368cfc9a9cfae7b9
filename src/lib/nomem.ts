// Out of memory told apart from the rest: a bound a command sets on what it
// holds, or the engine failing one allocation. The commands then exit 111
// with their original's "out of memory" (lib/errstr's ENOMEM), not a stack
// trace.

/** An errno-style ENOMEM: a bound on what a command holds in memory was reached. */
export function outOfMemory(): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error('out of memory');
  e.code = 'ENOMEM';
  return e;
}

/**
 * Whether e is the engine running out of memory for one allocation (a
 * Buffer, a string) rather than a bug: the commands then exit 111 with
 * their original's "out of memory", not a stack trace.
 */
export function isOutOfMemory(e: unknown): boolean {
  if ((e as NodeJS.ErrnoException)?.code === 'ENOMEM') return true;
  if (!(e instanceof RangeError)) return false;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ERR_STRING_TOO_LONG' || code === 'ERR_BUFFER_TOO_LARGE' || code === 'ERR_FS_FILE_TOO_LARGE') return true;
  return /allocation failed|Invalid (typed )?array length|Array buffer allocation|Invalid string length/i.test(e.message);
}
