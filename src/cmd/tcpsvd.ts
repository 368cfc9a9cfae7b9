// tcpsvd: ipsvd's TCP super-server. Flags map onto the shared engine.
import { createIdentifier, needsIdentify } from '../identify/identify';
import { serve } from '../engine/serve';
import { type IpsvdOptions, IPSVD_DEFAULTS, accountOf, commonOption, fatalOf, ipsvdUsage, openPeers } from '../engine/ipsvd';
import { chooseBackend } from '../engine/backend';
import { matchedEntry } from '../instruct/log';
import { errstr } from '../lib/errstr';
import { InfoWanted, LONG_VALUE_CODE, UsageError, badLongValue, decimalArg, getopt, hostPortProg, orUsage } from '../lib/getopt';
import { type PairFiles, sniName } from '../tls/config';
import { dropPrivileges } from '../lib/privs';
import { svdLog } from '../log/svd';
import { jsonLog } from '../log/json';
import { engineParts, startStatus } from '../admission/options';
import { parsePort } from '../listen/services';
import { type FrontDoor, FRONT_DOOR_LONGS, activationFd, activationPortMismatch, frontDoorDefaults, frontDoorOption,
  helpText, proxyConfig } from '../engine/frontdoor';

const USAGE = ipsvdUsage('tcpsvd', '[-Ehpv] [-u user] [-c n] [-C n:msg] [-b n] [-l name] [-i dir|-x cdb] [-t sec] host port prog');

const fatal: (code: number, msg: string) => never = fatalOf('tcpsvd');

export interface SvdOptions extends IpsvdOptions {
  ucspi: boolean;
  max: number;
  backlog: number;
  perHost?: { limit: number; msg?: string };
  host: string;
  port: string;
  prog: string[];
  /** The long options: --proxy, --proxy-timeout, --socket-activation, --prefix, --rate, --status, --metrics, --log-json. */
  front: FrontDoor;
  /** --tls and its options: TLS in front of prog, configured as sslserver(1) is (src/tls). */
  tls?: { sni: PairFiles[]; alpn: string[]; minVersion: 'TLSv1.2' | 'TLSv1.3'; timeoutMs: number };
}

/** tcpsvd's TLS options (ours; sslserver(1) for what they mean). */
export const TLS_LONGS = { 'tls': false, 'tls-sni': true, 'tls-alpn': true, 'tls-min': true, 'tls-timeout': true } as const;

function tlsOption(o: { tls?: SvdOptions['tls'] }, name: string, v: string): boolean {
  if (!(name in TLS_LONGS)) return false;
  const t = o.tls ??= { sni: [], alpn: [], minVersion: 'TLSv1.2', timeoutMs: 26_000 };
  switch (name) {
    case 'tls-sni': {
      const m = /^([^=]+)=([^,]+)(?:,(.+))?$/.exec(v);
      if (!m || !sniName(m[1])) throw badLongValue('tcpsvd', name, v, 'NAME=CERTFILE[,KEYFILE]');
      t.sni.push({ name: m[1], cert: m[2], key: m[3] ?? m[2] });
      break;
    }
    case 'tls-alpn':
      if (v.split(',').some((p) => p.length === 0 || p.length > 255 || /[^\x21-\x7e]/.test(p))) {
        throw badLongValue('tcpsvd', name, v, 'protocol[,protocol...]');
      }
      t.alpn = v.split(',');
      break;
    case 'tls-min':
      if (v !== '1.2' && v !== '1.3') throw badLongValue('tcpsvd', name, v, '1.2 or 1.3');
      t.minVersion = v === '1.2' ? 'TLSv1.2' : 'TLSv1.3';
      break;
    case 'tls-timeout':
      if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw badLongValue('tcpsvd', name, v, 'seconds, at least 1');
      t.timeoutMs = Number(v) * 1000;
      break;
  }
  return true;
}

/** Pure: argv → options, or BadOption or UsageError thrown. */
export function parseArgs(argv: string[]): SvdOptions {
  const o: Omit<SvdOptions, 'host' | 'port' | 'prog'> = {
    ...IPSVD_DEFAULTS, ucspi: true, max: 30, backlog: 20, front: frontDoorDefaults(),
  };
  const unescape = (m: string) => (require('../instruct/parse') as typeof import('../instruct/parse')).unescapeMsg(m);
  const rest = getopt(argv, 'c:C:i:x:u:l:Eb:hpt:vV', (ch, v = '') => {
    if (ch === 'help') throw new InfoWanted(helpText(USAGE.text, TLS_HELP));
    if (ch.length > 1) {
      if (tlsOption(o, ch, v)) return;
      frontDoorOption('tcpsvd', o.front, ch, v, unescape);
      return;
    }
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
      case 'E': o.ucspi = false; break;
      case 'b': o.backlog = decimalArg(v); break;
      default: commonOption('tcpsvd', o, ch, v);
    }
  }, { ...FRONT_DOOR_LONGS, ...TLS_LONGS, help: false });
  const args = hostPortProg(rest);
  if (o.front.prefix && !o.perHost && !o.front.rate) throw new UsageError('tcpsvd: --prefix needs -C or --rate', LONG_VALUE_CODE);
  if (o.perHost && o.perHost.limit > o.max) o.perHost.limit = o.max;
  return { ...o, ...args };
}

