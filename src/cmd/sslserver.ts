// sslserver: ucspi-ssl's TLS super-server, tcpserver's engine with the TLS
// stage (src/tls/stage.ts) between the rules and the launch.
import { writeSync } from 'node:fs';
import type { RuleSource } from '../decide/decision';
import { createIdentifier, needsIdentify } from '../identify/identify';
import { serve } from '../engine/serve';
import { chooseBackend } from '../engine/backend';
import { errstr } from '../lib/errstr';
import { InfoWanted, LONG_VALUE_CODE, UsageError, badLongValue, decimalArg, getopt, hostPortProg, orUsage } from '../lib/getopt';
import { dropPrivileges } from '../lib/privs';
import { die } from '../lib/strerr';
import { serverLog } from '../log/server';
import { jsonLog } from '../log/json';
import { engineParts, startStatus } from '../admission/options';
import { parsePort } from '../listen/services';
import { type FrontDoor, FRONT_DOOR_LONGS, activationFd, activationPortMismatch, frontDoorDefaults, frontDoorOption,
  helpText, proxyConfig } from '../engine/frontdoor';
import { versionLine } from '../lib/version';
import { type PairFiles, sniName } from '../tls/config';
import { SSL_CONN_VARS, isSslSessionVar } from '../tls/env';
import { tlsStage } from '../tls/setup';
import { TCPSERVER_LETTERS, type TcpserverLetters, tcpserverDefaults, tcpserverLetter } from '../engine/letters';

const unescapeMsg = (m: string) => (require('../instruct/parse') as typeof import('../instruct/parse')).unescapeMsg(m);

const USAGE = {
  prog: 'sslserver',
  text: 'sslserver: usage: sslserver [ -146UXpPhHrRoOdDqQvzZmsSeEaA ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] [ -g gid ] [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] [ -T ssltimeout ] [ -w progtimeout ] host port program',
  code: 100,
};

function fatal(msg: string): never {
  return die('sslserver', msg);
}

export interface SslServerOptions extends TcpserverLetters {
  /** -z (match: the names checked), -m (verify), -Z (none). */
  clientCert: 'none' | 'verify' | 'match';
  sslEnv: boolean;
  tcpEnv: boolean;
  /** -T, seconds. */
  sslTimeout: number;
  /** -w, seconds. */
  progTimeout: number;
  /** --alpn=p1,p2: the protocols offered, in order. */
  alpn: string[];
  /** --sni=NAME=CERTFILE[,KEYFILE] (CERTFILE:NAME's other spelling). */
  sni: PairFiles[];
  /** --tls-min=1.2|1.3. */
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  host: string;
  port: string;
  prog: string[];
  front: FrontDoor;
}

/** Pure except for -U, which reads $UID and $GID from env. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): SslServerOptions {
  const o: Omit<SslServerOptions, 'host' | 'port' | 'prog'> = {
    ...tcpserverDefaults(), clientCert: 'none', sslEnv: false, tcpEnv: false,
    sslTimeout: 26, progTimeout: 3600, alpn: [], sni: [], minVersion: 'TLSv1.2', front: frontDoorDefaults(),
  };
  const rest = getopt(argv, `${TCPSERVER_LETTERS}VzZmsSeEaAnNT:w:`, (ch, v = '') => {
    if (ch === 'help') {
      throw new InfoWanted(helpText(USAGE.text.replace(/^sslserver: /, ''), [
        ['--alpn=P1[,P2...]', 'ALPN protocols offered, in the server\'s order; the chosen one is SSL_ALPN_PROTOCOL'],
        ['--sni=NAME=CERT[,KEY]', 'the pair for SNI name NAME (or *.domain): CERTFILE:NAME and KEYFILE:NAME as options'],
        ['--tls-min=1.2|1.3', 'the lowest TLS version accepted (default 1.2)'],
        ['--version', 'the version, and whether the native addon is in use'],
      ]));
    }
    if (ch === 'version') {
      const { describeAddon } = require('../engine/backend') as typeof import('../engine/backend');
      throw new InfoWanted(`${versionLine('sslserver')}\n${describeAddon()}`);
    }
    if (ch === 'alpn') {
      const list = v.split(',');
      if (list.some((p) => p.length === 0 || p.length > 255 || /[^\x21-\x7e]/.test(p))) {
        throw badLongValue('sslserver', ch, v, 'protocol[,protocol...]');
      }
      o.alpn = list;
      return;
    }
    if (ch === 'sni') {
      const m = /^([^=]+)=([^,]+)(?:,(.+))?$/.exec(v);
      if (!m || !sniName(m[1])) throw badLongValue('sslserver', ch, v, 'NAME=CERTFILE[,KEYFILE]');
      o.sni.push({ name: m[1], cert: m[2], key: m[3] ?? m[2] });
      return;
    }
    if (ch === 'tls-min') {
      if (v !== '1.2' && v !== '1.3') throw badLongValue('sslserver', ch, v, '1.2 or 1.3');
      o.minVersion = v === '1.2' ? 'TLSv1.2' : 'TLSv1.3';
      return;
    }
    if (ch.length > 1) {
      frontDoorOption('sslserver', o.front, ch, v, unescapeMsg);
      return;
    }
    if (tcpserverLetter(o, ch, v, env)) return;
    switch (ch) {
      case 'V': o.verbosity = 2; break;
      case 'z': o.clientCert = 'match'; break;
      case 'm': o.clientCert = 'verify'; break;
      case 'Z': o.clientCert = 'none'; break;
      case 's': o.sslEnv = true; break;
      case 'S': o.sslEnv = false; break;
      case 'e': o.tcpEnv = true; break;
      case 'E': o.tcpEnv = false; break;
      // The key is always read before privileges are dropped (see the man page).
      case 'a': case 'A': break;
      case 'n': throw new UsageError('sslserver: -n (UCSPI-TLS, the program asking for TLS) is not supported', LONG_VALUE_CODE);
      case 'N': break;
      case 'T': o.sslTimeout = decimalArg(v); break;
      case 'w': o.progTimeout = decimalArg(v); break;
    }
  }, { ...FRONT_DOOR_LONGS, alpn: true, sni: true, 'tls-min': true, help: false, version: false });
  const args = hostPortProg(rest);
  if (o.front.prefix && !o.front.rate) throw new UsageError('sslserver: --prefix needs --rate', LONG_VALUE_CODE);
  return { ...o, ...args };
}

/** The server's environment less what sslserver sets per connection (and with -s the SSL_* set). */
function serverEnv(env: NodeJS.ProcessEnv, sslEnv: boolean): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  const drop = new Set(SSL_CONN_VARS);
  for (const k of Object.keys(env)) {
    if (drop.has(k) || (sslEnv && isSslSessionVar(k))) continue;
    out[k] = env[k];
  }
  return out;
}

