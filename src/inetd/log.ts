// Where inetd's messages go: syslog (facility daemon, tag "inetd[pid]", as
// openbsd-inetd's openlog), through logger(1) to /dev/log when that socket
// exists (Node cannot write to a UNIX datagram socket itself); with -d also
// to stderr, where openbsd-inetd prints its debugging lines. One logger
// reads every message, each line with its priority in front
// (--prio-prefix): a process per message would let a file of ten thousand
// bad lines, or a client per second at a line that cannot start its
// program, start as many processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeLine } from '../lib/strerr';

export type Level = 'err' | 'warning' | 'notice' | 'info';

export interface InetdLog {
  readonly debug: boolean;
  /** A syslog message (and a stderr line with -d). */
  syslog(level: Level, text: string): void;
  /** openbsd-inetd's -d lines: stderr only. */
  trace(text: string): void;
}

/** syslog(3)'s numbers: facility daemon, and each level's severity. */
const DAEMON = 3 << 3;
const SEVERITY: Record<Level, number> = { err: 3, warning: 4, notice: 5, info: 6 };
/** Bytes waiting for a logger that does not read (syslogd stalled): beyond them a message is dropped. */
const BACKLOG = 1 << 20;

export function createLog(debug: boolean, devLog = '/dev/log', logger = '/usr/bin/logger'): InetdLog {
  let child: ChildProcess | undefined;
  let started = 0;
  const start = (): ChildProcess | undefined => {
    // A logger that ends at once (no syslogd behind /dev/log) is started again at most once a
    // second: meanwhile messages are dropped, never a process each.
    const now = Date.now();
    if (now - started < 1000) return undefined;
    started = now;
    let c: ChildProcess;
    try {
      c = spawn(logger, ['-u', devLog, '-d', '-t', `inetd[${process.pid}]`, '--prio-prefix'], { stdio: ['pipe', 'ignore', 'ignore'] });
    } catch {
      return undefined; // no logger: nothing better to do
    }
    c.on('error', () => { if (child === c) child = undefined; });
    c.on('exit', () => { if (child === c) child = undefined; });
    c.stdin!.on('error', () => { if (child === c) child = undefined; });
    // Never what keeps a process alive.
    c.unref();
    (c.stdin as unknown as { unref?: () => void }).unref?.();
    return c;
  };
  return {
    debug,
    syslog(level, text) {
      if (debug) writeLine(text);
      if (!existsSync(devLog)) return;
      child ??= start();
      const stdin = child?.stdin;
      if (!stdin || stdin.writableLength > BACKLOG) return;
      // One message, one line: a newline inside would start another, at the default priority.
      stdin.write(`<${DAEMON | SEVERITY[level]}>${text.replace(/\n/g, ' ')}\n`);
    },
    trace(text) {
      if (debug) writeLine(text);
    },
  };
}
