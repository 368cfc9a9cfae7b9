// tcpserver: ucspi-tcp's TCP super-server. Flags map onto the shared engine.
import { writeSync } from 'node:fs';
import type { RuleSource } from '../decide/decision';
import { createIdentifier, needsIdentify } from '../identify/identify';
import { serve } from '../engine/serve';
import { chooseBackend } from '../engine/backend';
import { errstr } from '../lib/errstr';
import { InfoWanted, LONG_VALUE_CODE, UsageError, badLongValue, getopt, hostPortProg, orUsage } from '../lib/getopt';
import { dropPrivileges } from '../lib/privs';
import { die } from '../lib/strerr';
import { serverLog } from '../log/server';
import { jsonLog } from '../log/json';
import { engineParts, startStatus } from '../admission/options';

// (instruct/parse is loaded only for a message: it costs start-up time.)
const unescapeMsg = (m: string) => (require('../instruct/parse') as typeof import('../instruct/parse')).unescapeMsg(m);
import { parsePort } from '../listen/services';
import { type FrontDoor, FRONT_DOOR_LONGS, activationFd, activationPortMismatch, frontDoorDefaults, frontDoorOption,
  helpText, proxyConfig } from '../engine/frontdoor';
import { versionLine } from '../lib/version';
import { TCPSERVER_LETTERS, type TcpserverLetters, tcpserverDefaults, tcpserverLetter } from '../engine/letters';

const USAGE = {
  prog: 'tcpserver',
  text: 'tcpserver: usage: tcpserver [ -1UXpPhHrRoOdDqQv ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] [ -g gid ] [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] host port program',
  code: 100,
};

function fatal(msg: string): never {
  return die('tcpserver', msg);
}

export interface ServerOptions extends TcpserverLetters {
  host: string;
  port: string;
  prog: string[];
  /** --per-host=n[:msg]: count clients, and read the rules' MAXCONNIP, MAXCONNC and DIEMSG. */
  perHost?: { limit: number; msg?: string };
  /** The long options: --proxy, --proxy-timeout, --socket-activation, --prefix, --rate, --status, --metrics, --log-json. */
  front: FrontDoor;
}

/** Pure except for -U, which reads $UID and $GID from env. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const o: Omit<ServerOptions, 'host' | 'port' | 'prog'> = { ...tcpserverDefaults(), front: frontDoorDefaults() };
  const rest = getopt(argv, TCPSERVER_LETTERS, (ch, v = '') => {
    if (ch === 'help') {
      throw new InfoWanted(helpText(USAGE.text.replace(/^tcpserver: /, ''), [
        ['-4 / -6', 'with host 0: IPv4 only (default) / IPv6 and IPv4 together (ucspi-tcp6\'s letters)'],
        ['--per-host=n[:msg]', 'count clients per host: at most n each (MAXCONNIP, MAXCONNC, DIEMSG from the rules)'],
        ['--version', 'the version, and whether the native addon is in use'],
      ]));
    }
    if (ch === 'version') {
      const { describeAddon } = require('../engine/backend') as typeof import('../engine/backend');
      throw new InfoWanted(`${versionLine('tcpserver')}\n${describeAddon()}`);
    }
    if (ch === 'per-host') {
      const m = /^(\d{1,9})(?::([\s\S]*))?$/.exec(v);
      if (!m) throw badLongValue('tcpserver', ch, v, 'n[:message]');
      o.perHost = m[2] === undefined ? { limit: Number(m[1]) } : { limit: Number(m[1]), msg: unescapeMsg(m[2]) };
      return;
    }
    if (ch.length > 1) {
      frontDoorOption('tcpserver', o.front, ch, v, unescapeMsg);
      return;
    }
    tcpserverLetter(o, ch, v, env);
  }, { ...FRONT_DOOR_LONGS, 'per-host': true, help: false, version: false });
  const args = hostPortProg(rest);
  if (o.front.prefix && !o.perHost && !o.front.rate) throw new UsageError('tcpserver: --prefix needs --per-host or --rate', LONG_VALUE_CODE);
  return { ...o, ...args };
}

export async function main(argv: string[]): Promise<void> {
  const o = orUsage(USAGE, () => parseArgs(argv));
  const passedFd = activationFd(o.front, process.env, (msg) => die('tcpserver', msg, undefined, 100));
  const port = passedFd !== undefined && o.port === '-' ? 0 : parsePort(o.port);
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
  const log = o.front.logJson ? jsonLog('tcpserver', 2) : serverLog(o.verbosity);
  const parts = engineParts(o.front);
  const backend = chooseBackend((what, e) => log.warn(what, e));
  let listening = '';
  const host = o.dual && (o.host === '0' || o.host === '') ? '::' : o.host;
  const engine = await serve({
    host, port, backlog: o.backlog, passedFd,
    afterBind(b) {
      if (passedFd !== undefined) {
        const e = activationPortMismatch(o.port, port, b.port);
        if (e) die('tcpserver', e, undefined, 100);
      }
      // prot_gid sets the groups and the gid: one message for both.
      dropPrivileges(o.gid ? [o.gid] : undefined, o.uid || undefined,
                     (step, e) => fatal(`unable to set ${step === 'uid' ? 'uid' : 'gid'}: ${errstr(e)}`));
      if (o.printPort) writeSync(1, `${b.port}\n`);
      listening = `${b.ip}:${b.port}`;
      log.status(0, o.limit);
    },
    fatal(what, e) {
      if (what === 'no address') fatal(`no IP address for ${o.host}`);
      if (what === 'lookup') fatal(`temporarily unable to figure out IP address for ${o.host}: ${errstr(e)}`);
      if (what === 'adopt') fatal(`socket activation: unable to use the passed socket: ${errstr(e)}`);
      fatal(`unable to bind: ${errstr(e)}`);
    },
    onTerm: () => log.sigterm(),
  }, {
    max: o.limit,
    perHost: o.perHost && { ...o.perHost, rulesVars: true },
    ...parts,
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
    backend,
    proxy: proxyConfig(o.front, backend.addon, (msg) => die('tcpserver', msg, undefined, 100)),
    log,
    env: process.env,
  });
  await startStatus(o.front, {
    prog: 'tcpserver', listening, max: o.limit, stats: parts.stats, engine,
    fatal, warn: (what, e) => log.warn(what, e),
  });
}