/** SSL_UID / SSL_GID: the ids the server (and with it the relay) runs as, in place of -u / -g. */
function idFrom(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  if (!/^\d{1,10}$/.test(v)) fatal(`bad ${name}: ${v}`);
  return Number(v);
}

export async function main(argv: string[]): Promise<void> {
  const o = orUsage(USAGE, () => parseArgs(argv));
  const env = process.env;
  if (env.SSL_CHROOT) fatal('SSL_CHROOT is not supported: the relay runs in the server process, with the programs');
  const uid = idFrom(env, 'SSL_UID', o.uid);
  const gid = idFrom(env, 'SSL_GID', o.gid);
  const passedFd = activationFd(o.front, env, (msg) => die('sslserver', msg, undefined, 100));
  const port = passedFd !== undefined && o.port === '-' ? 0 : parsePort(o.port);
  if (port === undefined) fatal(`unable to figure out port number for ${o.port}`);

  const log = o.front.logJson ? jsonLog('sslserver', 2) : serverLog(o.verbosity, 'sslserver');
  // The certificates and keys: read now, before bind and before any privilege is dropped.
  let rulesSource: RuleSource | null = null;
  let openError: NodeJS.ErrnoException | undefined;
  if (o.rules !== undefined) {
    try {
      const { openRuleSource } = require('../decide/index') as typeof import('../decide/index');
      rulesSource = openRuleSource({ kind: 'rules-cdb', path: o.rules });
    } catch (e) {
      openError = e as NodeJS.ErrnoException;
    }
  }
  const parts = engineParts(o.front);
  const backend = chooseBackend((what, e) => log.warn(what, e));
  // The certificates and keys: read now, before bind and before any privilege is dropped.
  const stage = tlsStage(env, {
    clientCert: o.clientCert, sslEnv: o.sslEnv, tcpEnv: o.tcpEnv,
    handshakeTimeoutMs: o.sslTimeout * 1000, progTimeoutMs: o.progTimeout * 1000,
    alpn: o.alpn, sni: o.sni, minVersion: o.minVersion,
    banner: o.banner ? Buffer.from(o.banner) : undefined, rules: rulesSource,
  }, (what) => log.warn(what), fatal);
  let listening = '';
  const host = o.dual && (o.host === '0' || o.host === '') ? '::' : o.host;
  const engine = await serve({
    host, port, backlog: o.backlog, passedFd,
    afterBind(b) {
      if (passedFd !== undefined) {
        const e = activationPortMismatch(o.port, port, b.port);
        if (e) die('sslserver', e, undefined, 100);
      }
      dropPrivileges(gid ? [gid] : undefined, uid || undefined,
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
    ...parts,
    prog: o.prog,
    // -e: TCP* (and PROTO=TCP) as well; without it only the SSL* set.
    ucspiEnv: o.tcpEnv,
    localName: o.localName,
    remoteHost: o.remoteHost,
    paranoid: o.paranoid,
    identTimeoutMs: o.remoteInfo ? o.timeout * 1000 : undefined,
    noDelay: o.noDelay,
    rules: o.rules === undefined ? undefined : { source: rulesSource, path: o.rules, openError, allowMissing: o.allowNoRules },
    identify: needsIdentify({ remoteHost: o.remoteHost, paranoid: o.paranoid, localName: o.localName,
      identTimeoutMs: o.remoteInfo ? o.timeout * 1000 : undefined }) ? createIdentifier() : null,
    backend,
    proxy: proxyConfig(o.front, backend.addon, (msg) => die('sslserver', msg, undefined, 100)),
    tls: stage,
    log,
    env: serverEnv(env, o.sslEnv),
  });
  await startStatus(o.front, {
    prog: 'sslserver', listening, max: o.limit, stats: parts.stats, engine,
    fatal, warn: (what, e) => log.warn(what, e),
  });
}
