// An exclusive, non-blocking flock(2) on an open descriptor, the lock the
// real multilog takes on dir/lock, so ours and theirs exclude each other.
// Node has no flock: we use the native addon, or else flock(1) from
// util-linux on the inherited descriptor (flock locks belong to the open
// file description, so the lock outlives the helper and stays ours).
import { spawnSync } from 'node:child_process';
import { loadNative } from '../native';

function busy(): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error('lock held by another process');
  e.code = 'EAGAIN';
  return e;
}

export function lockExNb(fd: number): void {
  const native = loadNative();
  if (native && typeof native.flockExNb === 'function') {
    if (!native.flockExNb(fd)) throw busy();
    return;
  }
  const r = spawnSync('flock', ['-xn', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
  if (r.error) throw r.error;
  if (r.status === 1) throw busy();
  if (r.status !== 0) {
    const e: NodeJS.ErrnoException = new Error('flock(1) failed');
    e.code = 'ENOLCK';
    throw e;
  }
}
