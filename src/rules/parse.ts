// One line of tcprules input to CDB records, exactly as ucspi-tcp 0.88's
// tcprules.c reads it, plus the ucspi-tcp6 forms (CIDR, IPv6; see keys.ts).
// Works on bytes in place: a million-line file must not become a million
// strings. The caller has already dropped trailing "\n", " " and "\t".
import { ipv4BitKey, ipv6BitKey } from './keys';
import { ipv6RulesKey, parseIPv6, parseOctets } from '../lib/ip';
import { scanUlong } from '../lib/scan';

/** Where a record goes: key is key[ks..ke), value val[vs..ve). */
export interface RecordSink {
  addRecord(key: Buffer, ks: number, ke: number, val: Buffer, vs: number, ve: number): void;
}

/** Why a line was refused; each has its own message, as in ucspi-tcp6. */
export type LineError = 'parse' | 'prefix' | 'ipv4cidr' | 'ipv6cidr' | 'ipv6';

const COLON = 0x3a, COMMA = 0x2c, EQ = 0x3d, AT = 0x40, SLASH = 0x2f, DASH = 0x2d, DOT = 0x2e, HASH = 0x23;

function indexIn(buf: Buffer, c: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === c) return i;
  return -1;
}

function isDeny(b: Buffer, p: number, end: number): boolean {
  return end - p >= 4 && b[p] === 0x64 && b[p + 1] === 0x65 && b[p + 2] === 0x6e && b[p + 3] === 0x79;
}

function isAllow(b: Buffer, p: number, end: number): boolean {
  return end - p >= 5 && b[p] === 0x61 && b[p + 1] === 0x6c && b[p + 2] === 0x6c && b[p + 3] === 0x6f && b[p + 4] === 0x77;
}

// djb's scan_ulong on a whole field: digits only (none means 0), wrapping at
// 2^64. Returns -1 for any other byte. Results above 256 are reported as 256:
// callers only compare with 255.
function fieldNumber(buf: Buffer, from: number, to: number): number {
  const [v, end] = scanUlong(buf, from, to);
  if (end !== to) return -1;
  return v > 256 ? 256 : v;
}

export class LineCompiler {
  private data = Buffer.allocUnsafe(256);
  private dlen = 0;
  private key = Buffer.allocUnsafe(256);

  constructor(private readonly sink: RecordSink) {}

  /** Compile line[start..end) into records; null when done (or nothing to do). */
  line(buf: Buffer, start: number, end: number): LineError | null {
    if (start === end || buf[start] === HASH) return null;
    // Bounded by the line: an unbounded memchr would rescan the rest of the
    // chunk for every line without a colon.
    const colon = indexIn(buf, COLON, start, end);
    if (colon < 0) return null; // the original ignores lines without a colon
    if (this.instructions(buf, colon + 1, end)) return this.address(buf, start, colon);
    // Not classic. An IPv6 address holds colons itself: try the later ones,
    // in order; the first that gives a rule wins, else the first error
    // other than a parse error is reported. Done in one pass: which
    // suffixes parse as instructions is known from one backward scan, and
    // what the address before each colon would give from one forward scan,
    // so a line with a colon every few bytes is not read once per colon.
    let c = indexIn(buf, COLON, colon + 1, end);
    if (c < 0) return 'parse';
    const parses = instructionSuffixes(buf, colon + 1, end);
    const scan = new AddressScan(buf, start);
    let err: LineError = 'parse';
    for (; c >= 0; c = indexIn(buf, COLON, c + 1, end)) {
      const p = c + 1;
      const ok = isDeny(buf, p, end) ? parses[p + 4 - colon - 1] === 1
        : isAllow(buf, p, end) ? parses[p + 5 - colon - 1] === 1 : false;
      if (!ok) continue;
      const e = scan.classify(c);
      if (e === 'ok') {
        this.instructions(buf, p, end);
        const r = this.ipv6Address(buf, start, c);
        if (r === null) return null;
        if (err === 'parse') err = r;
      } else if (err === 'parse') {
        err = e;
      }
    }
    return err;
  }

