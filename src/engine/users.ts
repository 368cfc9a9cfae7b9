// Whose rights the server keeps after binding. tcpsvd's -u names a user and
// groups (ipsvd's uidgids_get); the group list becomes the whole supplementary
// set, the first one the gid. Pure parsers over /etc/passwd and /etc/group text.
import { readFileSync } from 'node:fs';

export interface Ids {
  uid: number;
  /** gids[0] is the primary gid; all of them become the supplementary groups. */
  gids: number[];
}

function field(text: string, name: string, col: number): number | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length > col && /^\d+$/.test(f[col])) return Number(f[col]);
  }
  return undefined;
}

const numeric = /^\d+$/;

/** "[:]user[:group...]"; undefined when a name is unknown or the numeric form is malformed. */
export function parseUserSpec(spec: string, passwd: string, group: string): Ids | undefined {
  if (spec.startsWith(':')) {
    const f = spec.slice(1).split(':');
    if (f.length < 2 || !f.every((x) => numeric.test(x))) return undefined;
    return { uid: Number(f[0]), gids: f.slice(1).map(Number) };
  }
  const [user, ...groups] = spec.split(':');
  const uid = field(passwd, user, 2);
  if (uid === undefined) return undefined;
  if (groups.length === 0) {
    const gid = field(passwd, user, 3);
    return gid === undefined ? undefined : { uid, gids: [gid] };
  }
  const gids: number[] = [];
  for (const g of groups) {
    const gid = field(group, g, 2);
    if (gid === undefined) return undefined;
    gids.push(gid);
  }
  return { uid, gids };
}

export function lookupUserSpec(spec: string): Ids | undefined {
  return parseUserSpec(spec, readFileSync('/etc/passwd', 'utf8'), readFileSync('/etc/group', 'utf8'));
}
