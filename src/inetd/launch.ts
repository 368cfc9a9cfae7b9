// Starting a service's program as openbsd-inetd does: the socket as fds 0, 1
// and 2, in a session of its own, argv from the line (argv[0] apart from the
// program's path), as the line's user (and group) with that user's
// supplementary groups, with inetd's environment. Stream nowait lines on the
// addon's path go through the addon's launcher, as tcpsvd's clients
// (table.ts, with credsNow); what is here serves the others: through the
// addon's spawnAs when the groups change (Node's child_process clears the
// supplementary groups whenever it changes uid or gid); through child_process
// otherwise, or without the addon (then with no supplementary groups).
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';
import type { ExitStatus } from '../launch/launch';
import { loadNative } from '../native';
import { keepIgnoredAs } from '../lib/ignored';

const signals = constants.signals as Record<string, number>;

/** Who the child runs as: nothing to change (root line under root), or the ids. */
export interface Creds {
  uid?: number;
  gid?: number;
  /** The supplementary groups, gids[0] the gid, as initgroups(3) makes them. */
  gids?: number[];
}

/** The fields of name's line in a passwd or group file's text. */
function entry(text: string, name: string): string[] | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4 && /^\d+$/.test(f[2]) && (f.length < 7 || /^\d+$/.test(f[3]))) return f;
  }
  return undefined;
}

/** initgroups(user, gid)'s list from /etc/group: gid, then every group naming user as a member, in file order. */
export function initGroups(user: string, gid: number, groupText: string): number[] {
  const out = [gid];
  for (const line of groupText.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !/^\d+$/.test(f[2])) continue;
    const g = Number(f[2]);
    if (!out.includes(g) && f[3].split(',').includes(user)) out.push(g);
  }
  return out;
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
export function credsFor(user: string, group: string | undefined, myUid: number,
                         passwd = readFileSync('/etc/passwd', 'utf8'), groups = readFileSync('/etc/group', 'utf8')): Creds | string {
  const pw = entry(passwd, user);
  if (!pw) return `getpwnam: ${user}: No such user`;
  const uid = Number(pw[2]), pwGid = Number(pw[3]);
  let gid = pwGid;
  if (group !== undefined) {
    const gr = entry(groups, group);
    if (!gr) return `getgrnam: ${group}: No such group`;
    gid = Number(gr[2]);
  }
  if (myUid !== 0) return uid === myUid ? {} : `${user}: not the user inetd runs as`;
  if (uid !== 0) return { uid, gid, gids: initGroups(user, gid, groups) };
  return group !== undefined ? { gid: pwGid, gids: initGroups(user, pwGid, groups) } : {};
}

/** What identifies a file's content for the cache below: device, inode, size, change and modification times. */
function stamp(file: string): string {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (e) {
    return `!${(e as NodeJS.ErrnoException).code}`;
  }
}

let cacheStamp = '';
let cache = new Map<string, Creds | string>();

/**
 * credsFor from /etc/passwd and /etc/group as they are now: openbsd-inetd
 * looks the user up for every client, so a change to either file counts
 * from the next client on. The files are read again only when one of them
 * changed (two stat(2) per client instead of two reads and parses).
 */
export function credsNow(user: string, group: string | undefined, myUid: number): Creds | string {
  const now = stamp('/etc/passwd') + '|' + stamp('/etc/group');
  if (now !== cacheStamp) {
    cacheStamp = now;
    cache = new Map();
  }
  const key = group === undefined ? user : `${user}\0${group}`;
  let c = cache.get(key);
  if (c === undefined) {
    c = credsFor(user, group, myUid);
    if (cache.size < 4096) cache.set(key, c);
  }
  return c;
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