  // "allow" or "deny", then ,VAR<q>value<q> repeated: into this.data as
  // "D\0" for deny and "+VAR=value\0" per variable.
  private instructions(buf: Buffer, p: number, end: number): boolean {
    this.dlen = 0;
    if (isDeny(buf, p, end)) {
      this.room(2);
      this.data[this.dlen++] = 0x44;
      this.data[this.dlen++] = 0;
      p += 4;
    } else if (isAllow(buf, p, end)) {
      p += 5;
    } else {
      return false;
    }
    while (p < end) {
      if (buf[p] !== COMMA) return false;
      const eq = indexIn(buf, EQ, p, end);
      if (eq < 0 || eq + 1 === end) return false;
      const quote = buf[eq + 1];
      const close = indexIn(buf, quote, eq + 2, end);
      if (close < 0) return false;
      // "+VAR=value\0": the comma becomes the "+", the quotes go.
      this.room(close - p + 1);
      const d = this.data;
      d[this.dlen++] = 0x2b;
      for (let i = p + 1; i <= eq; i++) d[this.dlen++] = buf[i];
      for (let i = eq + 2; i < close; i++) d[this.dlen++] = buf[i];
      d[this.dlen++] = 0;
      p = close + 1;
    }
    return true;
  }

  private room(n: number): void {
    if (this.dlen + n <= this.data.length) return;
    const bigger = Buffer.allocUnsafe(2 * (this.dlen + n));
    this.data.copy(bigger, 0, 0, this.dlen);
    this.data = bigger;
  }

  private emit(key: Buffer, ks: number, ke: number): void {
    this.sink.addRecord(key, ks, ke, this.data, 0, this.dlen);
  }

  // Classic address (no colon): literal, a.b.c-d. range, or a.b.c.d/n.
  private address(buf: Buffer, start: number, end: number): LineError | null {
    // One pass to classify: '=' or '@' make it literal, then '/' then '-'.
    let slash = -1;
    let dash = -1;
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c === EQ || c === AT) {
        this.emit(buf, start, end);
        return null;
      }
      if (c === SLASH) { if (slash < 0) slash = i; }
      else if (c === DASH) { if (dash < 0) dash = i; }
    }
    if (slash >= 0) return this.ipv4Cidr(buf, start, slash, end);
    if (dash < 0) {
      this.emit(buf, start, end);
      return null;
    }
    // Expand the one numeric field holding the dash, as tcprules.c does:
    // the field runs from after the previous dot to the next dot.
    let left = start;
    for (let i = dash - 1; i >= start; i--) if (buf[i] === DOT) { left = i + 1; break; }
    let right = indexIn(buf, DOT, dash + 1, end);
    if (right < 0) right = end;
    const bot = fieldNumber(buf, left, dash);
    let top = fieldNumber(buf, dash + 1, right);
    if (bot < 0 || top < 0) return 'parse';
    if (top > 255) top = 255;
    const prefix = left - start;
    const suffix = end - right;
    if (this.key.length < prefix + 3 + suffix) this.key = Buffer.allocUnsafe(2 * (prefix + 3 + suffix));
    const k = this.key;
    buf.copy(k, 0, start, left);
    for (let n = bot; n <= top; n++) {
      let o = prefix;
      if (n >= 100) k[o++] = 0x30 + Math.floor(n / 100);
      if (n >= 10) k[o++] = 0x30 + (Math.floor(n / 10) % 10);
      k[o++] = 0x30 + (n % 10);
      buf.copy(k, o, right, end);
      this.emit(k, 0, o + suffix);
    }
    return null;
  }

  private ipv4Cidr(buf: Buffer, start: number, slash: number, end: number): LineError | null {
    const bits = prefixLength(buf, slash + 1, end, 32);
    if (typeof bits === 'string') return bits;
    const octets = parseOctets(buf.toString('latin1', start, slash).split('.'));
    if (!octets || octets.length > 4 || octets.length * 8 < bits) return 'ipv4cidr';
    const key = ipv4BitKey(octets, bits);
    this.emit(key, 0, key.length);
    return null;
  }

  // The forms only ucspi-tcp6 knows, holding colons: addr, addr/n, info@addr.
  private ipv6Address(buf: Buffer, start: number, end: number): LineError | null {
    const text = buf.toString('latin1', start, end);
    const at = text.lastIndexOf('@');
    const slash = text.indexOf('/');
    if (at >= 0) {
      if (slash > at) return 'parse';
      const ip = parseIPv6(text.slice(at + 1));
      if (!ip) return 'ipv6';
      const key = Buffer.concat([buf.subarray(start, start + at + 1), Buffer.from(ipv6RulesKey(ip))]);
      this.emit(key, 0, key.length);
      return null;
    }
    if (slash >= 0) {
      const bits = prefixLength(buf, start + slash + 1, end, 128);
      if (typeof bits === 'string') return bits;
      const ip = parseIPv6(text.slice(0, slash));
      if (!ip) return 'ipv6cidr';
      const key = ipv6BitKey(ip, bits);
      this.emit(key, 0, key.length);
      return null;
    }
    if (!/^[0-9A-Fa-f:.]*$/.test(text)) return 'parse';
    const ip = parseIPv6(text);
    if (!ip) return 'ipv6';
    const key = Buffer.from(ipv6RulesKey(ip));
    this.emit(key, 0, key.length);
    return null;
  }
}

