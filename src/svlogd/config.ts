// A log directory's `config` file, read when the directory is opened (at
// start and on HUP). One setting per line, chosen by its first byte; lines
// the original would not understand are ignored, as it ignores them.
import { warning } from './say';
import { scanUlong } from '../lib/scan';

export interface Config {
  sizemax: number; // s: rotate current at this size; 0: never
  nmax: number; // n: keep at most this many old files; 0: all
  nmin: number; // N: on a full disk, keep at least this many
  tmax: number; // t: rotate after this many seconds; 0: never
  processor: string; // !: run on every rotated file ('' none)
  prefix: Buffer; // p: put in front of every line (empty: none)
  patterns: Buffer[]; // + - e E lines, the selector byte first
  udp: { host: string; port: number } | null; // u / U
  udponly: boolean; // U: lines go to the network only
}

export function defaults(): Config {
  return { sizemax: 1000000, nmax: 10, nmin: 10, tmax: 0, processor: '', prefix: Buffer.alloc(0), patterns: [], udp: null, udponly: false };
}

// scan_ulong, as the original counts: [value, digits].
function scanDigits(b: Buffer, at: number): [number, number] {
  const [v, end] = scanUlong(b, at);
  return [v, end - at];
}

// a.b.c.d, each part decimal (kept modulo 256, as the original stores it in a
// char); returns the address and the bytes used, or null.
function ip4Scan(b: Buffer, at: number): [string, number] | null {
  const parts: number[] = [];
  let i = at;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (b[i] !== 0x2e) return null;
      i++;
    }
    const [v, n] = scanDigits(b, i);
    if (!n) return null;
    parts.push(v % 256);
    i += n;
  }
  return [parts.join('.'), i - at];
}

/** Parses the bytes of dir/config into `c` (which starts as defaults()). */
export function parseConfig(text: Buffer, c: Config): void {
  // The original walks the file with `i + 1 < length`, so a last line of
  // one byte without its newline is not seen.
  for (let i = 0; i + 1 < text.length; i++) {
    let nl = text.indexOf(0x0a, i);
    if (nl < 0) nl = text.length;
    const line = text.subarray(i, nl);
    const rest = line.subarray(1);
    switch (line[0]) {
      case 0x2b: // + - e E
      case 0x2d:
      case 0x65:
      case 0x45: {
        // A NUL ends a pattern, as it ends the original's copy.
        const z = line.indexOf(0);
        c.patterns.push(Buffer.from(z < 0 ? line : line.subarray(0, z)));
        break;
      }
      case 0x73: {
        // s
        const [v, n] = scanDigits(rest, 0);
        c.sizemax = v;
        if (rest[n] === 0x6d) c.sizemax *= 1024 * 1024;
        else if (rest[n] === 0x6b) c.sizemax *= 1024;
        break;
      }
      case 0x6e: // n
        c.nmax = scanDigits(rest, 0)[0];
        break;
      case 0x4e: // N
        c.nmin = scanDigits(rest, 0)[0];
        break;
      case 0x74: {
        // t
        const [v, n] = scanDigits(rest, 0);
        c.tmax = v;
        if (rest[n] === 0x68) c.tmax *= 3600;
        else if (rest[n] === 0x6d) c.tmax *= 60;
        break;
      }
      case 0x21: // !
        if (line.length > 1) c.processor = Buffer.from(cstr(rest), 'latin1').toString();
        break;
      case 0x70: // p
        if (line.length > 1) c.prefix = Buffer.from(cstr(rest), 'latin1');
        break;
      case 0x55: // U
      case 0x75: {
        // u
        if (line[0] === 0x55) c.udponly = true;
        const ip = ip4Scan(rest, 0);
        if (!ip) {
          warning(`unable to scan ip address: ${cstr(rest)}`);
          break;
        }
        let port = 514;
        if (rest[ip[1]] === 0x3a) {
          port = scanDigits(rest, ip[1] + 1)[0] % 65536;
          if (port === 0) {
            warning(`unable to scan port number: ${cstr(rest.subarray(ip[1] + 1))}`);
            break;
          }
        }
        c.udp = { host: ip[0], port };
        break;
      }
    }
    i = nl;
  }
}

// The text up to a NUL, as C sees it.
function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return (z < 0 ? b : b.subarray(0, z)).toString('latin1');
}
