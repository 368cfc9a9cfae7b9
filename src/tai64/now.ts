// The current time as a TAI64N label, with the precision daemontools has:
// it reads gettimeofday(), so nanoseconds are always microseconds*1000+500.
import { performance } from 'node:perf_hooks';
import { encodeLabel } from './label';

// Date.now() has only milliseconds; the monotonic clock gives the
// microseconds. `offset` ties the two together and is re-anchored whenever
// the wall clock is stepped, so labels never stray from Date.now().
let offset = 0;

export function nowMicros(): number {
  const wall = Date.now();
  let t = performance.timeOrigin + performance.now() + offset;
  if (t < wall || t >= wall + 1) {
    offset += wall + 0.5 - t;
    t = wall + 0.5;
  }
  return Math.floor(t * 1000);
}

let cachedSec = NaN;
let cachedHex = '';

// '@' + 24 hex digits. The seconds part is cached: it changes once a second
// and multilog asks for a label on every line.
export function timestampLabel(): string {
  const us = nowMicros();
  const sec = Math.floor(us / 1e6);
  const nanos = (us - sec * 1e6) * 1000 + 500;
  if (sec !== cachedSec) {
    cachedSec = sec;
    cachedHex = '@' + encodeLabel(sec, 0).slice(0, 16);
  }
  return cachedHex + nanos.toString(16).padStart(8, '0');
}
