// sslclient: ucspi-ssl's TLS client. Connects, shakes hands, runs prog with
// descriptor 6 reading from the server and 7 writing to it (plaintext).
import { isIPv4, isIPv6 } from 'node:net';
import { decimalArg, getopt, orUsage, UsageError } from '../lib/getopt';
import { die, warn, writeLine } from '../lib/strerr';
import { errstr } from '../lib/errstr';
import { readRegular } from '../lib/regular';
import { parsePort } from '../listen/services';
import { connectTls, runWith } from '../tls/client';
import { pushSslSession } from '../tls/env';

const USAGE = {
  prog: 'sslclient',
  text: 'sslclient: usage: sslclient [ -46hHrRdDqQveEsSnNxX ] [ -i localip ] [ -p localport ] [ -T timeoutconn ] [ -l localname ] [ -t timeoutinfo ] [ -a cafile ] [ -A cadir ] [ -c certfile ] [ -z ciphers ] [ -k keyfile ] [ -V verifydepth ] [ -w progtimeout ] host port program',
  code: 100,
};

const fatal = (msg: string, e?: unknown): never => die('sslclient', msg, e);

export interface ClientArgs {
  verbosity: number;
  noDelay: boolean;
  remoteHost: boolean;
  localIp?: string;
  localPort?: string;
  timeoutMs: number;
  localName?: string;
  cafile?: string;
  cadir?: string;
  certfile?: string;
  keyfile?: string;
  ciphers?: string;
  sslEnv: boolean;
  tcpEnv: boolean;
  checkName: boolean;
  verify: boolean;
  progTimeoutMs: number;
  host: string;
  port: string;
  prog: string[];
}

export function parseArgs(argv: string[]): ClientArgs {
  const o: Omit<ClientArgs, 'host' | 'port' | 'prog'> = {
    verbosity: 1, noDelay: true, remoteHost: true, timeoutMs: 60_000, sslEnv: false, tcpEnv: false,
    checkName: true, verify: true, progTimeoutMs: 3_600_000,
  };
  const rest = getopt(argv, 'dDvqQhHrRi:p:t:T:l:a:A:c:z:k:V:3eEsSnN0xXw:46', (ch, v = '') => {
    switch (ch) {
      case 'd': o.noDelay = false; break;
      case 'D': o.noDelay = true; break;
      case 'v': o.verbosity = 2; break;
      case 'q': o.verbosity = 0; break;
      case 'Q': o.verbosity = 1; break;
      case 'h': o.remoteHost = true; break;
      case 'H': o.remoteHost = false; break;
      case 'r': case 'R': case '4': case '6': case '0': break;
      case 'i': o.localIp = v; break;
      case 'p': o.localPort = v; break;
      case 't': decimalArg(v); break;
      case 'T': {
        // "a+b": the two tries' seconds; one address: their sum.
        const m = /^(\d+)(?:\+(\d+))?$/.exec(v);
        if (!m) throw new UsageError();
        o.timeoutMs = (Number(m[1]) + Number(m[2] ?? 0)) * 1000;
        break;
      }
      case 'l': o.localName = v; break;
      case 'a': o.cafile = v || undefined; break;
      case 'A': o.cadir = v || undefined; break;
      case 'c': o.certfile = v || undefined; break;
      case 'z': o.ciphers = v || undefined; break;
      case 'k': o.keyfile = v || undefined; break;
      case 'V': decimalArg(v); break;
      case '3': throw new UsageError('sslclient: -3 (the key\'s password on descriptor 3) is not supported', 100);
      case 'e': o.tcpEnv = true; break;
      case 'E': o.tcpEnv = false; break;
      case 's': o.sslEnv = true; break;
      case 'S': o.sslEnv = false; break;
      case 'n': o.checkName = true; break;
      case 'N': o.checkName = false; break;
      case 'x': o.verify = true; break;
      case 'X': o.verify = false; break;
      case 'w': o.progTimeoutMs = decimalArg(v) * 1000; break;
    }
  });
  if (rest.length < 3) throw new UsageError();
  let host = rest[0];
  if (host === '' || host === '0') host = '127.0.0.1';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { ...o, host, port: rest[1], prog: rest.slice(2) };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readRegular(file, 1 << 20);
  } catch (e) {
    return fatal(`unable to load ${what} ${file}`, e);
  }
}

