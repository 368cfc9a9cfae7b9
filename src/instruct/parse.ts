// One instruction line of ipsvd-instruct(5), parsed without side effects.
// The evaluation (environment, DNS checks) lives in evaluate.ts; keeping the
// parser pure lets the table-driven tests pin every quirk of the original.
import { scanUlong } from '../lib/scan';

export type Instruction =
  | { kind: 'skip' }                                   // empty line or comment
  | { kind: 'set'; name: string; value: string }      // +VAR=VALUE
  | { kind: 'unset'; name: string }                    // +VAR
  | { kind: 'limit'; limit: number; msg?: string }     // Cn[:msg]
  | { kind: 'check'; host: string; forward?: string }  // =hostname[:forward]
  | { kind: 'bad' };                                   // warned about, then ignored

export function parseInstruction(line: string): Instruction {
  switch (line.charAt(0)) {
    case '':
    case '#':
      return { kind: 'skip' };
    case '+': {
      const eq = line.indexOf('=');
      // ipsvd silently drops "+" and "+=...": there is no name to act on.
      if ((eq < 0 ? line.length : eq) <= 1) return { kind: 'skip' };
      if (eq < 0) return { kind: 'unset', name: line.slice(1) };
      return { kind: 'set', name: line.slice(1, eq), value: line.slice(eq + 1) };
    }
    case 'C': {
      // As ipsvd's scan_ulong: the digits that are there (none means 0, which
      // turns the per-host limit off); ":msg" only right after them.
      const [n, end] = scanUlong(line, 1);
      const limit = Math.min(n, Number.MAX_SAFE_INTEGER);
      if (line.charAt(end) === ':') return { kind: 'limit', limit, msg: unescapeMsg(line.slice(end + 1)) };
      return { kind: 'limit', limit };
    }
    case '=': {
      const colon = line.indexOf(':', 1);
      if (colon < 0) return { kind: 'check', host: line.slice(1) };
      const forward = line.slice(colon + 1);
      // "=host:" names no forward file: a successful check just runs prog.
      return forward === '' ? { kind: 'check', host: line.slice(1, colon) }
        : { kind: 'check', host: line.slice(1, colon), forward };
    }
    default:
      return { kind: 'bad' };
  }
}

/** The `Cn:msg` escapes: \\ \n \r; any other backslash pair stays as written, a lone final one is dropped. */
export function unescapeMsg(s: string): string {
  // One pass in the regexp engine: a message may be megabytes long (a peers
  // cdb), and building it a character at a time stalled every client.
  if (s.indexOf('\\') < 0) return s;
  return s.replace(/\\([\s\S]?)/g, (_m, n: string) =>
    n === '\\' ? '\\' : n === 'n' ? '\n' : n === 'r' ? '\r' : n === '' ? '' : '\\' + n);
}

/**
 * The lines of an instruction entry, as byte strings (latin1, one char per
 * byte: a +VAR=value reaches prog byte for byte, as with ipsvd). Both stores
 * hand over the text with lines separated by NUL, as ipsvd does after reading
 * a file (one final newline removed, every other newline turned into NUL) and
 * as ipsvd-cdb stores it.
 */
export function splitLines(text: Buffer): string[] {
  return text.toString('latin1').split('\0');
}

/**
 * A file's contents as an entry text: one trailing newline dropped, newlines
 * become NULs (in contents itself when inPlace, else in a copy).
 */
export function fileText(contents: Buffer, inPlace = false): Buffer {
  const end = contents.length > 0 && contents[contents.length - 1] === 0x0a ? contents.length - 1 : contents.length;
  const t = inPlace ? contents.subarray(0, end) : Buffer.from(contents.subarray(0, end));
  for (let i = 0; i < t.length; i++) if (t[i] === 0x0a) t[i] = 0;
  return t;
}

/** An executable file's contents as a shell command: one trailing newline dropped. */
export function execText(contents: Buffer): Buffer {
  const end = contents.length > 0 && contents[contents.length - 1] === 0x0a ? contents.length - 1 : contents.length;
  return contents.subarray(0, end);
}
