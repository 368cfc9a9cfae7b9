// tcprules' work: rules text on a descriptor to a cdb, atomically. The
// records go to tmp, which is fsynced and renamed over cdb only when every
// line was understood; on any failure tmp is removed and cdb is untouched.
import * as fs from 'node:fs';
import { CdbWriter } from '../cdb/writer';
import { errstr } from '../lib/errstr';
import { sleepSync } from '../lib/sleep';
import { LineCompiler, LineError } from './parse';
import { badDescriptor } from '../lib/stdfd';
import { isOutOfMemory, outOfMemory } from '../lib/nomem';

/** A failure with the exit code and the message tcprules prints for it. */
export class RulesError extends Error {
  constructor(readonly exitCode: 100 | 111, readonly text: Buffer) {
    super(text.toString());
  }
}

const FATAL = 'tcprules: fatal: ';
const SYNTAX = 'tcprules: syntax: ';

// The words of ucspi-tcp 0.88 (parse) and ucspi-tcp6 (the rest).
const WHY: Record<LineError, string> = {
  parse: FATAL + 'unable to parse this line: ',
  prefix: SYNTAX + 'invalid prefix length on line: ',
  ipv4cidr: SYNTAX + 'invalid IPv4 CIDR address on line: ',
  ipv6cidr: SYNTAX + 'invalid IPv6 CIDR address on line: ',
  ipv6: SYNTAX + 'invalid IPv6 address on line: ',
};

function sysError(what: string, e: unknown): RulesError {
  return new RulesError(111, Buffer.from(FATAL + what + errstr(e)));
}

const CHUNK = 1 << 20;

/**
 * The longest line held: a line is one record, whose key and value must keep
 * the cdb's offsets 32-bit; longer is refused as out of memory, as the
 * original would once malloc gave up.
 */
export const LINE_MAX = 256 << 20;

/**
 * inputClosed: fd was closed when the command started (and stands for no
 * input at all): fail as a read error, before anything is created.
 */
export function compileRules(input: number, cdbPath: string, tmpPath: string, inputClosed = false): void {
  let w: CdbWriter;
  try {
    w = CdbWriter.create(tmpPath, expectedRecords(input));
  } catch (e) {
    throw sysError(`unable to create ${tmpPath}: `, e);
  }
  try {
    const lc = new LineCompiler({
      addRecord(k, ks, ke, v, vs, ve) {
        try {
          w.addRecord(k, ks, ke, v, vs, ve);
        } catch (e) {
          throw sysError(`unable to write to ${tmpPath}: `, e);
        }
      },
    });
    if (inputClosed) throw sysError('unable to read input: ', badDescriptor());
    readLines(input, (buf, start, end, lineno) => {
      const err = lc.line(buf, start, end);
      if (err) throw syntaxError(err, buf, start, end, lineno);
    });
    try {
      w.finish();
    } catch (e) {
      throw sysError(`unable to write to ${tmpPath}: `, e);
    }
    try {
      fs.renameSync(tmpPath, cdbPath);
    } catch (e) {
      throw sysError(`unable to move ${tmpPath} to ${cdbPath}: `, e);
    }
  } catch (e) {
    w.abort();
    if (isOutOfMemory(e)) throw new RulesError(111, Buffer.from(FATAL + 'out of memory'));
    throw e;
  }
}

// From a regular file's size (a rule line is rarely under 16 bytes), so the
// writer's index is allocated once; 0 (grow as needed) for a pipe.
function expectedRecords(fd: number): number {
  try {
    const st = fs.fstatSync(fd);
    return st.isFile() ? Math.floor(st.size / 16) : 0;
  } catch {
    return 0; // the read will report what is wrong with fd
  }
}

// The line as the original shows it (a C string: up to a NUL byte), and,
// beyond the original, its number.
function syntaxError(err: LineError, buf: Buffer, start: number, end: number, lineno: number): RulesError {
  const nul = buf.indexOf(0, start);
  const shown = buf.subarray(start, nul >= 0 && nul < end ? nul : end);
  return new RulesError(100, Buffer.concat([Buffer.from(WHY[err]), shown, Buffer.from(` (line ${lineno})`)]));
}

/**
 * Call each(buf, start, end, lineno) for every line of fd, without its
 * "\n" and trailing blanks and tabs (tcprules ignores them), in chunks.
 */
export function readLines(fd: number, each: (buf: Buffer, start: number, end: number, lineno: number) => void): void {
  let buf = Buffer.allocUnsafe(CHUNK);
  let have = 0;
  let from = 0; // start of the line not yet seen whole
  let lineno = 0;
  const line = (s: number, e: number) => {
    lineno++;
    while (e > s && (buf[e - 1] === 0x20 || buf[e - 1] === 0x09)) e--;
    each(buf, s, e, lineno);
  };
  for (;;) {
    if (have === buf.length) {
      if (from > 0) {
        buf.copy(buf, 0, from, have);
        have -= from;
        from = 0;
      } else {
        if (buf.length >= LINE_MAX) throw outOfMemory();
        const bigger = Buffer.allocUnsafe(Math.min(2 * buf.length, LINE_MAX));
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
    }
    const n = readSome(fd, buf, have);
    if (n === 0) break;
    const view = buf.subarray(0, have + n);
    let nl = view.indexOf(0x0a, have);
    have += n;
    while (nl >= 0) {
      line(from, nl);
      from = nl + 1;
      nl = view.indexOf(0x0a, from);
    }
  }
  if (from < have) line(from, have);
}

function readSome(fd: number, buf: Buffer, at: number): number {
  for (;;) {
    try {
      return fs.readSync(fd, buf, at, buf.length - at, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        sleepSync(5); // a non-blocking stdin: wait for data
        continue;
      }
      if (code === 'EINTR') continue;
      throw sysError('unable to read input: ', e);
    }
  }
}