export async function main(argv: string[]): Promise<void> {
  const o = orUsage(USAGE, () => parseArgs(argv));
  const port = parsePort(o.port);
  if (port === undefined) fatal(`unable to figure out port number for ${o.port}`);
  let ip = o.host;
  if (!isIPv4(ip) && !isIPv6(ip)) {
    const { resolveListenHost } = require('../listen/resolve') as typeof import('../listen/resolve');
    try {
      ip = await resolveListenHost(o.host);
    } catch (e) {
      fatal(`temporarily unable to figure out IP address for ${o.host}`, e);
    }
  }
  let ca: Buffer | undefined;
  if (o.cafile || o.cadir) {
    const parts: Buffer[] = [];
    if (o.cafile) parts.push(readPem(o.cafile, 'CA file'));
    if (o.cadir) {
      const { readdirSync } = require('node:fs') as typeof import('node:fs');
      for (const n of readdirSync(o.cadir).sort()) if (!n.startsWith('.')) parts.push(readPem(`${o.cadir}/${n}`, 'CA file'));
    }
    ca = Buffer.concat(parts);
  }
  const cert = o.certfile ? readPem(o.certfile, 'certificate') : undefined;
  const key = o.certfile ? readPem(o.keyfile ?? o.certfile, 'key') : undefined;
  let c;
  try {
    c = await connectTls({
      host: o.host, ip, port: port!, localIp: o.localIp, localPort: o.localPort ? parsePort(o.localPort) : undefined,
      timeoutMs: o.timeoutMs, verify: o.verify, checkName: o.checkName, ca, cert, key, ciphers: o.ciphers,
      noDelay: o.noDelay, alpn: [],
    });
  } catch (e) {
    const err = e as Error & { reason?: string; code?: string };
    if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') fatal(`certificate name does not match server hostname: ${o.host}`);
    if (err.code && /CERT|SELF_SIGNED|VERIFY|ISSUER/.test(err.code)) fatal(`unable to verify server certificate: ${err.code}`);
    return fatal(`unable to connect to ${ip} port ${port}: ${err.reason ?? errstr(err)}`);
  }
  if (o.verbosity >= 2) writeLine(`sslclient: connected to ${c.remoteIp} port ${c.remotePort}`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const set = (k: string, v: string | undefined) => {
    if (v === undefined) delete env[k];
    else env[k] = v;
  };
  set('PROTO', c.remoteIp.includes(':') ? 'SSL6' : 'SSL');
  set('SSLLOCALIP', c.localIp);
  set('SSLLOCALPORT', String(c.localPort));
  set('SSLLOCALHOST', o.localName);
  set('SSLREMOTEIP', c.remoteIp);
  set('SSLREMOTEPORT', String(c.remotePort));
  set('SSLREMOTEHOST', undefined);
  set('SSLREMOTEINFO', undefined);
  if (o.tcpEnv) {
    set('TCPLOCALIP', c.localIp);
    set('TCPLOCALPORT', String(c.localPort));
    set('TCPLOCALHOST', o.localName);
    set('TCPREMOTEIP', c.remoteIp);
    set('TCPREMOTEPORT', String(c.remotePort));
    set('TCPREMOTEHOST', undefined);
    set('TCPREMOTEINFO', undefined);
  }
  if (o.sslEnv) {
    const { version } = require('../../../package.json') as { version: string };
    const list: string[] = [];
    pushSslSession(list, c.info, `ucspi-node/${version}`, 'SERVER');
    for (const kv of list) {
      const i = kv.indexOf('=');
      env[kv.slice(0, i)] = Buffer.from(kv.slice(i + 1), 'latin1').toString('utf8');
    }
  }
  const code = await runWith(c, o.prog, env, o.progTimeoutMs, (what, e) => warn('sslclient', what, e));
  process.exit(code);
}
