// The current time as a TAI64N label, with the precision daemontools has:
// it reads gettimeofday(), so nanoseconds are always microseconds*1000+500.
import { performance } from 'node:perf_hooks';
import { encodeLabel } from './label';

// Date.now() has only milliseconds; the monotonic clock gives the
// microseconds. `offset` ties the two together; whenever they disagree (the
// wall clock was stepped or slewed) it moves just enough to agree again, so
// the microseconds stay as meaningful as they can be.
let offset = 0;
let last = 0;
const STEP_BACK_US = 1e6; // a wall clock stepped back this far is believed

// Microseconds since the epoch; never goes back by less than STEP_BACK_US,
// so labels written in a row stay in order.
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

let cachedSec = NaN;
let cachedHex = '';

// '@' + 24 hex digits for the microsecond `us` (default: now). The seconds
// part is cached: it changes once a second and multilog labels every line.
export function timestampLabel(us: number = nowMicros()): string {
  const sec = Math.floor(us / 1e6);
  const nanos = (us - sec * 1e6) * 1000 + 500;
  if (sec !== cachedSec) {
    cachedSec = sec;
    cachedHex = '@' + encodeLabel(sec, 0).slice(0, 16);
  }
  return cachedHex + nanos.toString(16).padStart(8, '0');
}
