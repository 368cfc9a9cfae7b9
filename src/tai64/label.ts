// TAI64N labels as daemontools writes them: '@', then 16 hex digits of
// 2^62 + 10 + unix seconds (daemontools assumes a fixed 10 s TAI-UTC
// offset and keeps no leap-second table), then 8 hex digits of nanoseconds.

export const LABEL_LEN = 25; // '@' + 24 hex digits

const HEX_LOW = 0x30, HEX_DIG_END = 0x3a, HEX_A = 0x61, HEX_F_END = 0x67;

// Only lowercase: tai64n never writes uppercase and tai64nlocal stops at it.
export function isHexDigit(c: number): boolean {
  return (c >= HEX_LOW && c < HEX_DIG_END) || (c >= HEX_A && c < HEX_F_END);
}

const TAI_OFFSET = (1n << 62n) + 10n;

export interface Tai64n {
  secs: bigint; // unix seconds, as a signed 64-bit time_t
  nanos: number; // as written: may exceed 999999999 in a hand-made label
}

// Decodes the 24 hex digits that follow '@' at buf[at]; the caller has
// checked they are hex digits.
export function decodeLabel(buf: Buffer, at: number): Tai64n {
  const secs = BigInt.asIntN(64, BigInt('0x' + buf.toString('latin1', at, at + 16)) - TAI_OFFSET);
  const nanos = parseInt(buf.toString('latin1', at + 16, at + 24), 16);
  return { secs, nanos };
}

// The 24 hex digits for unix time `secs` (an integer) and `nanos`.
export function encodeLabel(secs: number, nanos: number): string {
  const tai = BigInt.asUintN(64, TAI_OFFSET + BigInt(secs));
  return tai.toString(16).padStart(16, '0') + nanos.toString(16).padStart(8, '0');
}
