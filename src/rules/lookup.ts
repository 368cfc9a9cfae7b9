// Which rule applies to a client: the keys tcpserver tries, in its order,
// the first one present wins. ucspi-tcp 0.88's order, with ucspi-tcp6's CIDR
// and IPv6 steps (keys.ts); host and info keys only when they are known.
//   1 info@ip   2 info@=host   3 ip   4 =host
//   5 IPv4 prefixes ending in a dot, longest first ("1.2.3.", "1.2.", "1.")
//   6 CIDR, longest prefix first: "_" bit keys /32../1 for IPv4, "^" /128../1 for IPv6
//   7 =.suffixes of host, longest first   8 "=" when host is known   9 ""
// For IPv6 the ip in steps 1 and 3 is written in ucspi-tcp6's expanded form.
import type { Peer } from '../decide/decision';
import type { Cdb } from '../cdb/reader';
import { bitKeyText, ipv4BitKey, ipv6BitKey, ipv6Expanded, parseIPv4, parseIPv6 } from './keys';

export interface RuleMatch {
  /** The key found, as stored. */
  key: Buffer;
  /** How tcprulescheck names it: the key itself, or "a.b.c.d/n" for a CIDR key. */
  name: string;
  value: Buffer;
}

export function lookupRule(cdb: Cdb, peer: Peer): RuleMatch | null {
  const { host, info } = peer;
  const v6 = peer.ip.includes(':');
  let ip: string | null = peer.ip;
  let bits: Buffer | null = null; // the full bit key; shorter prefixes are its prefixes
  if (v6) {
    const b = parseIPv6(peer.ip);
    ip = b && ipv6Expanded(b);
    bits = b && ipv6BitKey(b, 128);
  } else {
    const b = parseIPv4(peer.ip);
    bits = b && ipv4BitKey(b, 32);
  }
  const plain = (k: string): RuleMatch | null => {
    const key = Buffer.from(k);
    const value = cdb.get(key);
    return value === undefined ? null : { key, name: k, value };
  };
  let m: RuleMatch | null;
  if (info !== undefined) {
    if (ip !== null && (m = plain(`${info}@${ip}`))) return m;
    if (host !== undefined && (m = plain(`${info}@=${host}`))) return m;
  }
  if (ip !== null && (m = plain(ip))) return m;
  if (host !== undefined && (m = plain(`=${host}`))) return m;
  if (!v6) {
    const v4 = peer.ip;
    for (let n = v4.length; n > 0; n--) {
      if (v4.charCodeAt(n - 1) === 0x2e && (m = plain(v4.slice(0, n)))) return m;
    }
  }
  if (bits) {
    for (let n = bits.length; n > 1; n--) {
      const key = bits.subarray(0, n);
      const value = cdb.get(key);
      if (value !== undefined) return { key, name: bitKeyText(key)!, value };
    }
  }
  if (host !== undefined) {
    for (let i = 0; i < host.length; i++) {
      if (host.charCodeAt(i) === 0x2e && (m = plain(`=${host.slice(i)}`))) return m;
    }
    if ((m = plain('='))) return m;
  }
  return plain('');
}
