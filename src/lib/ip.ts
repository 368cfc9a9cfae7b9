// IP addresses as bytes and as text. IPv6 has one text form per purpose,
// each named for it: ipv6Env (as the originals print a client's address),
// ipv6Name (RFC 5952, names administrators write) and ipv6RulesKey
// (ucspi-tcp6's rules cdb keys).

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

/** Four bytes at off → "a.b.c.d". */
export function formatIPv4(b: Uint8Array, off: number): string {
  return b[off] + '.' + b[off + 1] + '.' + b[off + 2] + '.' + b[off + 3];
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

/**
 * Sixteen bytes at off as the originals print a client's address (inet_ntop:
 * TCPREMOTEIP, TCPLOCALIP, log lines): lower-case hex, the longest run of two
 * or more zero groups (the first, on a tie) as "::", and the IPv4-compatible
 * ::a.b.c.d and ::ffff:a.b.c.d forms that BIND's inet_ntop keeps.
 */
export function ipv6Env(b: Uint8Array, off: number): string {
  const w = words(b, off);
  const [best, bestLen] = longestZeroRun(w);
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    // ::a.b.c.d (IPv4-compatible) and ::ffff:a.b.c.d, as inet_ntop prints them.
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 7 && w[7] !== 1) || (bestLen === 5 && w[5] === 0xffff))) {
      return s + formatIPv4(b, off + 12);
    }
    s += w[i].toString(16);
    if (i < 7) s += ':';
  }
  return s;
}

/** The ucspi-tcp6 rules key of an IPv6 address: full, upper-case groups ("2001:0DB8:0000:..."). */
export function ipv6RulesKey(bytes: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((bytes[i] << 8) | bytes[i + 1]).toString(16).toUpperCase().padStart(4, '0'));
  return g.join(':');
}

/**
 * The RFC 5952 name of 16 bytes, for names an administrator writes and reads
 * (tcprulescheck's rule names, CIDR instruction names, comparing addresses):
 * lower case, the longest run of two or more zero groups as "::", never a
 * dotted tail.
 */
export function ipv6Name(bytes: Uint8Array): string {
  const w = words(bytes, 0);
  const [best, bestLen] = longestZeroRun(w);
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return hex(w.slice(0, best)) + '::' + hex(w.slice(best + bestLen));
}

/** The eight 16-bit groups of the address at b[off]. */
function words(b: Uint8Array, off: number): number[] {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  return w;
}

/** Where "::" goes: the longest run of two or more zero groups, the first on a tie; [-1, 0] for none. */
function longestZeroRun(w: number[]): [number, number] {
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  return best < 0 ? [-1, 0] : [best, bestLen];
}

/** IPv4 a.b.c.d → 32-bit number, or -1 when not a strict dotted quad. */
export function ipv4Number(ip: string): number {
  let n = 0, part = 0, digits = 0, dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + part;
      part = 0; digits = 0; dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return n * 256 + part;
}

/** Whether the 16 bytes at off are an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
export function isV4Mapped(b: Uint8Array, off = 0): boolean {
  if (b[off + 10] !== 0xff || b[off + 11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return true;
}

/**
 * An address as the servers hand it to the rules: a dotted quad (an
 * IPv4-mapped IPv6 address unmapped), RFC 5952 for IPv6; undefined when s is
 * no address.
 */
export function clientIpText(s: string): string | undefined {
  const v4 = parseIPv4(s);
  if (v4) return v4.join('.');
  const b = parseIPv6(s);
  if (b === null) return undefined;
  return isV4Mapped(b) ? formatIPv4(b, 12) : ipv6Name(b);
}
