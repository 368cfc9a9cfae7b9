// Accounts as getpwnam(3) and getgrnam(3) find them, through NSS (LDAP,
// systemd's dynamic users ...: src/users/), so that a name the originals
// know is known here too; and the account arguments of setuidgid, envuidgid
// and chpst -u/-U.
import { usage } from '../lib/getopt';
import { scanUlong } from '../lib/scan';
import { die } from '../lib/strerr';
import { LookupError, systemAccounts } from '../users/lookup';

export { LookupError } from '../users/lookup';

export interface Account { uid: number; gid: number }

export function getpwnam(name: string): Account | undefined {
  return systemAccounts().getpwnam(name);
}

export function getgrnam(name: string): number | undefined {
  return systemAccounts().getgrnam(name);
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
    // A database that does not exist holds no account (daemontools does not look at errno).
    const cause = e instanceof LookupError ? e.cause : e;
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') die(prog, 'unable to read the account database', cause);
  }
  if (pw === undefined) die(prog, `unknown account ${account}`);
  return { pw, child };
}
