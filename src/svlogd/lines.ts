// svlogd's line loop: lines read on stdin, cut at -l, replaced as -r/-R say,
// stamped, selected by each directory's patterns and appended to it, sent
// to its UDP peer or to stderr; rotation by size and by time, and what the
// signals ask for, acted on between reads as the original acts on them
// outside its wait for input (its buffer_pread).
import * as fs from 'node:fs';
import { LogDir } from './logdir';
import { formatStamp, STAMP_LEN } from './stamp';
import { fatal } from './say';
import { writeAll } from '../lib/writeall';
import { sleepSync } from '../lib/sleep';

const NL = 0x0a;
const DOTS = Buffer.from('...');
const NEWLINE = Buffer.from('\n');
const DEFAULT_WAKE_MS = 2744 * 1000; // the original wakes up this often anyway

/** svlogd's options (man/svlogd.8). */
export interface Options {
  verbose: number;
  timestamp: number;
  linemax: number;
  buflen: number;
  repl: number; // 0: no replacement
  replace: Buffer;
  dirs: string[];
}

/** What the signals asked for (TERM, ALRM, HUP): set by the command, done and cleared here. */
export interface Asked {
  exit: boolean;
  rotate: boolean;
  reopen: boolean;
}

/**
 * Opens the directories (start: the directory their names are relative to)
 * and logs stdin until its end or asked.exit. Returns what the command calls
 * when a signal has set asked: it is acted on at once, between two reads.
 */
