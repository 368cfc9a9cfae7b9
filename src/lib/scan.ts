// djb's scan_ulong, the one reading of a decimal number every original uses
// (ucspi-tcp's rules, ipsvd's instructions, multilog's script, svlogd's
// config and options, chpst, softlimit, sv): the decimal digits at `at`, none
// meaning 0, their value kept as an unsigned long keeps it, modulo 2^64, and
// where the digits end. What follows them is the caller's to judge.
//
// Text (a string, one char per byte for byte strings) or bytes (a Buffer or
// Uint8Array); `limit` bounds the digits read (a field that ends before the
// text does).

const TWO64 = 0xffffffffffffffffn;
// Up to 15 digits the value is below 10^15 < 2^53: plain numbers are exact.
const FAST_DIGITS = 15;

function digitAt(s: string | Uint8Array, i: number): number {
  return (typeof s === 'string' ? s.charCodeAt(i) : s[i]) - 0x30;
}

/**
 * scan_ulong: [value, end]. The value is exact up to 2^53 - 1; a larger one
 * (past the 2^64 wrap, if it comes to that) is the nearest number to the
 * original's: scanUlongBig gives it exactly.
 */
export function scanUlong(s: string | Uint8Array, at = 0, limit = s.length): [number, number] {
  let v = 0;
  let i = at;
  limit = Math.min(limit, s.length);
  for (; i < limit; i++) {
    const d = digitAt(s, i);
    if (!(d >= 0 && d <= 9)) return [v, i];
    if (i - at === FAST_DIGITS) return big(s, at, limit);
    v = v * 10 + d;
  }
  return [v, i];
}

function big(s: string | Uint8Array, at: number, limit: number): [number, number] {
  const [v, end] = scanUlongBig(s, at, limit);
  return [Number(v), end];
}

/** scan_ulong with the value as a bigint, exact: [value mod 2^64, end]. */
export function scanUlongBig(s: string | Uint8Array, at = 0, limit = s.length): [bigint, number] {
  let v = 0n;
  let i = at;
  limit = Math.min(limit, s.length);
  for (; i < limit; i++) {
    const d = digitAt(s, i);
    if (!(d >= 0 && d <= 9)) break;
    v = (v * 10n + BigInt(d)) & TWO64;
  }
  return [v, i];
}
