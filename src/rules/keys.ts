// How ucspi-tcp6 spells CIDR and IPv6 rules as CDB keys, so rules files
// compiled here and there are interchangeable:
//   IPv6 address    its full form, 8 groups of 4 upper-case hex digits:
//                   "2001:0DB8:0000:0000:0000:0000:0000:0001"
//   IPv4 a.b.c.d/n  "_" then n characters, one per bit from the top: '0' for
//                   a clear bit, for a set bit at position k (0-based) the
//                   k-th character of "abcdefghijklmnopqrstuvwxyz123456"
//   IPv6 addr/n     "^" then n characters: '0' for a clear bit, and the set
//                   bits numbered in order, the first as '`' (0x60), the next
//                   'a', 'b', ... (up to 0xDF)
// The bit keys of an address's prefixes are the prefixes of its own bit key,
// so the lookup cuts one string shorter and shorter.

import { ipv6Name } from '../lib/ip';

const V4LETTERS = Buffer.from('abcdefghijklmnopqrstuvwxyz123456');

/** "_" + n bit characters of the address bytes (n <= 8 * bytes.length). */
export function ipv4BitKey(bytes: number[], n: number): Buffer {
  const key = Buffer.alloc(n + 1, 0x30);
  key[0] = 0x5f;
  for (let k = 0; k < n; k++) {
    if ((bytes[k >> 3] >> (7 - (k & 7))) & 1) key[k + 1] = V4LETTERS[k];
  }
  return key;
}

/** "^" + n bit characters of the 16 address bytes. */
export function ipv6BitKey(bytes: Uint8Array, n: number): Buffer {
  const key = Buffer.alloc(n + 1, 0x30);
  key[0] = 0x5e;
  let next = 0x60;
  for (let k = 0; k < n; k++) {
    if ((bytes[k >> 3] >> (7 - (k & 7))) & 1) key[k + 1] = next++;
  }
  return key;
}

/**
 * Readable "a.b.c.d/n" or "x::/n" for a bit key ("_..." or "^..."), as
 * tcprulescheck names the rule it found; null if it is not a bit key.
 */
export function bitKeyText(key: Buffer): string | null {
  const v4 = key[0] === 0x5f;
  if (!v4 && key[0] !== 0x5e) return null;
  const n = key.length - 1;
  if (n < 1 || n > (v4 ? 32 : 128)) return null;
  const bytes = new Uint8Array(v4 ? 4 : 16);
  for (let k = 0; k < n; k++) {
    const c = key[k + 1];
    if (c !== 0x30) bytes[k >> 3] |= 0x80 >> (k & 7);
  }
  return (v4 ? Array.from(bytes).join('.') : ipv6Name(bytes)) + '/' + n;
}

/**
 * Whether the rule named name (as tcprulescheck names it: "10.0.0.0/8",
 * "2001:0DB8:...", "info@..."; a host rule never) is one of ucspi-tcp6's
 * forms, a CIDR rule or an IPv6 address: ucspi-tcp 0.88's tcpserver never
 * asks for such a key, so it skips the rule without a word.
 */
export function tcp6OnlyRule(name: string): boolean {
  const addr = name.slice(name.lastIndexOf('@') + 1);
  return !addr.startsWith('=') && (addr.includes('/') || addr.includes(':'));
}

/** What tcprulescheck and tcpexplain say of such a rule. */
export function tcp6OnlyNote(name: string): string {
  return `rule ${name} is ucspi-tcp6's (${name.includes('/') ? 'CIDR' : 'IPv6'}): ucspi-tcp 0.88's tcpserver ` +
    '(Debian\'s ucspi-tcp) never looks it up and ignores it without a word; only ucspi-tcp6\'s tcpserver and ours apply it';
}
