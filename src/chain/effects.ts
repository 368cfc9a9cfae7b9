// The effects the chain-loading tools have on their own process before they
// become prog, one implementation each, shared by the daemontools commands
// and chpst (which words the failures its own way).
import { dropPrivileges, PrivStep } from '../lib/privs';
import { addonPart } from '../native';
import { spawnSync } from 'node:child_process';

/** setuidgid, chpst -u: the groups, the gid, then the uid, for good. */
export function becomeAccount(gids: number[], uid: number, fail: (step: PrivStep, e: unknown) => never): void {
  dropPrivileges(gids, uid, fail);
}

/**
 * pgrphack, chpst -P: a new session and process group led by this process.
 * false when it could not (already a group leader; no addon, where the
 * child is started in a new session instead).
 */
export function newSession(): boolean {
  const n = addonPart('exec');
  if (!n) return false;
  try {
    n.setsid();
    return true;
  } catch {
    return false;
  }
}

/** chpst -/: chroot(".") after chdir(root); without the addon, an error. */
export function changeRoot(): void {
  const n = addonPart('exec');
  if (!n) {
    throw Object.assign(new Error('native addon missing, chroot unavailable'), { code: 'ENOSYS' });
  }
  n.chroot('.');
}

/** chpst -n: nice(inc), the increment added to the current level. */
export function addNice(inc: number): void {
  const n = addonPart('exec');
  if (n) {
    n.nice(inc);
    return;
  }
  // Without the addon: renice(1) on ourselves adds the same increment.
  const r = spawnSync('renice', ['-n', String(inc), '-p', String(process.pid)], { stdio: 'ignore' });
  if (r.status !== 0) throw Object.assign(new Error('renice failed'), { code: 'EPERM' });
}
