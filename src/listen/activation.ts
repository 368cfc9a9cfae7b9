// Socket activation (--socket-activation): the listening socket comes from
// the process that started us (systemd, systemd-socket-activate, s6's or
// any sd_listen_fds(3) speaker) instead of being bound here. The protocol:
// LISTEN_PID is our pid, LISTEN_FDS the count of sockets passed from fd 3 on,
// LISTEN_FDNAMES their names. One socket is served; several are refused,
// since one server serves one address. The three variables are removed from
// our environment, as sd_listen_fds(1) does, so prog never sees them.
import type { Addon } from '../native';
import type { Listener } from './listen';

/** The first passed descriptor (SD_LISTEN_FDS_START). */
export const FIRST_FD = 3;

const VARS = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'];

/**
 * The passed socket's fd, or why there is none to serve. The variables are
 * removed from env either way.
 */
export function passedSocket(env: NodeJS.ProcessEnv, pid: number): number | string {
  const pidText = env.LISTEN_PID, fds = env.LISTEN_FDS;
  for (const v of VARS) delete env[v];
  if (pidText === undefined || fds === undefined) return 'no socket passed: LISTEN_PID and LISTEN_FDS are not set';
  if (!/^[0-9]+$/.test(pidText) || Number(pidText) !== pid) {
    return `no socket passed: LISTEN_PID is ${pidText}, this process is ${pid}`;
  }
  if (!/^[0-9]+$/.test(fds) || Number(fds) < 1) return `no socket passed: LISTEN_FDS is ${fds}`;
  if (Number(fds) > 1) return `${fds} sockets passed (LISTEN_FDS=${fds}): one is served; give each its own server`;
  return FIRST_FD;
}

/** The passed socket served on the chosen path: the addon's accept, or net.Server. */
export async function adopt(addon: Addon | null, fd: number): Promise<Listener> {
  if (addon) {
    const { adoptNative } = require('./native') as typeof import('./native');
    return adoptNative(addon, fd);
  }
  const { adoptNet } = require('./netserver') as typeof import('./netserver');
  return adoptNet(fd);
}
