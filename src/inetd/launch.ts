// Who a line's program runs as, as openbsd-inetd sets it: the line's user
// (and group) with that user's supplementary groups. The program itself is
// started by the server's launcher (src/launch/, table.ts's runProgram), as
// tcpsvd's and udpsvd's are: the socket as fds 0, 1 and 2, in a session of
// its own, argv from the line (argv[0] apart from the program's path), with
// inetd's environment. On the pure-Node path (child_process) a program gets
// the gid but no supplementary groups: Node clears them whenever it changes
// uid or gid.
import { type Accounts, LookupError, systemAccounts } from '../users/lookup';

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
 * groups: whether the supplementary groups are asked for (else gids is [gid]).
 */
export function credsFor(user: string, group: string | undefined, myUid: number, db: Accounts = systemAccounts(),
                         groups = true): Creds | string {
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
  // groups false: the launcher cannot set them (child_process), and getent
  // is not started for a list that would go unused, once per client.
  const list = (g: number) => (groups ? ask(() => db.getgrouplist(user, g)) : undefined) ?? [g];
  if (uid !== 0) return { uid, gid, gids: list(gid) };
  return group !== undefined ? { gid: pwGid, gids: list(pwGid) } : {};
}
