// Whose rights the server keeps after binding. tcpsvd's -u names a user and
// groups (ipsvd's uidgids_get); the group list becomes the whole supplementary
// set, the first one the gid. Looked up as ipsvd does (getpwnam, getgrnam:
// through NSS), in src/users/.
import { type Accounts, systemAccounts } from '../users/lookup';

export interface Ids {
  uid: number;
  /** gids[0] is the primary gid; all of them become the supplementary groups. */
  gids: number[];
}

const numeric = /^\d+$/;

/** "[:]user[:group...]"; undefined when a name is unknown or the numeric form is malformed. */
export function parseUserSpec(spec: string, db: Accounts): Ids | undefined {
  if (spec.startsWith(':')) {
    const f = spec.slice(1).split(':');
    if (f.length < 2 || !f.every((x) => numeric.test(x))) return undefined;
    return { uid: Number(f[0]), gids: f.slice(1).map(Number) };
  }
  const [user, ...groups] = spec.split(':');
  const pw = db.getpwnam(user);
  if (pw === undefined) return undefined;
  if (groups.length === 0) return { uid: pw.uid, gids: [pw.gid] };
  const gids: number[] = [];
  for (const g of groups) {
    const gid = db.getgrnam(g);
    if (gid === undefined) return undefined;
    gids.push(gid);
  }
  return { uid: pw.uid, gids };
}

/** The system's accounts (NSS); a LookupError when the databases cannot be read. */
export function lookupUserSpec(spec: string): Ids | undefined {
  return parseUserSpec(spec, systemAccounts());
}
