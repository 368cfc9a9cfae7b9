// udpsvd: ipsvd's UDP service daemon. One prog at a time, handed the socket.
import { chooseBackend } from '../engine/backend';
import { createIdentifier } from '../identify/identify';
import { UdpEngine } from '../engine/udp';
import { type IpsvdOptions, IPSVD_DEFAULTS, accountOf, commonOption, fatalOf, ipsvdUsage, openPeers } from '../engine/ipsvd';
import { matchedEntry } from '../instruct/log';
import { errstr } from '../lib/errstr';
import { getopt, hostPortProg, orUsage } from '../lib/getopt';
import { dropPrivileges } from '../lib/privs';
import { writeLine } from '../lib/strerr';
import { udpsvdLog } from '../log/udpsvd';
import { parsePort } from '../listen/services';
import { resolveListenHost } from '../listen/resolve';
import { bindUdp, udpAddon } from '../listen/udp';

const USAGE = ipsvdUsage('udpsvd', '[-hpv] [-u user] [-l name] [-i dir|-x cdb] [-t sec] host port prog');

const fatal: (code: number, msg: string) => never = fatalOf('udpsvd');

export interface UdpsvdOptions extends IpsvdOptions {
  host: string;
  port: string;
  prog: string[];
}

/** Pure: argv → options, or BadOption or UsageError thrown. udpsvd has no -c, -C, -b or -E. */
export function parseArgs(argv: string[]): UdpsvdOptions {
  const o: IpsvdOptions = { ...IPSVD_DEFAULTS };
  const rest = getopt(argv, 'i:x:u:l:hpt:vV', (ch, v) => commonOption('udpsvd', o, ch, v));
  return { ...o, ...hostPortProg(rest) };
}

/**
 * host as ipsvd takes it: "" or "0" is every address; anything else as
 * tcpsvd resolves it (listen/resolve.ts: the name as given, then qualified,
 * through $DNSCACHEIP).
 */
async function localAddress(host: string): Promise<string> {
  if (host === '' || host === '0') return '0.0.0.0';
  try {
    return await resolveListenHost(host, { asGivenFirst: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOTFOUND') fatal(100, `unable to look up ip address: ${host}`);
    fatal(111, `unable to look up ip address: ${host}: ${errstr(err)}`);
  }
}

export async function main(argv: string[]): Promise<void> {
  const o = orUsage(USAGE, () => parseArgs(argv));
  const ids = accountOf('udpsvd', o.user);
  // SIGTERM: stop at once; a running prog keeps running.
  const log = udpsvdLog(o.verbose, o.rules && matchedEntry(o.rules));
  process.on('SIGTERM', () => {
    log.sigterm();
    process.exit(0);
  });
  const port = parsePort(o.port, undefined, 'udp');
  if (port === undefined) fatal(100, `unknown port number or name: ${o.port}`);
  const ip = await localAddress(o.host);
  // ipsvd looks up the local name once, at start, unless -l gives it.
  let localName = o.localName;
  if (localName === undefined) {
    const { createDns } = require('../identify/dns') as typeof import('../identify/dns');
    try {
      localName = (await createDns().ptr(ip)) ?? '';
    } catch (e) {
      fatal(111, `unable to look up local hostname: ${errstr(e as NodeJS.ErrnoException)}`);
    }
  }

  const addon = udpAddon();
  if (!addon) fatal(111, 'unable to create socket: no native addon with udpBind (build/Release/ucspi.node; npm install builds it)');
  // prog is started as tcpsvd's: the addon's launcher, or child_process ($UCSPI_LAUNCHER=spawn).
  let launcher;
  try {
    launcher = chooseBackend((what, e) => log.warn(what, e)).launcher;
  } catch (e) {
    fatal(111, (e as Error).message);
  }
  // Through child_process prog would inherit what we inherited without close-on-exec: closed now.
  if (launcher.name === 'spawn') (require('../launch/spawn') as typeof import('../launch/spawn')).closeInherited();
  let sock;
  try {
    sock = bindUdp(addon, ip, port);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    fatal(111, `unable to ${err.syscall === 'socket' ? 'create' : 'bind'} socket: ${errstr(err)}`);
  }
  if (ids) {
    dropPrivileges(ids.gids, ids.uid, (step, e) => fatal(111, `unable to set ${step}: ${errstr(e)}`));
  }

  const { source, openError } = openPeers(o, (msg) => writeLine(`udpsvd: warning: ${msg}`));
  log.listening(ip, o.port === '0' ? sock.port : o.port, ids?.uid, ids?.gids[0]);
  const needDns = o.rules !== undefined || o.lookup;
  new UdpEngine({
    prog: o.prog,
    localName,
    remoteHost: o.lookup,
    paranoid: o.paranoid,
    rules: o.rules && { source, path: o.rules.path, openError },
    identify: needDns ? createIdentifier({ onError: (what, rip, e) => log.warn(`${what}: ${rip}`, e) }) : null,
    log,
    launcher,
    env: process.env,
  }).serve(sock);
}
