// Accounts as getpwnam(3) and getgrnam(3) find them: /etc/passwd and
// /etc/group first, then getent(1) for the other name services of
// nsswitch.conf (LDAP, systemd's dynamic users ...), so that a name the
// originals know is known here too.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { usage } from '../lib/getopt';
import { scanUlong } from '../lib/scan';
import { die } from '../lib/strerr';

export interface Account { uid: number; gid: number }

/** Thrown when the account databases cannot be read at all (the originals: errno set). */
export class LookupError extends Error {
  constructor(readonly cause: unknown) {
    super('lookup');
  }
}

function entry(file: string, db: string, name: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new LookupError(e);
    text = '';
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return f;
  }
  if (name === '' || name.startsWith('+') || name.startsWith('-')) return undefined;
  const r = spawnSync('getent', [db, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  const f = r.stdout.split('\n')[0].split(':');
  return f[0] === name && f.length >= 4 ? f : undefined;
}

const id = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);

export function getpwnam(name: string): Account | undefined {
  const f = entry('/etc/passwd', 'passwd', name);
  if (f === undefined) return undefined;
  const uid = id(f[2]), gid = id(f[3]);
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

export function getgrnam(name: string): number | undefined {
  const f = entry('/etc/group', 'group', name);
  return f === undefined ? undefined : id(f[2]);
}

/** uid and groups; gids[0] the gid, all of them the supplementary groups. */
export interface UidGids { uid: number; gids: number[] }

/** runit's ":uid:gid[:gid...]" (after the colon); undefined when malformed. */
function numericSpec(s: string): UidGids | undefined {
  const [uid, first] = scanUlong(s, 0);
  let at = first;
  if (s[at] !== ':') return undefined;
  const gids: number[] = [];
  at++;
  for (let i = 0; i < 60; i++) {
    const [g, end] = scanUlong(s, at);
    gids.push(g);
    at = end;
    if (s[at] !== ':') break;
    at++;
  }
  if (at < s.length) return undefined;
  return { uid, gids };
}

/**
 * chpst's "[:]user[:group[:group...]]": user's uid, and either user's gid or
 * the listed groups' gids; a leading colon: numbers, no lookup.
 * undefined: unknown user or group, or a malformed numeric form.
 */
export function uidGids(spec: string): UidGids | undefined {
  if (spec.startsWith(':')) return numericSpec(spec.slice(1));
  const colon = spec.indexOf(':');
  const user = colon < 0 ? spec : spec.slice(0, colon);
  const pw = getpwnam(user);
  if (pw === undefined) return undefined;
  if (colon < 0) return { uid: pw.uid, gids: [pw.gid] };
  const gids: number[] = [];
  for (const g of spec.slice(colon + 1).split(':').slice(0, 60)) {
    const gid = getgrnam(g);
    if (gid === undefined) return undefined;
    gids.push(gid);
  }
  return { uid: pw.uid, gids };
}

/**
 * daemontools' setuidgid and envuidgid: `prog account child`; the account
 * looked up, or the tool's usage or fatal line and exit.
 */
export function accountAndChild(prog: string, argv: string[]): { pw: Account; child: string[] } {
  const [account, ...child] = argv;
  if (account === undefined || child.length === 0) usage({ prog, text: `${prog}: usage: ${prog} account child`, code: 100 });
  let pw: Account | undefined;
  try {
    pw = getpwnam(account);
  } catch (e) {
    die(prog, 'unable to read the account database', e instanceof LookupError ? e.cause : e);
  }
  if (pw === undefined) die(prog, `unknown account ${account}`);
  return { pw, child };
}
