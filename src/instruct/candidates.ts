// The names a client is looked up under, most specific first, as ipsvd does:
// a.b.c.d, a.b.c, a.b, a, then the host name and its parent domains, then 0.
// Our extensions (see rules/README.md): CIDR names "net_len" (a '/' cannot be
// in a file name) interleaved by prefix length, and IPv6 clients: the full
// RFC 5952 address, then the CIDR names that exist, longest prefix first.
import * as net from 'node:net';
import { ipv6Name, parseIPv6 } from '../lib/ip';

/** Prefix lengths that occur in CIDR names of a store, longest first, per family. */
export interface PrefixLens { v4: number[]; v6: number[] }

export const NO_PREFIXES: PrefixLens = Object.freeze({ v4: [], v6: [] }) as PrefixLens;

/** The family and length of a CIDR name ("10.0.0.0_8", "2001:db8::_32"), or undefined. */
export function cidrName(name: string): { v6: boolean; len: number } | undefined {
  const us = name.lastIndexOf('_');
  if (us < 1 || us > name.length - 2 || name.length - us > 4) return undefined;
  const digits = name.slice(us + 1);
  if (!/^[0-9]+$/.test(digits)) return undefined;
  const len = Number(digits);
  const v6 = name.indexOf(':') >= 0;
  if (len < 1 || len > (v6 ? 128 : 32)) return undefined;
  if (!v6 && name.indexOf('.') < 0) return undefined;
  return { v6, len };
}

/** Collect the prefix lengths of the CIDR names among names. */
export function prefixLens(names: Iterable<string>): PrefixLens {
  const v4 = new Set<number>();
  const v6 = new Set<number>();
  for (const n of names) {
    const c = cidrName(n);
    if (c) (c.v6 ? v6 : v4).add(c.len);
  }
  const desc = (a: number, b: number) => b - a;
  return { v4: [...v4].sort(desc), v6: [...v6].sort(desc) };
}

export function candidates(ip: string, host: string | undefined, lens: PrefixLens): string[] {
  const out: string[] = [];
  const fam = net.isIP(ip);
  if (fam === 6) ipv6Names(ip, lens.v6, out);
  else if (fam === 4) ipv4Names(ip, lens.v4, out);
  else dotted(ip, out);
  // Host names: the name, then each parent domain; ipsvd stops at an empty
  // label rather than look up a name starting with a dot. A name (or parent)
  // shaped like an address entry is skipped: a PTR answer of "10.0.0.1" or
  // "x.10" must not pose as the entries 10.0.0.1 or 10 (ipsvd would match them).
  if (host) {
    let h = host;
    while (h !== '' && h.charAt(0) !== '.') {
      if (!posesAsAddress(h)) out.push(h);
      const dot = h.indexOf('.');
      if (dot < 0) break;
      h = h.slice(dot + 1);
    }
  }
  out.push('0');
  return out;
}

/** Digits and dots only, or a CIDR name: the shape of an address entry. */
function posesAsAddress(name: string): boolean {
  return /^[0-9.]+$/.test(name) || cidrName(name) !== undefined;
}

// The classic names: the address, then drop the last dotted part each time.
function dotted(ip: string, out: string[]): void {
  let s = ip;
  for (;;) {
    out.push(s);
    const dot = s.lastIndexOf('.');
    if (dot <= 0) return;
    s = s.slice(0, dot);
  }
}

function ipv4Names(ip: string, lens: number[], out: string[]): void {
  if (lens.length === 0) return dotted(ip, out);
  const p = ip.split('.');
  const a = ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
  let k = 0;
  for (let len = 32; len >= 1; len--) {
    if (len === 32) out.push(ip);
    else if (len === 24) out.push(p.slice(0, 3).join('.'));
    else if (len === 16) out.push(p.slice(0, 2).join('.'));
    else if (len === 8) out.push(p[0]);
    if (lens[k] === len) {
      k++;
      const m = len === 32 ? a : (a & ~(0xffffffff >>> len)) >>> 0;
      out.push(`${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}_${len}`);
    }
  }
}

function ipv6Names(ip: string, lens: number[], out: string[]): void {
  out.push(ip);
  if (lens.length === 0) return;
  const bytes = parseIPv6(ip);
  if (bytes === null) return;
  for (const len of lens) {
    const m = bytes.slice();
    for (let bit = len; bit < 128; bit++) m[bit >> 3] &= ~(0x80 >> (bit & 7));
    out.push(`${ipv6Name(m)}_${len}`);
  }
}

/**
 * Which of ipsvd's steps a candidate name belongs to, for tcpexplain; last:
 * the last name candidates() gave, the default entry "0" (which a client
 * 0.x.y.z also has as its last address prefix).
 */
export function candidateStep(name: string, ip: string, host: string | undefined, last: boolean): string {
  if (last) return 'default';
  if (name === ip) return 'ip';
  if (cidrName(name) !== undefined) return 'cidr';
  if (ip.startsWith(name + '.')) return 'ip prefix';
  return name === host ? 'host' : 'domain';
}
