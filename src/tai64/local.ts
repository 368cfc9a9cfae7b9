// tai64nlocal's conversion: a line that starts with a TAI64N label gets the
// label replaced by local time "YYYY-MM-DD HH:MM:SS.nnnnnnnnn"; everything
// else passes through byte for byte. Streaming: labels may straddle chunks.
import { LABEL_LEN, decodeLabel, isHexDigit } from '../lib/tai64';

const AT = 0x40, NL = 0x0a;
// JavaScript dates reach +-8.64e15 ms; keep a day clear for the zone offset.
const MAX_SECS = 8.64e12 - 86400;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

// tai64nlocal prints the year with an unsigned conversion, so years before
// 0 come out as 2^64 + year; we print the same.
function year(y: number): string {
  return y >= 0 ? String(y) : (BigInt.asUintN(64, BigInt(y))).toString();
}

let cacheSecs: bigint | null = null;
let cachePrefix = '';

// Local time for the label at buf[at] ('@' excluded), or null when the date
// is beyond what the JavaScript clock can represent.
export function formatLabel(buf: Buffer, at: number): string | null {
  const { secs, nanos } = decodeLabel(buf, at);
  if (secs !== cacheSecs) {
    const s = Number(secs);
    if (Math.abs(s) > MAX_SECS) return null;
    const d = new Date(s * 1000);
    cacheSecs = secs;
    cachePrefix = year(d.getFullYear()) + '-' + pad(d.getMonth() + 1, 2) + '-' + pad(d.getDate(), 2) +
      ' ' + pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.';
  }
  return cachePrefix + pad(nanos, 9);
}

// What a line start at data[pos] holds: a whole label, a text that cannot
// be one, or a prefix that the next chunk must complete.
type Start = 'label' | 'text' | 'undecided';

function classify(data: Buffer, pos: number, eof: boolean): Start {
  if (data[pos] !== AT) return 'text';
  const end = Math.min(data.length, pos + LABEL_LEN);
  for (let i = pos + 1; i < end; i++) if (!isHexDigit(data[i])) return 'text';
  if (end < pos + LABEL_LEN) return eof ? 'text' : 'undecided';
  // 25 or more hex digits is not a label (the original reads them all).
  if (pos + LABEL_LEN < data.length) return isHexDigit(data[pos + LABEL_LEN]) ? 'text' : 'label';
  return eof ? 'label' : 'undecided';
}

export class LocalConverter {
  private atLineStart = true;
  private carry: Buffer | null = null;

  push(chunk: Buffer): Buffer {
    return this.convert(chunk, false);
  }

  end(): Buffer {
    return this.convert(Buffer.alloc(0), true);
  }

  private convert(chunk: Buffer, eof: boolean): Buffer {
    const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    const out: Buffer[] = [];
    let runStart = 0;
    let pos = 0;
    while (pos < data.length) {
      if (this.atLineStart) {
        const kind = classify(data, pos, eof);
        if (kind === 'undecided') {
          out.push(data.subarray(runStart, pos));
          this.carry = Buffer.from(data.subarray(pos));
          return Buffer.concat(out);
        }
        this.atLineStart = false;
        if (kind === 'label') {
          const local = formatLabel(data, pos + 1);
          if (local !== null) {
            out.push(data.subarray(runStart, pos), Buffer.from(local, 'latin1'));
            pos += LABEL_LEN;
            runStart = pos;
          }
        }
        continue;
      }
      const nl = data.indexOf(NL, pos);
      if (nl < 0) break;
      pos = nl + 1;
      this.atLineStart = true;
    }
    out.push(data.subarray(runStart));
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }
}
