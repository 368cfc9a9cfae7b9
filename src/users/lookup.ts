// The one account look-up of every tool that changes user: tcpsvd's and
// udpsvd's -u, setuidgid, envuidgid, chpst -u and -U, inetd's user and group
// fields. Through the C library's name service switch, as the originals
// (getpwnam, getgrnam, initgroups): the addon's getpwnam_r, getgrnam_r and
// getgrouplist. Without the addon, the same answers from /etc/passwd and
// /etc/group, then getent(1) for a name they lack (LDAP, extrausers,
// systemd's dynamic users) and for the groups of initgroups.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { addonPart } from '../native';
import { type Accounts, entryOf, groupListOf, passwdOf } from './text';

export type { Accounts } from './text';

/**
 * The account database could not be read at all (the originals: getpwnam
 * returned NULL with errno set); cause is the error.
 */
export class LookupError extends Error {
  constructor(readonly cause: unknown) {
    super('lookup');
  }
}

/** The file's text; '' when it does not exist, LookupError when it cannot be read. */
function fileText(file: string): { text: string; missing?: NodeJS.ErrnoException } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new LookupError(e);
    return { text: '', missing: e as NodeJS.ErrnoException };
  }
}

/** getent's output lines for db and key: null when getent could not be run, [] when nothing found. */
function getent(db: string, key: string): string[] | null {
  const r = spawnSync('getent', [db, '--', key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000 });
  if (r.error) return null;
  if (r.status !== 0 || !r.stdout) return [];
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Names getent is not asked about: none, and the "files" compat lines' + and - (NIS). */
const unaskable = (name: string) => name === '' || name.startsWith('+') || name.startsWith('-') || name.includes('\0') || name.includes('\n');

/** name's line: the file first, then getent (name checked: getent takes a number as an id). */
function entry(file: string, db: string, name: string): string[] | undefined {
  const { text, missing } = fileText(file);
  const f = entryOf(text, name);
  if (f !== undefined || unaskable(name)) return f;
  const lines = getent(db, name);
  // No file and no getent (a new root without either): the database is missing.
  if (lines === null) {
    if (missing) throw new LookupError(missing);
    return undefined;
  }
  return lines.length > 0 ? entryOf(lines[0], name) : undefined;
}

const fallback: Accounts = {
  getpwnam: (name) => passwdOf(entry('/etc/passwd', 'passwd', name)),
  getgrnam: (name) => {
    const f = entry('/etc/group', 'group', name);
    return f === undefined ? undefined : Number(f[2]);
  },
  getgrouplist: (user, gid) => {
    // getent initgroups prints "user gid gid ..." (getgrouplist with no group of its own).
    const lines = unaskable(user) ? null : getent('initgroups', user);
    if (lines === null) return groupListOf(fileText('/etc/group').text, user, gid);
    const out = [gid];
    for (const w of (lines[0] ?? '').trim().split(/\s+/).slice(1)) {
      if (!/^\d+$/.test(w)) continue;
      const g = Number(w);
      if (!out.includes(g)) out.push(g);
    }
    return out;
  },
};

/** A failed look-up of the addon, as LookupError. */
function thrown<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new LookupError(e);
  }
}

function native(): Accounts | undefined {
  const n = addonPart('users');
  if (!n) return undefined;
  return {
    getpwnam: (name) => {
      const r = thrown(() => n.getpwnam(name));
      return r === null ? undefined : { uid: r[0], gid: r[1] };
    },
    getgrnam: (name) => thrown(() => n.getgrnam(name)) ?? undefined,
    getgrouplist: (user, gid) => thrown(() => n.getgrouplist(user, gid)),
  };
}

let chosen: Accounts | undefined;

/** The system's accounts: the addon's NSS look-ups, else the files and getent. */
export function systemAccounts(): Accounts {
  return (chosen ??= native() ?? fallback);
}
