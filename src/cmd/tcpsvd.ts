// tcpsvd: ipsvd's TCP super-server. Flags map onto the shared engine.
import { Command } from 'commander';
import type { RuleSource } from '../decide/decision';
import { getoptComplaint } from '../engine/getopt';
import { createIdentifier, needsIdentify } from '../engine/identify';
import { serve } from '../engine/serve';
import { type Ids, dropTo, lookupUserSpec } from '../engine/users';
import { selectLauncher } from '../launch/index';
import { errText, writeLine } from '../log/log';
import { svdLog } from '../log/svd';
import { parsePort } from '../listen/services';

const USAGE = 'usage: tcpsvd [-Ehpv] [-u user] [-c n] [-C n:msg] [-b n] [-l name] [-i dir|-x cdb] [-t sec] host port prog';

class Usage extends Error {
  constructor(readonly complaint?: string) {
    super('usage');
  }
}

function usage(complaint?: string): never {
  if (complaint) writeLine(complaint);
  writeLine(USAGE + '\n'); // ipsvd ends its usage with an empty line
  process.exit(111);
}

function fatal(code: number, msg: string): never {
  writeLine('tcpsvd: fatal: ' + msg);
  process.exit(code);
}

function versionLine(): string {
  const { version } = require('../../../package.json') as { version: string };
  return `$Id: ucspi-node tcpsvd ${version} $`;
}

function count(s: string): number {
  if (!/^\d+$/.test(s)) throw new Usage();
  return Number(s);
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

/** Pure: argv → options, or Usage thrown. */
export function parseArgs(argv: string[]): SvdOptions {
  const o: Omit<SvdOptions, 'host' | 'port' | 'prog'> = {
    verbose: 0, ucspi: true, lookup: false, paranoid: false, max: 30, backlog: 20, timeout: 0,
  };
  const rules = (kind: 'peers-dir' | 'peers-cdb') => (path: string) => {
    if (o.rules) throw new Usage(); // -i and -x exclude each other
    o.rules = { kind, path };
  };
  const cmd = new Command()
    .helpOption(false).exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .option('-c <n>', '', (s) => { o.max = count(s); if (o.max < 1) throw new Usage(); })
    .option('-C <n[:msg]>', '', (s) => {
      const m = /^(\d+)(?::(.*))?$/s.exec(s);
      if (!m || Number(m[1]) < 1) throw new Usage();
      // (instruct/parse is loaded only here and for -i/-x.)
      const { unescapeMsg } = require('../instruct/parse') as typeof import('../instruct/parse');
      o.perHost = { limit: Number(m[1]), msg: m[2] === undefined ? undefined : unescapeMsg(m[2]) };
    })
    .option('-i <dir>', '', rules('peers-dir'))
    .option('-x <cdb>', '', rules('peers-cdb'))
    .option('-u <user>', '', (s) => { o.user = s; })
    .option('-l <name>', '', (s) => { o.localName = s; })
    .option('-E', '', () => { o.ucspi = false; })
    .option('-b <n>', '', (s) => { o.backlog = count(s); })
    .option('-h', '', () => { o.lookup = true; })
    .option('-p', '', () => { o.lookup = true; o.paranoid = true; })
    .option('-t <sec>', '', (s) => { o.timeout = count(s); })
    .option('-v', '', () => { o.verbose++; })
    // ipsvd: -V prints its version, then the usage (exit 111).
    .option('-V', '', () => { throw new Usage(versionLine()); })
    .argument('<host>').argument('<port>').argument('<prog...>')
    .passThroughOptions().allowExcessArguments();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof Usage) throw e;
    throw new Usage(getoptComplaint('tcpsvd', e));
  }
  const [host, port, ...prog] = cmd.args;
  if (prog.length === 0) throw new Usage();
  if (o.perHost && o.perHost.limit > o.max) o.perHost.limit = o.max;
  return { ...o, host, port, prog };
}

export async function main(argv: string[]): Promise<void> {
  let o: SvdOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof Usage) usage(e.complaint);
    throw e;
  }
  let ids: Ids | undefined;
  if (o.user !== undefined) {
    try {
      ids = lookupUserSpec(o.user);
    } catch (e) {
      fatal(111, `unable to get user/group: ${o.user}: ${errText(e as NodeJS.ErrnoException)}`);
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
  const log = svdLog(o.verbose, o.rules);
  // DNS for the names (ipsvd asks for the local one unless -l) and for =host instructions.
  const needDns = o.rules !== undefined ||
    needsIdentify({ remoteHost: o.lookup, paranoid: o.paranoid, localName: o.localName });
  await serve({
    host: o.host, port, backlog: o.backlog,
    afterBind(b) {
      if (ids) {
        try {
          dropTo(ids);
        } catch (e) {
          fatal(111, `unable to set groups: ${errText(e as NodeJS.ErrnoException)}`);
        }
      }
      log.listening(b.ip, o.port === '0' ? b.port : o.port, ids?.uid, ids?.gids[0]);
    },
    lookup: 'ipsvd',
    fatal(what, e) {
      if (what === 'no address') fatal(100, `unable to look up ip address: ${o.host}`);
      if (what === 'lookup') fatal(111, `unable to look up ip address: ${o.host}: ${errText(e)}`);
      fatal(111, `unable to bind socket: ${errText(e)}`);
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
    launcher: selectLauncher(),
    log,
    env: process.env,
  });
}
