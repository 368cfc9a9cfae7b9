// The time stamps svlogd puts in front of a line, 26 bytes with the space:
// -t   @<tai64n>                    (the label daemontools writes)
// -tt  YYYY-MM-DD_HH:MM:SS.xxxxx    (UTC, 10-microsecond digits)
// -ttt YYYY-MM-DDTHH:MM:SS.xxxxx    (the same with ISO 8601's T)
// The clock is gettimeofday()'s, as for the original: nanoseconds are
// microseconds * 1000 + 500, so the fifth fraction digit is the tens of
// microseconds.
import { nowMicros, timestampLabel } from '../lib/tai64';

export const STAMP_LEN = 26;

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

let cachedSec = NaN;
let cachedSep = '';
let cachedHead = '';

function ptime(us: number, sep: string): string {
  const sec = Math.floor(us / 1e6);
  if (sec !== cachedSec || sep !== cachedSep) {
    const d = new Date(sec * 1000);
    cachedHead =
      d.getUTCFullYear() + '-' + two(d.getUTCMonth() + 1) + '-' + two(d.getUTCDate()) + sep +
      two(d.getUTCHours()) + ':' + two(d.getUTCMinutes()) + ':' + two(d.getUTCSeconds()) + '.';
    cachedSec = sec;
    cachedSep = sep;
  }
  const nanos = (us - sec * 1e6) * 1000 + 500;
  return cachedHead + String(nanos).padStart(9, '0').slice(0, 5) + ' ';
}

/** The stamp for `level` (1, 2 or 3 times -t) at microsecond `us`. */
export function formatStamp(level: number, us: number = nowMicros()): string {
  if (level === 1) return timestampLabel(us) + ' ';
  return ptime(us, level === 2 ? '_' : 'T');
}
