// tcpserver: ucspi-tcp's TCP super-server. Flags map onto the shared engine.
import { Command } from 'commander';
import { writeSync } from 'node:fs';
import type { RuleSource } from '../decide/decision';
import { getoptComplaint } from '../engine/getopt';
import { createIdentifier, needsIdentify } from '../engine/identify';
import { serve } from '../engine/serve';
import { selectLauncher } from '../launch/index';
import { errText, writeLine } from '../log/log';
import { serverLog } from '../log/server';
import { parsePort } from '../listen/services';

const USAGE = 'tcpserver: usage: tcpserver [ -1UXpPhHrRoOdDqQv ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] [ -g gid ] [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] host port program';

class Usage extends Error {
  constructor(readonly complaint?: string) {
    super('usage');
  }
}

function fatal(msg: string): never {
  writeLine('tcpserver: fatal: ' + msg);
  process.exit(111);
}

function count(s: string): number {
  if (!/^\d+$/.test(s)) throw new Usage();
  return Number(s);
}

export interface ServerOptions {
  verbosity: number;
  limit: number;
  backlog: number;
  rules?: string;
  allowNoRules: boolean;
  banner: string;
  uid: number;
  gid: number;
  localName?: string;
  timeout: number;
  remoteHost: boolean;
  remoteInfo: boolean;
  paranoid: boolean;
  noDelay: boolean;
  printPort: boolean;
  only4: boolean;
  host: string;
  port: string;
  prog: string[];
}

/** Pure except for -U, which reads $UID and $GID from env. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const o: Omit<ServerOptions, 'host' | 'port' | 'prog'> = {
    verbosity: 1, limit: 40, backlog: 20, allowNoRules: false, banner: '', uid: 0, gid: 0,
    timeout: 26, remoteHost: true, remoteInfo: false, paranoid: false, noDelay: false,
    printPort: false, only4: false,
  };
  const flag = (f: string, fn: () => void): [string, string, () => void] => [f, '', fn];
  const flags: Array<[string, string, () => void]> = [
    flag('-1', () => { o.printPort = true; }),
    flag('-4', () => { o.only4 = true; }),
    flag('-6', () => { o.only4 = false; }),
    flag('-U', () => {
      if (env.UID !== undefined) o.uid = count(env.UID);
      if (env.GID !== undefined) o.gid = count(env.GID);
    }),
    flag('-X', () => { o.allowNoRules = true; }),
    flag('-p', () => { o.paranoid = true; }),
    flag('-P', () => { o.paranoid = false; }),
    flag('-h', () => { o.remoteHost = true; }),
    flag('-H', () => { o.remoteHost = false; }),
    flag('-r', () => { o.remoteInfo = true; }),
    flag('-R', () => { o.remoteInfo = false; }),
    flag('-o', () => {}), // IP options: Node gives no access to IP_OPTIONS (see the man page)
    flag('-O', () => {}),
    flag('-d', () => { o.noDelay = false; }),
    flag('-D', () => { o.noDelay = true; }),
    flag('-q', () => { o.verbosity = 0; }),
    flag('-Q', () => { o.verbosity = 1; }),
    flag('-v', () => { o.verbosity = 2; }),
  ];
  const cmd = new Command()
    .helpOption(false).exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const [f, d, fn] of flags) cmd.option(f, d, fn);
  cmd
    .option('-c <limit>', '', (s) => { o.limit = count(s); })
    .option('-x <rules.cdb>', '', (s) => { o.rules = s; })
    .option('-B <banner>', '', (s) => { o.banner = s; })
    .option('-g <gid>', '', (s) => { o.gid = count(s); })
    .option('-u <uid>', '', (s) => { o.uid = count(s); })
    .option('-b <backlog>', '', (s) => { o.backlog = count(s); })
    .option('-l <localname>', '', (s) => { o.localName = s; })
    .option('-t <timeout>', '', (s) => { o.timeout = count(s); })
    .argument('<host>').argument('<port>').argument('<program...>')
    .passThroughOptions().allowExcessArguments();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof Usage) throw e;
    throw new Usage(getoptComplaint('tcpserver', e));
  }
  const [host, port, ...prog] = cmd.args;
  if (prog.length === 0) throw new Usage();
  return { ...o, host, port, prog };
}

export async function main(argv: string[]): Promise<void> {
  let o: ServerOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof Usage)) throw e;
    if (e.complaint) writeLine(e.complaint);
    writeLine(USAGE);
    process.exit(100);
  }
  const port = parsePort(o.port);
  if (port === undefined) fatal(`unable to figure out port number for ${o.port}`);

  let source: RuleSource | null = null;
  let openError: NodeJS.ErrnoException | undefined;
  if (o.rules !== undefined) {
    try {
      // Loaded only with -x: the rules modules cost start-up time and memory.
      const { openRuleSource } = require('../decide/index') as typeof import('../decide/index');
      source = openRuleSource({ kind: 'rules-cdb', path: o.rules });
    } catch (e) {
      openError = e as NodeJS.ErrnoException; // decided per connection: drop, or allow with -X
    }
  }
  const log = serverLog(o.verbosity);
  const host = o.only4 && (o.host === '0' || o.host === '') ? '0.0.0.0' : o.host;
  await serve({
    host, port, backlog: o.backlog,
    afterBind(b) {
      try {
        if (o.gid) {
          process.setgroups!([o.gid]);
          process.setgid!(o.gid);
        }
      } catch (e) {
        fatal(`unable to set gid: ${errText(e as NodeJS.ErrnoException)}`);
      }
      try {
        if (o.uid) process.setuid!(o.uid);
      } catch (e) {
        fatal(`unable to set uid: ${errText(e as NodeJS.ErrnoException)}`);
      }
      if (o.printPort) writeSync(1, `${b.port}\n`);
      log.status(0, o.limit);
    },
    fatal(what, e) {
      if (what === 'no address') fatal(`no IP address for ${o.host}`);
      if (what === 'lookup') fatal(`temporarily unable to figure out IP address for ${o.host}: ${errText(e)}`);
      fatal(`unable to bind: ${errText(e)}`);
    },
    onTerm: () => log.sigterm(),
  }, {
    max: o.limit,
    prog: o.prog,
    ucspiEnv: true,
    localName: o.localName,
    remoteHost: o.remoteHost,
    paranoid: o.paranoid,
    identTimeoutMs: o.remoteInfo ? o.timeout * 1000 : undefined,
    banner: o.banner ? Buffer.from(o.banner) : undefined,
    noDelay: o.noDelay,
    rules: o.rules === undefined ? undefined : { source, path: o.rules, openError, allowMissing: o.allowNoRules },
    // (tcpserver asks DNS for the local name unless -l gave one, whatever -h/-H say.)
    identify: needsIdentify({ remoteHost: o.remoteHost, paranoid: o.paranoid, localName: o.localName,
      identTimeoutMs: o.remoteInfo ? o.timeout * 1000 : undefined }) ? createIdentifier() : null,
    launcher: selectLauncher(),
    log,
    env: process.env,
  });
}
