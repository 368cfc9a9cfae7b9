// TAI64N as daemontools and runit have it: 8 bytes of seconds, 2^62 + 10 +
// unix seconds (djb's libtai assumes a fixed 10 s TAI-UTC offset and keeps no
// leap-second table), then 4 bytes of nanoseconds, both big-endian. Packed
// in supervise/status; as a label ('@' and 24 lowercase hex digits) in
// multilog's lines and file names.
import { performance } from 'node:perf_hooks';

const OFFSET = (1n << 62n) + 10n;

/** A moment: unix seconds and nanoseconds. */
export interface Tai { sec: number; nano: number }

// ---- now

// Date.now() has only milliseconds; the monotonic clock gives the
// microseconds. `offset` ties the two together; whenever they disagree (the
// wall clock was stepped or slewed) it moves just enough to agree again, so
// the microseconds stay as meaningful as they can be.
let offset = 0;
let last = 0;
const STEP_BACK_US = 1e6; // a wall clock stepped back this far is believed

/**
 * Microseconds since the epoch, what gettimeofday() gives the originals;
 * never goes back by less than STEP_BACK_US, so labels written in a row stay
 * in order.
 */
export function nowMicros(): number {
  const wall = Date.now();
  let t = performance.timeOrigin + performance.now() + offset;
  if (t < wall) {
    offset += wall - t;
    t = wall;
  } else if (t >= wall + 1) {
    offset -= t - (wall + 0.999);
    t = wall + 0.999;
  }
  const us = Math.floor(t * 1000);
  if (us < last && last - us < STEP_BACK_US) return last;
  return (last = us);
}

/** The moment `us` (default: now) with the originals' precision: nanoseconds are microseconds*1000+500. */
export function taiNow(us: number = nowMicros()): Tai {
  const sec = Math.floor(us / 1e6);
  return { sec, nano: (us - sec * 1e6) * 1000 + 500 };
}

// ---- packed (12 bytes)

export function packTai(t: Tai, out: Buffer, at = 0): void {
  out.writeBigUInt64BE(BigInt(t.sec) + OFFSET, at);
  out.writeUInt32BE(t.nano, at + 8);
}

export function unpackTai(b: Buffer, at = 0): Tai {
  return { sec: Number(b.readBigUInt64BE(at) - OFFSET), nano: b.readUInt32BE(at + 8) };
}

// ---- label: '@' + 24 hex digits

export const LABEL_LEN = 25;

const HEX_LOW = 0x30, HEX_DIG_END = 0x3a, HEX_A = 0x61, HEX_F_END = 0x67;

/** Only lowercase: tai64n never writes uppercase and tai64nlocal stops at it. */
export function isHexDigit(c: number): boolean {
  return (c >= HEX_LOW && c < HEX_DIG_END) || (c >= HEX_A && c < HEX_F_END);
}

export interface Tai64n {
  secs: bigint; // unix seconds, as a signed 64-bit time_t
  nanos: number; // as written: may exceed 999999999 in a hand-made label
}

/** The 24 hex digits that follow '@' at buf[at]; the caller has checked they are hex digits. */
export function decodeLabel(buf: Buffer, at: number): Tai64n {
  const secs = BigInt.asIntN(64, BigInt('0x' + buf.toString('latin1', at, at + 16)) - OFFSET);
  const nanos = parseInt(buf.toString('latin1', at + 16, at + 24), 16);
  return { secs, nanos };
}

/** The 24 hex digits for unix time `secs` (an integer) and `nanos`. */
export function encodeLabel(secs: number, nanos: number): string {
  const tai = BigInt.asUintN(64, OFFSET + BigInt(secs));
  return tai.toString(16).padStart(16, '0') + nanos.toString(16).padStart(8, '0');
}

let cachedSec = NaN;
let cachedHex = '';

/**
 * '@' + 24 hex digits for the microsecond `us` (default: now). The seconds
 * part is cached: it changes once a second and multilog labels every line.
 */
export function timestampLabel(us: number = nowMicros()): string {
  const { sec, nano } = taiNow(us);
  if (sec !== cachedSec) {
    cachedSec = sec;
    cachedHex = '@' + encodeLabel(sec, 0).slice(0, 16);
  }
  return cachedHex + nano.toString(16).padStart(8, '0');
}
