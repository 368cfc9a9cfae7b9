// Raw addresses from accept(2) as text, the way inet_ntop(3) writes them (and
// libuv, so the two accept paths agree): dotted quads; IPv6 in lower-case hex
// with the longest run of two or more zero groups (the first, on a tie) as
// "::", and the IPv4-compatible ::a.b.c.d form that BIND's inet_ntop keeps.

/** Four bytes at off → "a.b.c.d". */
export function formatIPv4(b: Uint8Array, off: number): string {
  return b[off] + '.' + b[off + 1] + '.' + b[off + 2] + '.' + b[off + 3];
}

/** Sixteen bytes at off → IPv6 text. */
export function formatIPv6(b: Uint8Array, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) best = -1;
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
