// The PROXY protocol, versions 1 (text) and 2 (binary), as HAProxy's
// proxy-protocol.txt defines it: a load balancer in front of the server
// writes one header at the start of the connection, naming the client it
// accepted; the server takes the client's addresses from it.
//
// Nothing here reads from a socket. scanHeader() says, from the bytes seen so
// far, where the header ends or how many more bytes it certainly still has,
// so that a reader never takes a byte past its end: the program behind the
// server gets the stream from the first byte after the header. parseHeader()
// turns a complete header into addresses and the variables its TLVs give.
// HeaderReader drives one connection's reading over a HeaderSource (the
// addon's MSG_PEEK and exact recv, or plain exact reads on the pure-Node
// path); the trust list (--proxy=CIDR,...) is parseTrust()/Trust.
import { constants } from 'node:os';
import { formatIPv4, ipv4Number, ipv6Env, isV4Mapped, parseIPv4, parseIPv6 } from '../lib/ip';

/** A version 1 header is at most 107 bytes, CRLF included. */
export const V1_MAX = 107;
/** The shortest version 1 header, "PROXY UNKNOWN\r\n": reading this many never passes any header's end. */
const V1_MIN = 15;
/** The longest version 2 header taken (16 bytes + address block + TLVs); longer is refused as oversize. */
export const V2_MAX = 16 + 4096;

const V2_SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V1_SIG = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "

export type Scan =
  | { state: 'done'; length: number }
  /** need: more bytes the header certainly still has (reading that many never passes its end). */
  | { state: 'more'; need: number }
  | { state: 'bad'; why: string };

const bad = (why: string): Scan => ({ state: 'bad', why });
const more = (need: number): Scan => ({ state: 'more', need });

function prefixIs(b: Uint8Array, n: number, sig: number[]): boolean {
  const m = Math.min(n, sig.length);
  for (let i = 0; i < m; i++) if (b[i] !== sig[i]) return false;
  return true;
}

/** Where the header that b[0..n) begins with ends, or how much of it is still to come. */
export function scanHeader(b: Uint8Array, n: number): Scan {
  if (n === 0) return more(V1_MIN);
  if (b[0] === 0x50) {
    if (!prefixIs(b, n, V1_SIG)) return bad('not a PROXY header');
    const m = Math.min(n, V1_MAX);
    for (let i = 0; i < m; i++) {
      if (b[i] === 0x0d) {
        if (i + 2 > V1_MAX) break; // CRLF would end past 107 bytes
        if (i + 1 >= n) break; // the LF is still to come
        if (b[i + 1] !== 0x0a) return bad('v1 header: CR without LF');
        return { state: 'done', length: i + 2 };
      }
      if (b[i] === 0x0a) return bad('v1 header: LF without CR');
    }
    if (n >= V1_MAX) return bad(`v1 header longer than ${V1_MAX} bytes`);
    if (n < V1_MIN) return more(V1_MIN - n);
    // CRLF still ends it: one byte if the CR is here, else at least two.
    return more(b[n - 1] === 0x0d ? 1 : Math.min(2, V1_MAX - n));
  }
  if (b[0] === 0x0d) {
    if (!prefixIs(b, n, V2_SIG)) return bad('not a PROXY header');
    if (n < 16) return more(16 - n);
    if (b[12] >> 4 !== 2) return bad(`v2 header: version ${b[12] >> 4}`);
    const total = 16 + ((b[14] << 8) | b[15]);
    if (total > V2_MAX) return bad(`v2 header of ${total} bytes, more than ${V2_MAX}`);
    return n >= total ? { state: 'done', length: total } : more(total - n);
  }
  return bad('not a PROXY header');
}

/** What a header says. proxied false (v1 UNKNOWN, v2 LOCAL, no usable family): the socket's own addresses stay. */
export interface ProxyHeader {
  version: 1 | 2;
  proxied: boolean;
  v6: boolean;
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
  /** "NAME=value" byte strings (one char per byte) for prog, from the v2 TLVs. */
  env: string[];
}

const NOT_PROXIED: Omit<ProxyHeader, 'version' | 'env'> = {
  proxied: false, v6: false, remoteIp: '', remotePort: 0, localIp: '', localPort: 0,
};

function v1Port(s: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(s)) return -1;
  const p = Number(s);
  return p <= 65535 ? p : -1;
}

