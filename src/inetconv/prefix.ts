// Address prefixes for the translation: a family, the network bits (as a
// bigint: one arithmetic for IPv4 and IPv6) and a length; and the peers entry
// name tcpsvd looks such a prefix up under (candidates.ts in src/instruct).
import { ipv6Name } from '../lib/ip';

export interface Prefix { v6: boolean; bits: bigint; len: number }

const width = (v6: boolean) => (v6 ? 128 : 32);

function toBig(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function mask(v6: boolean, len: number): bigint {
  const w = width(v6);
  return len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(w - len);
}

/** The prefix of bytes/len; exact is false when bytes has host bits set (tcpd then never matches). */
export function prefixOf(v6: boolean, bytes: Uint8Array, len: number): { prefix: Prefix; exact: boolean } {
  const n = toBig(bytes);
  const bits = n & mask(v6, len);
  return { prefix: { v6, bits, len }, exact: bits === n };
}

/** Does a contain b (b at least as long, same leading bits)? */
export function contains(a: Prefix, b: Prefix): boolean {
  return a.v6 === b.v6 && a.len <= b.len && (b.bits & mask(a.v6, a.len)) === a.bits;
}

export function key(p: Prefix): string {
  return `${p.v6 ? 6 : 4}/${p.bits.toString(16)}/${p.len}`;
}

function bytesOf(p: Prefix): Uint8Array {
  const n = width(p.v6) / 8;
  const out = new Uint8Array(n);
  let b = p.bits;
  for (let i = n - 1; i >= 0; i--) { out[i] = Number(b & 255n); b >>= 8n; }
  return out;
}

/** The entry name: a.b.c.d, a.b.c, a.b, a at 32/24/16/8, else a CIDR name net_len; undefined for /0. */
export function entryName(p: Prefix): string | undefined {
  if (p.len === 0) return undefined;
  const b = bytesOf(p);
  if (p.v6) return p.len === 128 ? ipv6Name(b) : `${ipv6Name(b)}_${p.len}`;
  const q = [...b].map(String);
  if (p.len % 8 === 0) return q.slice(0, p.len / 8).join('.');
  return `${q.join('.')}_${p.len}`;
}

/** Human form for messages: a.b.c.d/len or [v6]/len. */
export function show(p: Prefix): string {
  const b = bytesOf(p);
  return p.v6 ? `[${ipv6Name(b)}]/${p.len}` : `${[...b].join('.')}/${p.len}`;
}