export async function main(argv: string[]): Promise<void> {
  const o = orUsage(USAGE, () => parseArgs(argv));
  const ids = accountOf('tcpsvd', o.user);
  const passedFd = activationFd(o.front, process.env, (msg) => fatal(100, msg));
  const port = passedFd !== undefined && o.port === '-' ? 0 : parsePort(o.port);
  if (port === undefined) fatal(100, `unknown port number or name: ${o.port}`);

  const { source, openError } = openPeers(o);
  const log = o.front.logJson ? jsonLog('tcpsvd', 1) : svdLog(o.verbose, o.rules && matchedEntry(o.rules));
  const parts = engineParts(o.front);
  // --tls: the certificates and keys are read now, before bind and before any privilege is dropped.
  const tls = o.tls && (require('../tls/setup') as typeof import('../tls/setup')).tlsStage(process.env, {
    clientCert: 'none', sslEnv: true, tcpEnv: true, noEnv: !o.ucspi,
    handshakeTimeoutMs: o.tls.timeoutMs, progTimeoutMs: 3_600_000,
    alpn: o.tls.alpn, sni: o.tls.sni, minVersion: o.tls.minVersion, rules: null,
  }, (what) => log.warn(what), (msg) => fatal(111, msg));
  const backend = chooseBackend((what, e) => log.warn(what, e));
  let listening = '';
  // DNS for the names (ipsvd asks for the local one unless -l) and for =host instructions.
  const needDns = o.rules !== undefined ||
    needsIdentify({ remoteHost: o.lookup, paranoid: o.paranoid, localName: o.localName });
  const engine = await serve({
    host: o.host, port, backlog: o.backlog, passedFd,
    afterBind(b) {
      if (passedFd !== undefined) {
        const e = activationPortMismatch(o.port, port, b.port);
        if (e) fatal(100, e);
      }
      if (ids) dropPrivileges(ids.gids, ids.uid, (step, e) => fatal(111, `unable to set ${step}: ${errstr(e)}`));
      log.listening(b.ip, o.port === '0' || passedFd !== undefined ? b.port : o.port, ids?.uid, ids?.gids[0]);
      listening = `${b.ip}:${b.port}`;
    },
    lookup: 'ipsvd',
    fatal(what, e) {
      if (what === 'no address') fatal(100, `unable to look up ip address: ${o.host}`);
      if (what === 'lookup') fatal(111, `unable to look up ip address: ${o.host}: ${errstr(e)}`);
      if (what === 'adopt') fatal(111, `socket activation: unable to use the passed socket: ${errstr(e)}`);
      fatal(111, `unable to bind socket: ${errstr(e)}`);
    },
    onTerm: () => log.sigterm(),
  }, {
    max: o.max,
    perHost: o.perHost,
    ...parts,
    prog: o.prog,
    ucspiEnv: o.ucspi,
    // (With socket activation, the passed socket's own port.)
    localPortText: passedFd === undefined ? o.port : undefined,
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
    backend,
    proxy: proxyConfig(o.front, backend.addon, (msg) => fatal(100, msg)),
    tls: tls,
    log,
    env: tls ? withoutSslVars(process.env) : process.env,
  });
  await startStatus(o.front, {
    prog: 'tcpsvd', listening, max: o.max, stats: parts.stats, engine,
    fatal: (msg) => fatal(111, msg), warn: (what, e) => log.warn(what, e),
  });
}

const TLS_HELP: ReadonlyArray<readonly [string, string]> = [
  ['--tls', 'TLS in front of prog: CERTFILE, KEYFILE ... as sslserver(1) reads them; SSL* and SSL_* variables too'],
  ['--tls-sni=NAME=CERT[,KEY]', 'with --tls: the pair for SNI name NAME (or *.domain)'],
  ['--tls-alpn=P1[,P2...]', 'with --tls: ALPN protocols offered, in order (SSL_ALPN_PROTOCOL)'],
  ['--tls-min=1.2|1.3', 'with --tls: the lowest TLS version (default 1.2)'],
  ['--tls-timeout=SEC', 'with --tls: seconds a handshake may take (default 26)'],
];

/** The server's environment less the names --tls sets per connection. */
function withoutSslVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { SSL_CONN_VARS, isSslSessionVar } = require('../tls/env') as typeof import('../tls/env');
  const drop = new Set(SSL_CONN_VARS.filter((k) => k !== 'PROTO'));
  const out: NodeJS.ProcessEnv = {};
  for (const k of Object.keys(env)) if (!drop.has(k) && !isSslSessionVar(k)) out[k] = env[k];
  return out;
}
