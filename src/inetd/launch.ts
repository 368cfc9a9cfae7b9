// Starting a service's program as openbsd-inetd does: the socket as fds 0, 1
// and 2, in a session of its own, argv from the line (argv[0] apart from the
// program's path), as the line's user (and group) with that user's
// supplementary groups, with inetd's environment. Stream nowait lines on the
// addon's path go through the addon's launcher, as tcpsvd's clients
// (table.ts, with credsFor: NSS for every client, as openbsd-inetd); what is here serves the others: through the
// addon's spawnAs when the groups change (Node's child_process clears the
// supplementary groups whenever it changes uid or gid); through child_process
// otherwise, or without the addon (then with no supplementary groups).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import * as path from 'node:path';
import type { ExitStatus } from '../launch/launch';
import { loadNative } from '../native';
import { keepIgnoredAs } from '../lib/ignored';
import { type Accounts, LookupError, systemAccounts } from '../users/lookup';

const signals = constants.signals as Record<string, number>;

/** Who the child runs as: nothing to change (root line under root), or the ids. */
export interface Creds {
  uid?: number;
  gid?: number;
  /** The supplementary groups, gids[0] the gid, as initgroups(3) makes them. */
  gids?: number[];
}

/**
 * The ids for a line's user and group (the whole text after its '.' or ':'),
 * as Debian's openbsd-inetd sets them: a user other than root gets its uid,
 * the group given or its own from the password file as gid, and
 * initgroups(3)'s supplementary groups for that gid; root with a group gets
 * root's own gid and groups (the group named is looked up, and ignored);
 * root alone changes nothing. A string is the error message, in its words.
 * Under a server that is not root only the server's own user may be named.
 */
export function credsFor(user: string, group: string | undefined, myUid: number, db: Accounts = systemAccounts()): Creds | string {
  // openbsd-inetd says "No such" whatever made getpwnam or getgrnam fail.
  const ask = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (e instanceof LookupError) return undefined;
      throw e;
    }
  };
  const pw = ask(() => db.getpwnam(user));
  if (!pw) return `getpwnam: ${user}: No such user`;
  const uid = pw.uid, pwGid = pw.gid;
  let gid = pwGid;
  if (group !== undefined) {
    const gr = ask(() => db.getgrnam(group));
    if (gr === undefined) return `getgrnam: ${group}: No such group`;
    gid = gr;
  }
  if (myUid !== 0) return uid === myUid ? {} : `${user}: not the user inetd runs as`;
  // initgroups failing (openbsd-inetd goes on with its own groups): gid alone, never inetd's.
  // Without the addon no program gets supplementary groups (spawnProgram):
  // getent is not started for a list that would go unused, once per client.
  const unused = db === systemAccounts() && typeof loadNative()?.spawnAs !== 'function';
  const list = (g: number) => (unused ? undefined : ask(() => db.getgrouplist(user, g))) ?? [g];
  if (uid !== 0) return { uid, gid, gids: list(gid) };
  return group !== undefined ? { gid: pwGid, gids: list(pwGid) } : {};
}

export interface Program {
  /** The path executed, as the line names it (relative to inetd's directory when it has no '/'). */
  server: string;
  creds: Creds;
}

/** Programs started by spawnAs, which Node does not reap: pid → what to call when it ends. */
const ours = new Map<number, (st: ExitStatus) => void>();
let listening = false;

function reapOurs(): void {
  const n = loadNative()!;
  for (const [pid, exited] of ours) {
    let st: [number | null, number | null] | null;
    try {
      st = n.reapPid(pid);
    } catch {
      st = [null, null]; // reaped by someone else: gone all the same
    }
    if (st === null) continue;
    ours.delete(pid);
    exited({ pid, code: st[0], signal: st[1] });
  }
}

/**
 * Starts the program with fd as its 0, 1 and 2: started(err, pid) once (err
 * when it could not be executed), exited() once it is reaped after a start.
 */
export function spawnProgram(p: Program, argv: readonly string[], fd: number, env: NodeJS.ProcessEnv,
                             started: (err: NodeJS.ErrnoException | null, pid: number) => void,
                             exited: (st: ExitStatus) => void): void {
  const n = loadNative();
  if (p.creds.gids !== undefined && n && typeof n.spawnAs === 'function') {
    const envList: string[] = [];
    for (const [k, v] of Object.entries(env)) if (v !== undefined) envList.push(`${k}=${v}`);
    let pid: number;
    try {
      pid = n.spawnAs(path.resolve(p.server), [...argv], envList, fd, p.creds.uid ?? -1, p.creds.gids);
    } catch (e) {
      started(e as NodeJS.ErrnoException, 0);
      return;
    }
    if (!listening) {
      process.on('SIGCHLD', reapOurs);
      listening = true;
    }
    ours.set(pid, exited);
    started(null, pid);
    reapOurs(); // (one that ended before the listener was there)
    return;
  }
  let child;
  try {
    const k = keepIgnoredAs(path.resolve(p.server), argv.slice(1), argv[0]); // (lib/ignored.ts)
    child = spawn(k.file, k.args, {
      argv0: k.argv0, stdio: [fd, fd, fd], detached: true, env, uid: p.creds.uid, gid: p.creds.gid,
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
