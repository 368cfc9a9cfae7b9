// Where a client is counted: its own address, or the network it is in (an
// IPv4 /N and an IPv6 /N prefix, --prefix), so that a client cannot escape
// a per-host limit or a rate limit by hopping across the addresses of one
// network (an IPv6 client usually holds a whole /64). The key is the
// prefix's text, as administrators read it in the log lines and the status
// file: "127.1.2.0/24", "fd00:1::/64".
import { ipv4Number, ipv6Name, parseIPv6 } from '../lib/ip';

export interface PrefixLengths {
  /** IPv4 prefix length, 0..32 (32: the address itself). */
  v4: number;
  /** IPv6 prefix length, 0..128 (128: the address itself). */
  v6: number;
}

/** Client address (dotted quad, or IPv6 text) → the key it is counted under. */
export type Keyer = (ip: string) => string;

/** The identity: every address counts for itself (the originals' per-host count). */
export const byAddress: Keyer = (ip) => ip;


/** The text of an IPv4 prefix: network address and length. */
function v4Key(n: number, len: number): string {
  const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const v = (n & m) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`;
}

/** The text of an IPv6 prefix: network address (RFC 5952) and length. */
function v6Key(b: Uint8Array, len: number): string {
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    b[i] &= (0xff00 >> keep) & 0xff;
  }
  return `${ipv6Name(b)}/${len}`;
}

/**
 * The keyer for these prefix lengths. A full length keeps the address as the
 * listener gave it (no /32 or /128 suffix: the count is then per host, as
 * without the option).
 */
export function prefixKeyer(p: PrefixLengths): Keyer {
  return (ip) => {
    const n = ipv4Number(ip);
    if (n >= 0) return p.v4 === 32 ? ip : v4Key(n, p.v4);
    if (p.v6 === 128) return ip;
    const b = parseIPv6(ip);
    return b ? v6Key(b, p.v6) : ip;
  };
}

/**
 * --prefix's value: "N4,N6", "N4" (IPv6 left per address) or ",N6"; undefined
 * when it is not that, or a length is out of range.
 */
export function parsePrefixOption(v: string, into: PrefixLengths = { v4: 32, v6: 128 }): PrefixLengths | undefined {
  const m = /^(\d{1,3})?(?:,(\d{1,3}))?$/.exec(v);
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  const out = { ...into };
  if (m[1] !== undefined) out.v4 = Number(m[1]);
  if (m[2] !== undefined) out.v6 = Number(m[2]);
  if (out.v4 > 32 || out.v6 > 128) return undefined;
  return out;
}
