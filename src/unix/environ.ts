// prog's environment under unixserver and unixclient, as ucspi-unix's
// PROTOCOL defines it: PROTO=UNIX, the socket's path, the local process's
// uid, gid and pid, and the peer's effective uid and gid and pid when the
// kernel tells them (SO_PEERCRED). The variables come after the server's own
// environment in ucspi-unix's order (each setenv(3) of a new name appends it).
import { decimal } from '../decimal';
import { toBytes } from '../lib/bytes';

/** Who is at the other end of a UNIX-domain connection (SO_PEERCRED). */
export interface UnixPeer {
  pid: number;
  uid: number;
  gid: number;
}

/** Every name the connection sets: the server's own values of these never reach prog. */
export const UNIX_VARS: readonly string[] = [
  'UNIXREMOTEEGID', 'UNIXREMOTEEUID', 'UNIXREMOTEPID',
  'PROTO', 'UNIXLOCALGID', 'UNIXLOCALPID', 'UNIXLOCALPATH', 'UNIXLOCALUID',
];

/**
 * Appends the connection's variables to out; returns the index of
 * UNIXLOCALPID, whose value (prog's own pid) the launcher fills in, or
 * -1 when localPid is given (unixclient: its own pid, which prog keeps).
 * uid and gid: the local process's real ids.
 */
export function pushUnixEnv(out: string[], path: string, peer: UnixPeer | undefined,
                            uid: number, gid: number, localPid?: number): number {
  if (peer) {
    out.push('UNIXREMOTEEGID=' + decimal(peer.gid), 'UNIXREMOTEEUID=' + decimal(peer.uid),
      'UNIXREMOTEPID=' + decimal(peer.pid));
  }
  out.push('PROTO=UNIX', 'UNIXLOCALGID=' + decimal(gid));
  const at = localPid === undefined ? out.length : -1;
  out.push('UNIXLOCALPID=' + (localPid === undefined ? '' : decimal(localPid)));
  out.push('UNIXLOCALPATH=' + toBytes(path), 'UNIXLOCALUID=' + decimal(uid));
  return at;
}
