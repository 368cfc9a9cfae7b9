// udpsvd: ipsvd's UDP service daemon. One prog at a time, handed the socket.
import type { RuleSource } from '../decide/decision';
import { createIdentifier } from '../identify/identify';
import { UdpEngine } from '../engine/udp';
import { type Ids, lookupUserSpec } from '../engine/users';
import { matchedEntry } from '../instruct/log';
import { errstr } from '../lib/errstr';
import { UsageError, decimalArg, getopt, hostPortProg, orUsage } from '../lib/getopt';
import { dropPrivileges } from '../lib/privs';
import { die, writeLine } from '../lib/strerr';
import { udpsvdLog } from '../log/udpsvd';
import { parsePort } from '../listen/services';
import { resolveListenHost } from '../listen/resolve';
import { bindUdp, udpAddon } from '../listen/udp';

// ipsvd ends its usage with an empty line, and exits 111.
const USAGE = {
  prog: 'udpsvd',
  text: 'usage: udpsvd [-hpv] [-u user] [-l name] [-i dir|-x cdb] [-t sec] host port prog\n',
  code: 111,
};

function fatal(code: number, msg: string): never {
  return die('udpsvd', msg, undefined, code);
}

function versionLine(): string {
  const { version } = require('../../../package.json') as { version: string };
  return `$Id: ucspi-node udpsvd ${version} $`;
}

export interface UdpsvdOptions {
  verbose: number;
  lookup: boolean;
  paranoid: boolean;
  user?: string;
  localName?: string;
  rules?: { kind: 'peers-dir' | 'peers-cdb'; path: string };
  timeout: number;
  host: string;
  port: string;
  prog: string[];
}

/** Pure: argv → options, or BadOption or UsageError thrown. udpsvd has no -c, -C, -b or -E. */
export function parseArgs(argv: string[]): UdpsvdOptions {
  const o: Omit<UdpsvdOptions, 'host' | 'port' | 'prog'> = { verbose: 0, lookup: false, paranoid: false, timeout: 0 };
  const rest = getopt(argv, 'i:x:u:l:hpt:vV', (ch, v = '') => {
    switch (ch) {
      case 'i': case 'x':
        if (o.rules) throw new UsageError(); // -i and -x exclude each other
        o.rules = { kind: ch === 'i' ? 'peers-dir' : 'peers-cdb', path: v };
        break;
      case 'u': o.user = v; break;
      case 'l': o.localName = v; break;
      case 'h': o.lookup = true; break;
      case 'p': o.lookup = true; o.paranoid = true; break;
      case 't': o.timeout = decimalArg(v); break;
      case 'v': o.verbose++; break;
      // ipsvd: -V prints its version, then the usage (exit 111).
      case 'V': throw new UsageError(versionLine());
    }
  });
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
  let ids: Ids | undefined;
  if (o.user !== undefined) {
    try {
      ids = lookupUserSpec(o.user);
    } catch (e) {
      fatal(111, `unable to get user/group: ${o.user}: ${errstr(e as NodeJS.ErrnoException)}`);
    }
    if (!ids) fatal(100, `unknown user/group: ${o.user}`);
  }
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

  let source: RuleSource | null = null;
  let openError: NodeJS.ErrnoException | undefined;
  if (o.rules) {
    try {
      const { openRuleSource } = require('../decide/index') as typeof import('../decide/index');
      source = openRuleSource({
        kind: o.rules.kind, path: o.rules.path, expireSec: o.timeout || undefined,
        warn: (msg) => writeLine(`udpsvd: warning: ${msg}`),
      });
    } catch (e) {
      openError = e as NodeJS.ErrnoException; // every datagram is discarded until it is readable
    }
  }
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
    env: process.env,
  }).serve(sock);
}