/** IPv4-mapped IPv6 addresses are IPv4 clients, as accept reports them. */
function v6Text(bytes: Uint8Array, off: number): { v6: boolean; ip: string } {
  return isV4Mapped(bytes, off) ? { v6: false, ip: formatIPv4(bytes, off + 12) } : { v6: true, ip: ipv6Env(bytes, off) };
}

function parseV1(text: string): ProxyHeader | string {
  const f = text.split(' ');
  if (f[1] === 'UNKNOWN') return { version: 1, ...NOT_PROXIED, env: [] };
  if (f.length !== 6) return 'v1 header: wrong number of fields';
  const sp = v1Port(f[4]), dp = v1Port(f[5]);
  if (sp < 0 || dp < 0) return 'v1 header: bad port';
  if (f[1] === 'TCP4') {
    const s = parseIPv4(f[2]), d = parseIPv4(f[3]);
    if (!s || !d) return 'v1 header: bad IPv4 address';
    return { version: 1, proxied: true, v6: false, remoteIp: s.join('.'), remotePort: sp, localIp: d.join('.'), localPort: dp, env: [] };
  }
  if (f[1] === 'TCP6') {
    const s = parseIPv6(f[2]), d = parseIPv6(f[3]);
    if (!s || !d) return 'v1 header: bad IPv6 address';
    const rs = v6Text(s, 0), rd = v6Text(d, 0);
    return { version: 1, proxied: true, v6: rs.v6, remoteIp: rs.ip, remotePort: sp, localIp: rd.ip, localPort: dp, env: [] };
  }
  return `v1 header: unknown protocol`;
}

// The TLVs given to prog, by type: PP2_TYPE_* of proxy-protocol.txt.
const TLV_NAMES: Record<number, string> = {
  0x01: 'PROXY_ALPN',
  0x02: 'PROXY_AUTHORITY',
  0x05: 'PROXY_UNIQUE_ID',
  0x30: 'PROXY_NETNS',
};
const SSL_NAMES: Record<number, string> = {
  0x21: 'PROXY_SSL_VERSION',
  0x22: 'PROXY_SSL_CN',
  0x23: 'PROXY_SSL_CIPHER',
  0x24: 'PROXY_SSL_SIG_ALG',
  0x25: 'PROXY_SSL_KEY_ALG',
};
/** Every variable a header may set: the server's own values of these never reach prog. */
export const PROXY_VARS = ['PROXY_SSL', 'PROXY_SSL_VERIFIED', ...Object.values(TLV_NAMES), ...Object.values(SSL_NAMES)];

/** A value as a byte string; undefined when it holds a NUL (no environment can carry it). */
function tlvValue(b: Uint8Array, off: number, len: number): string | undefined {
  let s = '';
  for (let i = off; i < off + len; i++) {
    if (b[i] === 0) return undefined;
    s += String.fromCharCode(b[i]);
  }
  return s;
}

/** The TLVs of b[off..end) into env; an error text when they do not fit the header. */
function tlvs(b: Uint8Array, off: number, end: number, env: string[], names: Record<number, string>,
              crcAt: { at: number }): string | undefined {
  while (off < end) {
    if (off + 3 > end) return 'v2 header: truncated TLV';
    const type = b[off], len = (b[off + 1] << 8) | b[off + 2];
    const v = off + 3;
    if (v + len > end) return 'v2 header: TLV overruns the header';
    if (names === TLV_NAMES && type === 0x03) {
      if (len !== 4) return 'v2 header: CRC32C TLV of wrong length';
      crcAt.at = v;
    } else if (names === TLV_NAMES && type === 0x20) {
      if (len < 5) return 'v2 header: SSL TLV too short';
      if (b[v] & 0x01) {
        env.push('PROXY_SSL=1');
        const verify = ((b[v + 1] << 24) | (b[v + 2] << 16) | (b[v + 3] << 8) | b[v + 4]) >>> 0;
        // A client certificate was presented (in this connection or the session) and verified.
        if ((b[v] & 0x06) !== 0 && verify === 0) env.push('PROXY_SSL_VERIFIED=1');
      }
      const e = tlvs(b, v + 5, v + len, env, SSL_NAMES, crcAt);
      if (e) return e;
    } else {
      const name = names[type];
      if (name !== undefined) {
        const s = tlvValue(b, v, len);
        if (s !== undefined) env.push(name + '=' + s);
      }
    }
    off = v + len;
  }
  return undefined;
}

let crcTable: Uint32Array | undefined;

