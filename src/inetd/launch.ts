// Starting a service's program as openbsd-inetd does: the socket as fds 0, 1
// and 2, in a session of its own, argv from the line (argv[0] apart from the
// program's path), as the line's user (and group), with inetd's environment.
// Through child_process, not the addon's posix_spawn: only a fork can change
// user and group for one child, and the addon's launcher gives the server's
// stderr as fd 2 and takes argv[0] as the path.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import * as path from 'node:path';
import type { ExitStatus } from '../launch/launch';
import { lookupUserSpec } from '../engine/users';

const signals = constants.signals as Record<string, number>;

/** Who the child runs as: nothing to change (root line under root), or the ids. */
export interface Creds {
  uid?: number;
  gid?: number;
}

/**
 * The ids for a line's user[:group], as openbsd-inetd sets them: a user
 * other than root gets its uid and its passwd gid (or the group given); root
 * with a group gets that gid. A string is the error message, in its words.
 * Under a server that is not root only the server's own user may be named.
 */
export function credsFor(user: string, group: string | undefined, myUid: number): Creds | string {
  const u = lookupUserSpec(user);
  if (!u) return `getpwnam: ${user}: No such user`;
  let gid = u.gids[0];
  if (group !== undefined) {
    const g = lookupUserSpec(`${user}:${group}`);
    if (!g) return `getgrnam: ${group}: No such group`;
    gid = g.gids[0];
  }
  if (myUid !== 0) return u.uid === myUid ? {} : `${user}: not the user inetd runs as`;
  if (u.uid !== 0) return { uid: u.uid, gid };
  return group !== undefined ? { gid } : {};
}

export interface Program {
  /** The path executed, as the line names it (relative to inetd's directory when it has no '/'). */
  server: string;
  creds: Creds;
}

/**
 * Starts the program with fd as its 0, 1 and 2: started(err, pid) once (err
 * when it could not be executed), exited() once it is reaped after a start.
 */
export function spawnProgram(p: Program, argv: readonly string[], fd: number, env: NodeJS.ProcessEnv,
                             started: (err: NodeJS.ErrnoException | null, pid: number) => void,
                             exited: (st: ExitStatus) => void): void {
  let child;
  try {
    child = spawn(path.resolve(p.server), argv.slice(1), {
      argv0: argv[0], stdio: [fd, fd, fd], detached: true, env, ...p.creds,
    });
  } catch (e) {
    started(e as NodeJS.ErrnoException, 0);
    return;
  }
  const pid = child.pid;
  if (pid === undefined) {
    // exec failed (ENOENT, EACCES): child_process reports it through 'error', no process is left.
    child.once('error', (err) => started(err as NodeJS.ErrnoException, 0));
    return;
  }
  child.on('error', () => {});
  child.once('exit', (code, sig) => exited({ pid, code, signal: sig ? signals[sig] ?? 0 : null }));
  started(null, pid);
}
