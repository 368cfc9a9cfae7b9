// flock(2) on an open descriptor: the lock the originals take on multilog's
// dir/lock, supervise's supervise/lock and setlock's file, so that ours and
// theirs exclude each other. Node has no flock: the native addon takes it,
// or else util-linux flock(1) on the descriptor it inherits (a flock lock
// belongs to the open file description, so it outlives the helper and stays
// ours until we close the descriptor).
import { spawnSync } from 'node:child_process';
import { addonPart } from '../native';

function sysError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** flock(1) with its lock option on fd, as its fd 3. */
function flock1(option: string, fd: number): number | null {
  const r = spawnSync('flock', [option, '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
  if (r.error) throw r.error;
  return r.status;
}

/**
 * Takes the lock, or throws EAGAIN when another process holds it (ENOENT when
 * neither the addon nor flock(1) is there). Says which of the two took it.
 */
export function lockExNb(fd: number): 'native' | 'flock(1)' {
  const sys = addonPart('sys');
  if (sys) {
    sys.flockExNb(fd);
    return 'native';
  }
  const status = flock1('-xn', fd);
  if (status === 1) throw sysError('EAGAIN', 'lock held by another process');
  if (status !== 0) throw sysError('ENOLCK', 'flock(1) failed');
  return 'flock(1)';
}

/** Takes the lock, waiting while another process holds it (ENOENT when neither the addon nor flock(1) is there). */
export function lockEx(fd: number): void {
  const sys = addonPart('sys');
  if (sys) return sys.flockEx(fd);
  if (flock1('-x', fd) !== 0) throw sysError('ENOLCK', 'flock(1) failed');
}
