// tcpclient [ -hHrRdDqQv ] [ -i localip ] [ -p localport ] [ -T timeoutconn ]
// [ -l localname ] [ -t timeoutinfo ] host port program: ucspi-tcp 0.88's
// client. Connects to host:port, sets PROTO=TCP and the TCPLOCAL* and
// TCPREMOTE* variables as the original sets them (and in its order), and
// runs program with descriptor 6 reading from the server and 7 writing to
// it: exec in place with the addon; without it, program runs as a child with
// the same descriptors and tcpclient ends as it ended.
import { writeLine } from '../lib/strerr';
import { errstr } from '../lib/errstr';
import { BadOption, getopt } from '../lib/getopt';
import { scanUlong } from '../lib/scan';
import { decimal } from '../decimal';
import { addonPart, loadNative } from '../native';
import { cacheLookup, resolveHostAll, type LookupA } from '../listen/resolve';
import { parsePort } from '../listen/services';
import { createDns, type Dns } from '../identify/dns';
import { identLookup } from '../identify/ident';
import { execProg } from '../chain/exec';
import { connectAny, Fatal, nativeAttempt, netAttempt, type Connected, type Target } from './connect';
import { envObject, environOf, pathexecEnv } from './environ';

const P = 'tcpclient';
const FATAL = 'tcpclient: fatal: ';
export const USAGE = 'tcpclient: usage: tcpclient [ -hHrRdDqQv ] [ -i localip ] [ -p localport ] ' +
  '[ -T timeoutconn ] [ -l localname ] [ -t timeoutinfo ] host port program';

export interface Options {
  verbosity: number;
  noDelay: boolean;
  remoteInfo: boolean;
  remoteHost: boolean;
  infoTimeout: number;
  connTimeout: [number, number];
  localIp: string;
  localPort: number;
  localName?: string;
}

/** djb's ip4_scan: four decimal numbers joined by dots, each taken mod 256; what follows is ignored. */
export function ip4Scan(s: string): string | undefined {
  const out: number[] = [];
  let at = 0;
  for (let i = 0; i < 4; i++) {
    if (i > 0) {
      if (s[at] !== '.') return undefined;
      at++;
    }
    const [v, end] = scanUlong(s, at);
    if (end === at) return undefined;
    out.push(v % 256);
    at = end;
  }
  return out.join('.');
}

class Usage extends Error {}

/** The options and the words after them; Usage or BadOption when the original prints its usage. */
export function parse(argv: string[]): { o: Options; rest: string[] } {
  const o: Options = {
    verbosity: 1, noDelay: false, remoteInfo: true, remoteHost: true, infoTimeout: 26,
    connTimeout: [2, 58], localIp: '0.0.0.0', localPort: 0,
  };
  const rest = getopt(argv, 'dDvqQhHrRi:p:t:T:l:', (c, v = '') => {
    switch (c) {
      case 'd': o.noDelay = false; break;
      case 'D': o.noDelay = true; break;
      case 'v': o.verbosity = 2; break;
      case 'q': o.verbosity = 0; break;
      case 'Q': o.verbosity = 1; break;
      case 'l': o.localName = v; break;
      case 'H': o.remoteHost = false; break;
      case 'h': o.remoteHost = true; break;
      case 'R': o.remoteInfo = false; break;
      case 'r': o.remoteInfo = true; break;
      case 't': o.infoTimeout = scanUlong(v)[0]; break;
      case 'T': {
        const [x, end] = scanUlong(v);
        o.connTimeout = [x, scanUlong(v, v[end] === '+' ? end + 1 : end)[0]];
        break;
      }
      case 'i': {
        const ip = ip4Scan(v);
        if (ip === undefined) throw new Usage();
        o.localIp = ip;
        break;
      }
      case 'p': o.localPort = scanUlong(v)[0] % 65536; break;
    }
  });
  return { o, rest };
}