// The n of "/n": digits only (else a parse error), 1..max (else a prefix error).
function prefixLength(buf: Buffer, from: number, to: number, max: number): number | LineError {
  const n = fieldNumber(buf, from, to);
  if (n < 0) return 'parse';
  if (n === 0 || n > max) return 'prefix';
  return n;
}

/**
 * For every position p in [from, end]: 1 when buf[p..end) is a whole run of
 * ",VAR<q>value<q>" (what follows "allow" or "deny"), as instructions()
 * would find it; index p - from. One backward pass: a run from a comma
 * depends only on the first '=' after it, and that '=' on the run after its
 * closing quote, which lies further right.
 */
export function instructionSuffixes(buf: Buffer, from: number, end: number): Uint8Array {
  const ok = new Uint8Array(end - from + 1);
  ok[end - from] = 1;
  const nextSame = new Int32Array(256).fill(-1); // next position of each byte value
  let eqOk = 0; // whether the run from the nearest '=' to the right succeeds
  let haveEq = false;
  let afterNext = -1; // for position i + 1: where its byte value occurs next
  for (let i = end - 1; i >= from; i--) {
    const b = buf[i];
    const after = nextSame[b];
    nextSame[b] = i;
    if (b === EQ) {
      // The quote is buf[i + 1]; the value ends at its next occurrence.
      eqOk = i + 1 < end && afterNext >= 0 ? ok[afterNext + 1 - from] : 0;
      haveEq = true;
    }
    if (b === COMMA && haveEq) ok[i - from] = eqOk;
    afterNext = after;
  }
  return ok;
}

const IPV6_TEXT_MAX = 45; // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

function isAddressChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === DOT;
}

/**
 * What ipv6Address() would say of buf[start..c), for colons c met in
 * increasing order, reading each byte once: 'ok' (worth compiling for real)
 * or the error it would return. The text of the address itself is parsed
 * only when short enough to be one.
 */
export class AddressScan {
  private at = 0;
  private lastAt = -1;
  private firstSlash = -1;
  private firstBad = -1; // first byte no IPv6 text holds
  private nonDigit = -1; // first non-digit after the first slash

  constructor(private readonly buf: Buffer, private readonly start: number) {
    this.at = start;
  }

  classify(c: number): LineError | 'ok' {
    const buf = this.buf;
    for (let i = this.at; i < c; i++) {
      const b = buf[i];
      if (b === AT) this.lastAt = i;
      if (this.firstSlash >= 0) {
        if (this.nonDigit < 0 && (b < 0x30 || b > 0x39)) this.nonDigit = i;
      } else if (b === SLASH) {
        this.firstSlash = i;
      }
      if (this.firstBad < 0 && !isAddressChar(b)) this.firstBad = i;
    }
    this.at = c;
    if (this.lastAt >= 0) {
      if (this.firstSlash > this.lastAt) return 'parse';
      if (c - this.lastAt - 1 > IPV6_TEXT_MAX) return 'ipv6';
      return parseIPv6(buf.toString('latin1', this.lastAt + 1, c)) ? 'ok' : 'ipv6';
    }
    if (this.firstSlash >= 0) {
      if (this.nonDigit >= 0 && this.nonDigit < c) return 'parse';
      const bits = prefixLength(buf, this.firstSlash + 1, c, 128);
      if (typeof bits === 'string') return bits;
      if (this.firstSlash - this.start > IPV6_TEXT_MAX) return 'ipv6cidr';
      return parseIPv6(buf.toString('latin1', this.start, this.firstSlash)) ? 'ok' : 'ipv6cidr';
    }
    if (this.firstBad >= 0 && this.firstBad < c) return 'parse';
    if (c - this.start > IPV6_TEXT_MAX) return 'ipv6';
    return parseIPv6(buf.toString('latin1', this.start, c)) ? 'ok' : 'ipv6';
  }
}
