// flock(LOCK_EX|LOCK_NB) on an open descriptor: the lock the originals take
// on multilog's dir/lock and supervise's supervise/lock, so that ours and
// theirs exclude each other. Node has no flock: the native addon takes it,
// or else util-linux flock(1) on the descriptor it inherits (a flock lock
// belongs to the open file description, so it outlives the helper and stays
// ours until we close the descriptor).
import { spawnSync } from 'node:child_process';
import { loadNative } from '../native';

function sysError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * Takes the lock, or throws EAGAIN when another process holds it (ENOENT when
 * neither the addon nor flock(1) is there). Says which of the two took it.
 */
export function lockExNb(fd: number): 'native' | 'flock(1)' {
  const native = loadNative();
  if (native && typeof native.flockExNb === 'function') {
    if (!native.flockExNb(fd)) throw sysError('EAGAIN', 'lock held by another process');
    return 'native';
  }
  const r = spawnSync('flock', ['-xn', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
  if (r.error) throw r.error;
  if (r.status === 1) throw sysError('EAGAIN', 'lock held by another process');
  if (r.status !== 0) throw sysError('ENOLCK', 'flock(1) failed');
  return 'flock(1)';
}

/** flock(LOCK_EX), waiting until the lock is free: the addon, else flock(1) on the descriptor. */
export function lockEx(fd: number): void {
  const native = loadNative();
  if (native && typeof native.flockEx === 'function') {
    native.flockEx(fd);
    return;
  }
  const r = spawnSync('flock', ['-x', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw sysError('ENOLCK', 'flock(1) failed');
}
