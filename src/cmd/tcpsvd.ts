// tcpsvd: ipsvd's TCP super-server. Flags map onto the shared engine.
import type { RuleSource } from '../decide/decision';
import { createIdentifier, needsIdentify } from '../identify/identify';
import { serve } from '../engine/serve';
import { type Ids, lookupUserSpec } from '../engine/users';
import { chooseBackend } from '../engine/backend';
import { matchedEntry } from '../instruct/log';
import { errstr } from '../lib/errstr';
import { UsageError, decimalArg, getopt, hostPortProg, orUsage } from '../lib/getopt';
import { dropPrivileges } from '../lib/privs';
import { die } from '../lib/strerr';
import { svdLog } from '../log/svd';
import { parsePort } from '../listen/services';

// ipsvd ends its usage with an empty line, and exits 111.
const USAGE = {
  prog: 'tcpsvd',
  text: 'usage: tcpsvd [-Ehpv] [-u user] [-c n] [-C n:msg] [-b n] [-l name] [-i dir|-x cdb] [-t sec] host port prog\n',
  code: 111,
};

function fatal(code: number, msg: string): never {
  return die('tcpsvd', msg, undefined, code);
}

function versionLine(): string {
  const { version } = require('../../../package.json') as { version: string };
  return `$Id: ucspi-node tcpsvd ${version} $`;
}

export interface SvdOptions {
  verbose: number;
  ucspi: boolean;
  lookup: boolean;
  paranoid: boolean;
  max: number;
  backlog: number;
  perHost?: { limit: number; msg?: string };
  user?: string;
  localName?: string;
  rules?: { kind: 'peers-dir' | 'peers-cdb'; path: string };
  timeout: number;
  host: string;
  port: string;
  prog: string[];
}

/** Pure: argv → options, or BadOption or UsageError thrown. */
export function parseArgs(argv: string[]): SvdOptions {
  const o: Omit<SvdOptions, 'host' | 'port' | 'prog'> = {
    verbose: 0, ucspi: true, lookup: false, paranoid: false, max: 30, backlog: 20, timeout: 0,
  };
  const rest = getopt(argv, 'c:C:i:x:u:l:Eb:hpt:vV', (ch, v = '') => {
    switch (ch) {
      case 'c': o.max = decimalArg(v); if (o.max < 1) throw new UsageError(); break;
      case 'C': {
        const m = /^(\d+)(?::(.*))?$/s.exec(v);
        if (!m || Number(m[1]) < 1) throw new UsageError();
        // (instruct/parse is loaded only here and for -i/-x.)
        const { unescapeMsg } = require('../instruct/parse') as typeof import('../instruct/parse');
        o.perHost = { limit: Number(m[1]), msg: m[2] === undefined ? undefined : unescapeMsg(m[2]) };
        break;
      }
      case 'i': case 'x':
        if (o.rules) throw new UsageError(); // -i and -x exclude each other
        o.rules = { kind: ch === 'i' ? 'peers-dir' : 'peers-cdb', path: v };
        break;
      case 'u': o.user = v; break;
      case 'l': o.localName = v; break;
      case 'E': o.ucspi = false; break;
      case 'b': o.backlog = decimalArg(v); break;
      case 'h': o.lookup = true; break;
      case 'p': o.lookup = true; o.paranoid = true; break;
      case 't': o.timeout = decimalArg(v); break;
      case 'v': o.verbose++; break;
      // ipsvd: -V prints its version, then the usage (exit 111).
      case 'V': throw new UsageError(versionLine());
    }
  });
  const args = hostPortProg(rest);
  if (o.perHost && o.perHost.limit > o.max) o.perHost.limit = o.max;
  return { ...o, ...args };
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
  const port = parsePort(o.port);
  if (port === undefined) fatal(100, `unknown port number or name: ${o.port}`);

  let source: RuleSource | null = null;
  let openError: NodeJS.ErrnoException | undefined;
  if (o.rules) {
    try {
      // Loaded only with -i/-x: the rules modules cost start-up time and memory.
      const { openRuleSource } = require('../decide/index') as typeof import('../decide/index');
      source = openRuleSource({ kind: o.rules.kind, path: o.rules.path, expireSec: o.timeout || undefined });
    } catch (e) {
      openError = e as NodeJS.ErrnoException; // every connection is dropped until it is readable
    }
  }
  const log = svdLog(o.verbose, o.rules && matchedEntry(o.rules));
  // DNS for the names (ipsvd asks for the local one unless -l) and for =host instructions.
  const needDns = o.rules !== undefined ||
    needsIdentify({ remoteHost: o.lookup, paranoid: o.paranoid, localName: o.localName });
  await serve({
    host: o.host, port, backlog: o.backlog,
    afterBind(b) {
      if (ids) dropPrivileges(ids.gids, ids.uid, (step, e) => fatal(111, `unable to set ${step}: ${errstr(e)}`));
      log.listening(b.ip, o.port === '0' ? b.port : o.port, ids?.uid, ids?.gids[0]);
    },
    lookup: 'ipsvd',
    fatal(what, e) {
      if (what === 'no address') fatal(100, `unable to look up ip address: ${o.host}`);
      if (what === 'lookup') fatal(111, `unable to look up ip address: ${o.host}: ${errstr(e)}`);
      fatal(111, `unable to bind socket: ${errstr(e)}`);
    },
    onTerm: () => log.sigterm(),
  }, {
    max: o.max,
    perHost: o.perHost,
    prog: o.prog,
    ucspiEnv: o.ucspi,
    localPortText: o.port,
    localName: o.localName,
    emptyLocalNameUnset: true,
    remoteHost: o.lookup,
    paranoid: o.paranoid,
    noDelay: false,
    rules: o.rules && { source, path: o.rules.path, openError, allowMissing: false },
    identify: needDns ? createIdentifier({
      onError: (what, ip, e) => log.warn(`${what}: ${ip}`, e),
      localFailureDrops: true,
    }) : null,
    backend: chooseBackend((what, e) => log.warn(what, e)),
    log,
    env: process.env,
  });
}