/** CRC32C (Castagnoli) of b[0..n), the bytes at skip..skip+4 taken as zeros. */
export function crc32c(b: Uint8Array, n: number, skip = -1): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < n; i++) {
    const x = skip >= 0 && i >= skip && i < skip + 4 ? 0 : b[i];
    c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function parseV2(b: Uint8Array, length: number): ProxyHeader | string {
  const cmd = b[12] & 0x0f;
  if (cmd > 1) return `v2 header: unknown command ${cmd}`;
  if (cmd === 0) return { version: 2, ...NOT_PROXIED, env: [] }; // LOCAL: a health check, nothing proxied
  const fam = b[13] >> 4, proto = b[13] & 0x0f;
  if (fam > 3 || proto > 2) return 'v2 header: unknown address family or protocol';
  const addrLen = [0, 12, 36, 216][fam];
  if (16 + addrLen > length) return 'v2 header: address block truncated';
  const env: string[] = [];
  const crcAt = { at: -1 };
  const e = tlvs(b, 16 + addrLen, length, env, TLV_NAMES, crcAt);
  if (e) return e;
  if (crcAt.at >= 0) {
    const want = ((b[crcAt.at] << 24) | (b[crcAt.at + 1] << 16) | (b[crcAt.at + 2] << 8) | b[crcAt.at + 3]) >>> 0;
    if (crc32c(b, length, crcAt.at) !== want) return 'v2 header: CRC32C mismatch';
  }
  // UNSPEC or AF_UNIX: no address we could give as TCPREMOTEIP; the socket's stay.
  if (fam === 0 || fam === 3 || proto === 0) return { version: 2, ...NOT_PROXIED, env };
  if (fam === 1) {
    return {
      version: 2, proxied: true, v6: false,
      remoteIp: formatIPv4(b, 16), localIp: formatIPv4(b, 20),
      remotePort: (b[24] << 8) | b[25], localPort: (b[26] << 8) | b[27], env,
    };
  }
  const rs = v6Text(b, 16), rd = v6Text(b, 32);
  return {
    version: 2, proxied: true, v6: rs.v6, remoteIp: rs.ip, localIp: rd.ip,
    remotePort: (b[48] << 8) | b[49], localPort: (b[50] << 8) | b[51], env,
  };
}

/** A complete header (scanHeader said done with this length) → what it says, or why it is refused. */
export function parseHeader(b: Uint8Array, length: number): ProxyHeader | string {
  if (b[0] === 0x0d) return parseV2(b, length);
  let text = '';
  for (let i = 0; i < length - 2; i++) {
    const ch = b[i];
    if (ch < 0x20 || ch > 0x7e) return 'v1 header: a byte that is no printable ASCII';
    text += String.fromCharCode(ch);
  }
  return parseV1(text);
}

/** Whether a header may start with the bytes b[0..n) (n ≥ 1): enough to tell an untrusted source's header. */
export function looksLikeHeader(b: Uint8Array, n: number): boolean {
  if (n >= 5 && b[0] === 0x50) return prefixIs(b, n, V1_SIG);
  if (n >= 5 && b[0] === 0x0d) return prefixIs(b, n, V2_SIG);
  return false;
}

// ---- reading one connection's header ----------------------------------------

/** Non-blocking reads of one connection: a count, 0 at end of stream, or -errno (-EAGAIN: nothing yet). */
export interface HeaderSource {
  read(buf: Buffer, off: number, len: number): number;
  /** As read, but the bytes stay queued (MSG_PEEK); absent where the system offers no peek. */
  peek?(buf: Buffer, off: number, len: number): number;
}

const EAGAIN = -constants.errno.EAGAIN;
/** Shared by every reader: one header is read at a time, synchronously. */
const scratch = Buffer.allocUnsafe(V2_MAX);

export type Step = { header: ProxyHeader } | { wait: true } | { error: string | NodeJS.ErrnoException };

const WAIT: Step = { wait: true };

/**
 * One connection's header, read over as many readable events as it takes.
 * Only the bytes before the header's end are ever taken from the socket: with
 * a peek, exactly the header's bytes among those seen; without, never more
 * than scanHeader's need.
 */
export class HeaderReader {
  private part: Buffer | undefined;
  private have = 0;

  constructor(private readonly src: HeaderSource, private readonly errnoOf: (neg: number) => NodeJS.ErrnoException) {}

  step(): Step {
    const b = scratch, src = this.src;
    let n = this.have;
    if (n > 0) this.part!.copy(b, 0, 0, n);
    for (;;) {
      let s = scanHeader(b, n);
      if (s.state === 'more') {
        let r: number;
        if (src.peek) {
          // Look at everything there is (up to the longest header), keep what belongs to the header.
          r = src.peek(b, n, (b[0] === 0x50 && n > 0 ? V1_MAX : V2_MAX) - n);
          if (r > 0) {
            s = scanHeader(b, n + r);
            const take = s.state === 'done' ? s.length - n : s.state === 'more' ? r : 0;
            if (take > 0) {
              const got = src.read(b, n, take); // the same bytes, now taken
              if (got !== take) return this.fail(got < 0 ? got : 0);
            }
            if (s.state === 'bad') return { error: s.why };
            n += take;
            if (s.state === 'done') return this.finish(b, s.length);
            continue;
          }
        } else {
          r = src.read(b, n, s.need);
          if (r > 0) { n += r; continue; }
        }
        if (r === EAGAIN) {
          this.keep(b, n);
          return WAIT;
        }
        return this.fail(r);
      }
      if (s.state === 'bad') return { error: s.why };
      return this.finish(b, s.length);
    }
  }

  private finish(b: Buffer, length: number): Step {
    this.part = undefined;
    const h = parseHeader(b, length);
    return typeof h === 'string' ? { error: h } : { header: h };
  }

  private keep(b: Buffer, n: number): void {
    if (n === this.have) return;
    if (!this.part || this.part.length < n) this.part = Buffer.allocUnsafe(b[0] === 0x50 ? V1_MAX : Math.max(n, 64));
    b.copy(this.part, 0, 0, n);
    this.have = n;
  }

  private fail(r: number): Step {
    return { error: r === 0 ? 'connection closed within the header' : this.errnoOf(r) };
  }
}

// ---- the sources a header is taken from: --proxy=CIDR,... -----------------

interface Net4 { net: number; mask: number }
interface Net6 { net: Uint8Array; len: number }

/** The addresses whose headers are believed. */
export class Trust {
  constructor(private readonly v4: Net4[], private readonly v6: Net6[]) {}

  has(ip: string): boolean {
    const a = ipv4Number(ip);
    if (a >= 0) {
      for (const n of this.v4) if (((a & n.mask) >>> 0) === n.net) return true;
      return false;
    }
    if (this.v6.length === 0 || !ip.includes(':')) return false;
    const b = parseIPv6(ip);
    if (!b) return false;
    for (const n of this.v6) if (prefixMatch(b, n.net, n.len)) return true;
    return false;
  }
}

function prefixMatch(a: Uint8Array, net: Uint8Array, len: number): boolean {
  let i = 0;
  for (; len >= 8; len -= 8, i++) if (a[i] !== net[i]) return false;
  if (len === 0) return true;
  const m = (0xff << (8 - len)) & 0xff;
  return (a[i] & m) === (net[i] & m);
}

/** One --proxy value, "CIDR[,CIDR...]" (a bare address is one host), added to into; an error text naming the bad item. */
export function addTrust(into: { v4: Net4[]; v6: Net6[] }, spec: string): string | undefined {
  for (const item of spec.split(',')) {
    const slash = item.indexOf('/');
    const addr = slash < 0 ? item : item.slice(0, slash);
    const lenText = slash < 0 ? undefined : item.slice(slash + 1);
    if (lenText !== undefined && !/^[0-9]{1,3}$/.test(lenText)) return `bad prefix length: ${item}`;
    const q = ipv4Number(addr);
    if (q >= 0) {
      const len = lenText === undefined ? 32 : Number(lenText);
      if (len > 32) return `bad prefix length: ${item}`;
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      into.v4.push({ net: (q & mask) >>> 0, mask });
      continue;
    }
    const b = addr.includes(':') ? parseIPv6(addr) : null;
    if (!b) return `bad address: ${item}`;
    const len = lenText === undefined ? 128 : Number(lenText);
    if (len > 128) return `bad prefix length: ${item}`;
    const mapped = v6Text(b, 0);
    if (!mapped.v6 && len >= 96) {
      // ::ffff:a.b.c.d/len: clients arrive as IPv4.
      const e = addTrust(into, `${mapped.ip}/${len - 96}`);
      if (e) return e;
      continue;
    }
    into.v6.push({ net: b, len });
  }
  return undefined;
}

/** The --proxy values → the trust list, or an error text. */
export function parseTrust(specs: readonly string[]): Trust | string {
  const into = { v4: [] as Net4[], v6: [] as Net6[] };
  for (const s of specs) {
    const e = addTrust(into, s);
    if (e) return e;
  }
  return new Trust(into.v4, into.v6);
}
