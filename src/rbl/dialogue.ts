// The SMTP dialogue rblsmtpd holds with a blocked client instead of running
// the mail server, as ucspi-tcp 0.88's (Debian's): "220 rblsmtpd.local",
// then a line at a time (up to LF; one CR before it dropped; a NUL counts as
// a byte of the line): QUIT is answered "221 rblsmtpd.local" and ends it,
// HELO, EHLO, MAIL, RSET and NOOP "250 rblsmtpd.local", anything else with
// the block's message. The verb is the line up to its first space, in any
// case. End of input, a read error or the timeout (one alarm for the whole
// dialogue, from its start) ends it with exit 0; a timeout of 0 writes the
// message alone, at once. Only a line's first bytes are kept (a verb longer
// than 5 can match no command), so a line of any length costs no memory;
// while the client does not read, it is not read from either.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { timerMs } from '../lib/timer';
import { writeAll } from '../lib/writeall';
import { ignoredAtStart } from '../lib/ignored';

const HOST = 'rblsmtpd.local';
const ACCEPTED = new Set(['helo', 'ehlo', 'mail', 'rset', 'noop']);

/** "451 text" or "553 text": the text cut at 200 bytes, then every byte below 32 or above 126 as '?'. */
export function blockMessage(code: '451' | '553', text: string): string {
  return `${code} ${text.slice(0, 200)}`.replace(/[^\x20-\x7e]/g, '?');
}

/** The log line on stderr, before the dialogue: "rblsmtpd: IP pid PID: message". */
export function logLine(ip: string, message: string): string {
  return `rblsmtpd: ${ip} pid ${process.pid}: ${message}\n`;
}

/**
 * The answers to a stream of input bytes, line by line: feed() returns the
 * replies for the lines the chunk completes, and 'quit' once QUIT is read
 * (what follows it is not looked at).
 */
export class Lines {
  private verb = '';
  private verbDone = false;

  constructor(private readonly reject: string) {}

  feed(chunk: Buffer): { replies: string[]; quit: boolean } {
    const replies: string[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0x0a) {
        let v = this.verb;
        if (!this.verbDone && v.endsWith('\r')) v = v.slice(0, -1);
        this.verb = '';
        this.verbDone = false;
        const lower = v.replace(/[A-Z]/g, (c) => c.toLowerCase());
        if (lower === 'quit') {
          replies.push(`221 ${HOST}\r\n`);
          return { replies, quit: true };
        }
        replies.push(ACCEPTED.has(lower) ? `250 ${HOST}\r\n` : `${this.reject}\r\n`);
      } else if (!this.verbDone) {
        if (b === 0x20) this.verbDone = true;
        // Six bytes tell every verb apart from longer words ("quit\r" is five).
        else if (this.verb.length < 6) this.verb += String.fromCharCode(b === 0 ? 0x0a : b);
      }
    }
    return { replies, quit: false };
  }
}

/** The client's input: a socket or pipe through the event loop, else Node's stdin (file, tty). */
function input(): Readable | undefined {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(0);
  } catch {
    return undefined; // no input: as a read error, the end
  }
  if (st.isSocket() || st.isFIFO()) return new net.Socket({ fd: 0, readable: true, writable: false, allowHalfOpen: true });
  return process.stdin;
}

/** Where the replies go: a socket or pipe through the event loop (so a client that does not read cannot stop the timeout); else written at once. */
function output(): Writable | undefined {
  try {
    const st = fs.fstatSync(1);
    if (st.isSocket() || st.isFIFO()) return new net.Socket({ fd: 1, readable: false, writable: true });
  } catch { /* written at once, and failing as the original's writes fail */ }
  return undefined;
}

/** Ends as the original ends on a write to a closed peer: of SIGPIPE, unless that was ignored at start. */
function brokenPipe(): void {
  if (ignoredAtStart().includes(constants.signals.SIGPIPE)) return;
  const noop = () => {};
  process.on('SIGPIPE', noop);
  process.removeListener('SIGPIPE', noop);
  process.kill(process.pid, 'SIGPIPE');
}

/** Holds the dialogue, then exits 0. timeout: seconds (the original's unsigned long; alarm(2) takes it mod 2^32). */
export function hold(message: string, timeout: bigint): void {
  const reject = message;
  if (timeout === 0n) {
    try { writeAll(1, Buffer.from(reject + '\r\n', 'latin1')); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') brokenPipe();
    }
    process.exit(0);
  }
  const alarm = Number(timeout % 2n ** 32n);
  if (alarm !== 0) setTimeout(() => process.exit(0), timerMs(alarm * 1000));

  const out = output();
  const inp = input();
  let outDead = false;
  let pending = 0;
  let ending = false;
  const finish = () => {
    ending = true;
    if (pending === 0) process.exit(0);
  };
  const send = (s: string): boolean => {
    const buf = Buffer.from(s, 'latin1');
    if (!out) {
      try { writeAll(1, buf); } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') brokenPipe();
      }
      return true;
    }
    if (outDead) return true;
    pending++;
    return out.write(buf, () => {
      if (outDead) return;
      pending--;
      if (ending && pending === 0) process.exit(0);
    });
  };
  if (out) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') brokenPipe();
      // The original ignores a failed write and reads on.
      outDead = true;
      pending = 0;
      if (ending) process.exit(0);
      inp?.resume();
    });
  }

  const lines = new Lines(reject);
  send(`220 ${HOST}\r\n`);
  if (!inp) {
    finish();
    return;
  }
  inp.on('data', (chunk: Buffer) => {
    if (ending) return;
    const { replies, quit } = lines.feed(chunk);
    let room = true;
    for (const r of replies) room = send(r) && room;
    if (quit) {
      inp.pause();
      finish();
      return;
    }
    if (!room && out && !outDead) {
      inp.pause();
      out.once('drain', () => { if (!ending) inp.resume(); });
    }
  });
  inp.on('end', finish);
  inp.on('error', finish);
}