export function logLines(o: Options, start: string, asked: Asked): () => void {
  const { linemax, repl, timestamp } = o;
  const replaceSet = new Uint8Array(256);
  for (const c of o.replace) replaceSet[c] = 1;
  const dirs = o.dirs.map((d) => new LogDir(d, start, o));

  const reopen = () => {
    const now = Date.now();
    let ok = false;
    for (const d of dirs) {
      d.close();
      if (d.open(now)) ok = true;
    }
    if (!ok) fatal('no functional log directories.');
  };
  reopen();

  // The line being read: up to linemax bytes (replacements done), then,
  // past linemax, the rest goes straight to the directories (overflow).
  const line = Buffer.alloc(linemax);
  let linelen = 0;
  let overflow = false;
  let stamp: Buffer = Buffer.alloc(0);
  let stderrOut: Buffer[] = [];
  const stampBuf = Buffer.alloc(STAMP_LEN);

  const takeStamp = () => {
    if (timestamp) {
      stampBuf.write(formatStamp(timestamp), 0, 'latin1');
      stamp = stampBuf;
    }
  };

  // A line's first linemax bytes are known: patterns, stderr, UDP, and the
  // start of what goes to the files.
  const emitHead = (buf: Buffer, off: number, len: number, full: boolean) => {
    for (const d of dirs) {
      if (!d.ok) continue;
      if (d.cfg.patterns.length) d.logmatch(buf, off, len);
      emitHeadOne(d, buf, off, len, full);
    }
  };

  // stamp, prefix, line (and ... when the line fills -l), newline.
  const decorated = (prefix: Buffer, buf: Buffer, off: number, len: number, full: boolean) =>
    Buffer.concat(full ? [stamp, prefix, buf.subarray(off, off + len), DOTS, NEWLINE] : [stamp, prefix, buf.subarray(off, off + len), NEWLINE]);

  const emitHeadOne = (d: LogDir, buf: Buffer, off: number, len: number, full: boolean) => {
    const prefix = d.cfg.prefix;
    if (d.matcherr === 0x65) stderrOut.push(decorated(prefix, buf, off, len, full));
    if (d.match !== 0x2b) return;
    if (d.forwards) d.send(decorated(prefix, buf, off, len, full), () => d.ok && d.sync());
    if (!d.cfg.udponly) {
      if (stamp.length) d.out.put(stamp, 0, stamp.length);
      if (prefix.length) d.out.put(prefix, 0, prefix.length);
      d.out.put(buf, off, len);
    }
  };

  const emitTail = (buf: Buffer, off: number, len: number) => {
    for (const d of dirs) if (d.ok && d.match === 0x2b && !d.cfg.udponly) d.out.putChars(buf, off, len);
  };

  const endLine = () => {
    for (const d of dirs)
      if (d.ok && d.match === 0x2b && !d.cfg.udponly) {
        d.out.putChars(NEWLINE, 0, 1);
        d.out.flush();
      }
    linelen = 0;
    overflow = false;
  };

  // Copies src[from, to) into the line, replacing as -r/-R say.
  const addToLine = (src: Buffer, from: number, to: number) => {
    if (!repl) {
      src.copy(line, linelen, from, to);
      linelen += to - from;
      return;
    }
    for (let k = from; k < to; k++) {
      const c = src[k];
      line[linelen++] = c < 32 || c > 126 || replaceSet[c] ? repl : c;
    }
  };

  // The common case gets no copy: a whole line within the chunk, written
  // as the single write the original makes of it.
  const plain = !timestamp && !repl;
  const feed = (chunk: Buffer) => {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (overflow) {
        const nl = chunk.indexOf(NL, i);
        const end = nl < 0 ? n : nl;
        if (end > i) emitTail(chunk, i, end - i);
        if (nl < 0) return;
        endLine();
        i = nl + 1;
        continue;
      }
      if (linelen === 0) takeStamp();
      const lim = Math.min(n, i + linemax - linelen);
      let nl = chunk.indexOf(NL, i);
      if (nl >= lim) nl = -1;
      if (nl >= 0) {
        if (linelen === 0 && plain) {
          fastLine(chunk, i, nl);
        } else {
          addToLine(chunk, i, nl);
          emitHead(line, 0, linelen, linelen === linemax);
          endLine();
        }
        i = nl + 1;
        continue;
      }
      addToLine(chunk, i, lim);
      i = lim;
      if (linelen === linemax) {
        emitHead(line, 0, linelen, true);
        overflow = true;
      }
    }
  };

  const fastLine = (chunk: Buffer, from: number, nl: number) => {
    const len = nl - from;
    for (const d of dirs) {
      if (!d.ok) continue;
      if (d.cfg.patterns.length) d.logmatch(chunk, from, len);
      else d.match = 0x2b;
      if (d.matcherr === 0x65 || d.forwards || d.cfg.prefix.length || !d.out.empty || len + 1 > o.buflen) {
        // not the simple case for this directory: the general path
        emitHeadOne(d, chunk, from, len, false);
        if (d.match === 0x2b && !d.cfg.udponly) {
          d.out.putChars(NEWLINE, 0, 1);
          d.out.flush();
        }
        continue;
      }
      if (d.match === 0x2b && !d.cfg.udponly) d.out.putFlush(chunk, from, len + 1);
    }
    linelen = 0;
  };

  // Everything processed goes to the kernel; false while a directory
  // waits for its processor.
  const settle = (): boolean => {
    if (stderrOut.length) {
      try {
        writeAll(2, Buffer.concat(stderrOut));
      } catch {
        // stderr is gone
      }
      stderrOut = [];
    }
    let ok = true;
    for (const d of dirs) if (d.ok && !d.sync()) ok = false;
    return ok;
  };

  const input = process.stdin;
  let ended = false;
  let timer: NodeJS.Timeout | null = null;
  let quitting = false;

  const quit = () => {
    if (quitting) return;
    quitting = true;
    input.pause();
    if (timer) clearTimeout(timer);
    const finish = () => {
      if (!settle()) return;
      if (dirs.some((d) => d.processorRunning || d.udpOutstanding > 0)) return;
      for (const d of dirs) d.close();
      process.exit(0);
    };
    for (const d of dirs) d.onUnblock = finish;
    const poll = setInterval(finish, 50);
    poll.unref();
    finish();
    // Keep the loop alive while processors and datagrams finish.
    setInterval(() => {}, 1000);
  };

  // What the original does before every read (buffer_pread).
  const between = () => {
    if (quitting) return;
    if (!settle()) {
      input.pause();
      return;
    }
    if (asked.rotate) {
      const now = Date.now();
      for (const d of dirs) d.rotate(now);
      asked.rotate = false;
      if (!settle()) {
        input.pause();
        return;
      }
    }
    if (asked.exit && linelen === 0 && !overflow) return quit();
    if (ended) return quit();
    if (asked.reopen) {
      reopen();
      asked.reopen = false;
    }
    const now = Date.now();
    let next = now + DEFAULT_WAKE_MS;
    let rotated = false;
    for (const d of dirs)
      if (d.ok && d.cfg.tmax) {
        if (d.trotate < now) {
          d.rotate(now);
          rotated = true;
        }
        if (d.trotate < next) next = d.trotate;
      }
    if (rotated && !settle()) {
      input.pause();
      return;
    }
    if (timer) clearTimeout(timer);
    timer = setTimeout(between, Math.max(0, next - Date.now()) + 1);
    if (asked.exit) finishLineAndQuit();
    else input.resume();
  };
  for (const d of dirs) d.onUnblock = between;

  // After TERM in the middle of a line: read byte by byte up to its end,
  // as the original does, and leave the rest of the input unread.
  const finishLineAndQuit = () => {
    input.pause();
    // What the stream has read ahead already (while a processor held us up)
    // is input read: it is logged. read() would also emit it as 'data'.
    input.removeAllListeners('data');
    for (let b; (linelen !== 0 || overflow) && input.readableLength > 0 && (b = input.read()) !== null;) feed(b as Buffer);
    const one = Buffer.alloc(1);
    while (linelen !== 0 || overflow) {
      let r: number;
      try {
        r = fs.readSync(0, one, 0, 1, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          sleepSync(10);
          continue;
        }
        r = 0;
      }
      if (r === 0) {
        endOfInput();
        break;
      }
      feed(one);
    }
    quit();
  };

  // End of input: a last line without its newline is kept (the original
  // drops it unless it was longer than -l), with a newline added.
  const endOfInput = () => {
    if (overflow) endLine();
    else if (linelen > 0) {
      emitHead(line, 0, linelen, linelen === linemax);
      endLine();
    }
    ended = true;
  };

  input.on('data', (chunk: Buffer) => {
    feed(chunk);
    between();
  });
  const eof = () => {
    endOfInput();
    between();
  };
  input.on('end', eof);
  input.on('error', eof);
  between();
  return between;
}
