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

const V4LETTERS = Buffer.from('abcdefghijklmnopqrstuvwxyz123456');

/** Four bytes of a strict dotted quad (decimal 0..255, no empty part), or null. */
export function parseIPv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  return parseOctets(parts);
}

/** Octets of a possibly short dotted address ("10", "10.0"), as CIDR rules allow. */
export function parseOctets(parts: string[]): number[] | null {
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

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
 * The 16 bytes of an IPv6 address in RFC 4291 text form (hex groups, one
 * "::", optional trailing dotted quad), or null.
 */
export function parseIPv6(s: string): Uint8Array | null {
  let head = s;
  let tail = '';
  const dc = s.indexOf('::');
  if (dc >= 0) {
    if (s.indexOf('::', dc + 1) >= 0) return null;
    head = s.slice(0, dc);
    tail = s.slice(dc + 2);
  }
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const words: number[] = [];
  const groups = (list: string[], last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (last && i === list.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return false;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
        words.push(parseInt(g, 16));
      } else {
        return false;
      }
    }
    return true;
  };
  if (dc < 0) {
    if (!groups(h, true) || words.length !== 8) return null;
  } else {
    if (!groups(h, false)) return null;
    const before = words.length;
    if (!groups(t, true)) return null;
    const after = words.splice(before);
    if (before + after.length > 7) return null;
    while (words.length + after.length < 8) words.push(0);
    words.push(...after);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 255;
  }
  return out;
}

/** The ucspi-tcp6 key of a single IPv6 address: full, upper-case groups. */
export function ipv6Expanded(bytes: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((bytes[i] << 8) | bytes[i + 1]).toString(16).toUpperCase().padStart(4, '0'));
  return g.join(':');
}

/** RFC 5952 text of 16 bytes (lower case, longest zero run as "::"). */
export function ipv6Text(bytes: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((bytes[i] << 8) | bytes[i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return hex(w.slice(0, best)) + '::' + hex(w.slice(best + bestLen));
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
  return (v4 ? Array.from(bytes).join('.') : ipv6Text(bytes)) + '/' + n;
}
