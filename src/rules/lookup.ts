// Which rule applies to a client: the keys tcpserver tries, in its order,
// the first one present wins. ucspi-tcp 0.88's order, with ucspi-tcp6's CIDR
// and IPv6 steps (keys.ts); host and info keys only when they are known.
//   1 info@ip   2 info@=host   3 ip   4 =host
//   5 IPv4 prefixes ending in a dot, longest first ("1.2.3.", "1.2.", "1.")
//   6 CIDR, longest prefix first: "_" bit keys /32../1 for IPv4, "^" /128../1 for IPv6
//   7 =.suffixes of host, longest first   8 "=" when host is known   9 ""
// For IPv6 the ip in steps 1 and 3 is written in ucspi-tcp6's expanded form.
// Keys are byte strings (one char per byte, latin1), so callers can cache by them.
import type { Peer, Trace } from '../decide/decision';
import type { Cdb } from '../cdb/reader';
import { bitKeyText, ipv4BitKey, ipv6BitKey } from './keys';
import { ipv6RulesKey, parseIPv4, parseIPv6 } from '../lib/ip';

/**
 * A key (byte string) to its first value, or undefined. shared: the key is
 * one that other clients ask for too (a prefix, a domain, "="), not this
 * client's own address, name or ident: worth remembering.
 */
export type Find = (key: string, shared: boolean) => Buffer | undefined;

export interface RuleMatch {
  /** How tcprulescheck names the rule (byte string): the key, or "a.b.c.d/n" for a CIDR key. */
  name: string;
  value: Buffer;
}

/**
 * The CIDR prefix lengths present in a file (flag per length, index = n), so
 * the lookup can skip the absent ones: without it every length is tried.
 */
export interface CidrLengths { v4: Uint8Array; v6: Uint8Array }

export function cidrLengths(cdb: Cdb): CidrLengths {
  const v4 = new Uint8Array(33);
  const v6 = new Uint8Array(129);
  cdb.forEachKey((b, s, e) => {
    const n = e - s - 1;
    if (b[s] === 0x5f && n >= 1 && n <= 32) v4[n] = 1;
    else if (b[s] === 0x5e && n >= 1 && n <= 128) v6[n] = 1;
  });
  return { v4, v6 };
}

export function cdbFind(cdb: Cdb): Find {
  return (key) => cdb.get(Buffer.from(key, 'latin1'));
}

/**
 * A string as the byte string of its UTF-8 form. ASCII (addresses, names
 * from DNS) is that already: no Buffer per lookup, whose pool slabs, made
 * and freed for every connection, crept up the C heap of a busy server.
 */
function bytes(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s).toString('latin1');
  return s;
}

/** trace (tcpexplain): told every key in order, found or not; skipped CIDR lengths too. */
export function lookupRule(find: Find, peer: Peer, cidr?: CidrLengths, trace?: Trace): RuleMatch | null {
  const host = peer.host === undefined ? undefined : bytes(peer.host);
  const info = peer.info === undefined ? undefined : bytes(peer.info);
  const v6 = peer.ip.includes(':');
  // The exact key, and the address's bytes for the CIDR steps; the bit key
  // itself is built only when the file has CIDR rules of that family.
  let ip: string | null;
  let v4b: number[] | null = null;
  let v6b: Uint8Array | null = null;
  if (v6) {
    v6b = parseIPv6(peer.ip);
    ip = v6b && ipv6RulesKey(v6b);
  } else {
    ip = bytes(peer.ip);
    v4b = parseIPv4(peer.ip);
  }
  const at = (name: string, shared: boolean, step: string): RuleMatch | null => {
    const value = find(name, shared);
    if (trace) trace({ kind: 'candidate', step, key: name, name, result: value === undefined ? 'absent' : 'found', value });
    return value === undefined ? null : { name, value };
  };
  let m: RuleMatch | null;
  if (info !== undefined) {
    if (ip !== null && (m = at(`${info}@${ip}`, false, 'info@ip'))) return m;
    if (host !== undefined && (m = at(`${info}@=${host}`, false, 'info@=host'))) return m;
  }
  if (ip !== null && (m = at(ip, false, 'ip'))) return m;
  if (host !== undefined && (m = at(`=${host}`, false, '=host'))) return m;
  if (!v6 && ip !== null) {
    for (let n = ip.length; n > 0; n--) {
      if (ip.charCodeAt(n - 1) === 0x2e && (m = at(ip.slice(0, n), true, 'ip prefix'))) return m;
    }
  }
  const present = cidr && (v6 ? cidr.v6 : cidr.v4);
  const none = present !== undefined && present.indexOf(1) < 0; // no CIDR rules of this family
  const bits = none && !trace ? null
    : v6b ? ipv6BitKey(v6b, 128).toString('latin1') : v4b ? ipv4BitKey(v4b, 32).toString('latin1') : null;
  if (bits !== null) {
    for (let n = bits.length; n > 1; n--) {
      if (present && !present[n - 1]) {
        if (trace) cidrStep(trace, bits.slice(0, n), 'skipped');
        continue;
      }
      const key = bits.slice(0, n);
      const value = find(key, n < bits.length);
      if (trace) cidrStep(trace, key, value === undefined ? 'absent' : 'found', value);
      if (value !== undefined) return { name: bitKeyText(Buffer.from(key, 'latin1'))!, value };
    }
  }
  if (host !== undefined) {
    for (let i = 0; i < host.length; i++) {
      if (host.charCodeAt(i) === 0x2e && (m = at(`=${host.slice(i)}`, true, '=.domain'))) return m;
    }
    if ((m = at('=', true, '='))) return m;
  }
  return at('', true, 'default');
}

function cidrStep(trace: Trace, key: string, result: 'found' | 'absent' | 'skipped', value?: Buffer): void {
  trace({ kind: 'candidate', step: 'cidr', key, name: bitKeyText(Buffer.from(key, 'latin1'))!, result, value });
}