export async function tcpclient(argv: string[]): Promise<void> {
  let parsed: { o: Options; rest: string[] };
  try {
    parsed = parse(argv);
  } catch (e) {
    if (e instanceof BadOption) writeLine(`${P}: ${e.message}`);
    else if (!(e instanceof Usage)) throw e;
    writeLine(USAGE);
    process.exit(100);
  }
  const { o, rest } = parsed;
  // From here on -q silences everything, the usage too, as the original's buffer_2 on fd -1.
  const say = (line: string) => { if (o.verbosity > 0) writeLine(line); };
  const die = (line: string, code = 111): never => { say(line); process.exit(code); };
  const usage = () => die(USAGE, 100);

  let host = rest[0];
  if (host === undefined) return usage();
  if (host === '' || host === '0') host = '127.0.0.1';
  const portText = rest[1];
  if (portText === undefined) return usage();
  let port: number;
  const [u, end] = scanUlong(portText);
  if (end === portText.length) {
    port = u % 65536;
  } else {
    const named = parsePort(portText);
    if (named === undefined) return die(`${FATAL}unable to figure out port number for ${portText}`);
    port = named;
  }
  const prog = rest.slice(2);
  if (prog.length === 0) return usage();

  let addrs: string[];
  try {
    // The resolver (c-ares reads resolv.conf) only for a name that needs it, not for an address.
    let lookup: LookupA | undefined;
    addrs = await resolveHostAll(host, { lookup: (name) => (lookup ??= cacheLookup())(name) });
  } catch (e) {
    return die(`${FATAL}temporarily unable to figure out IP address for ${host}: ${errstr(e)}`);
  }
  if (addrs.length === 0) return die(`${FATAL}no IP address for ${host}`);
  shuffle(addrs, host);

  const target: Target = {
    addrs, port, localIp: o.localIp, localPort: o.localPort,
    first: o.connTimeout[0], second: o.connTimeout[1], noDelay: o.noDelay,
  };
  // The connect and the exec in place: both concerns whole, or neither used.
  const native = addonPart('client') && addonPart('exec') ? loadNative() : null;
  const useNative = native !== null;
  let found: Connected | undefined;
  try {
    found = await connectAny(target, useNative ? nativeAttempt(native, target) : netAttempt(target),
      (ip, p, e) => say(`${P}: unable to connect to ${ip} port ${decimal(p)}: ${errstr(e)}`));
  } catch (e) {
    if (!(e instanceof Fatal)) throw e;
    const what = e.step === 'socket' ? 'unable to create socket' : e.step === 'bind' ? 'unable to bind socket'
      : 'unable to get local address';
    return die(`${FATAL}${what}: ${errstr(e.cause)}`);
  }
  if (found === undefined) return process.exit(111);
  const c = found;

  if (o.verbosity >= 2) writeLine(`${P}: connected to ${c.remoteIp} port ${decimal(c.remotePort)}`);
  // The three look-ups the original makes one after the other, at once.
  const dns: Dns | undefined = o.localName === undefined || o.remoteHost ? createDns() : undefined;
  const [localHost, remoteHost, remoteInfo] = await Promise.all([
    o.localName !== undefined ? Promise.resolve(o.localName) : ptr(dns!, c.localIp),
    o.remoteHost ? ptr(dns!, c.remoteIp) : Promise.resolve(undefined),
    o.remoteInfo
      ? identLookup({ ip: c.localIp, port: c.localPort }, { ip: c.remoteIp, port: c.remotePort }, o.infoTimeout * 1000)
      : Promise.resolve(undefined),
  ]);
  const env = envObject(pathexecEnv(environOf(process.env), [
    ['PROTO', 'TCP'],
    ['TCPLOCALPORT', decimal(c.localPort)],
    ['TCPLOCALIP', c.localIp],
    ['TCPLOCALHOST', localHost],
    ['TCPREMOTEPORT', decimal(c.remotePort)],
    ['TCPREMOTEIP', c.remoteIp],
    ['TCPREMOTEHOST', remoteHost],
    ['TCPREMOTEINFO', remoteInfo],
  ]));
  execProg({
    tool: P, file: prog[0], argv: prog, env, quiet: true, moves: [[c.fd, 6], [c.fd, 7]],
    fail: (e) => die(`${FATAL}unable to run ${prog[0]}: ${errstr(e)}`),
  });
  // Without the addon prog now runs as a child with its own copies: ours goes.
  c.socket?.destroy();
}

/** dns_name4: the name ("" when the address has none), undefined when no server answered. */
async function ptr(dns: Dns, ip: string): Promise<string | undefined> {
  try {
    return (await dns.ptr(ip)) ?? '';
  } catch {
    return undefined;
  }
}

/** dns_ip4 puts a name's addresses in random order (dns_sortip); numeric hosts keep theirs. */
function shuffle(addrs: string[], host: string): void {
  if (/^[0-9.[\]]*$/.test(host)) return;
  for (let i = addrs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [addrs[i], addrs[j]] = [addrs[j], addrs[i]];
  }
}
