// Where inetd's messages go: syslog (facility daemon, tag "inetd[pid]", as
// openbsd-inetd's openlog), through logger(1) to /dev/log when that socket
// exists (Node cannot write to a UNIX datagram socket itself); with -d also
// to stderr, where openbsd-inetd prints its debugging lines.
import { spawn } from 'node:child_process';
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

export function createLog(debug: boolean, devLog = '/dev/log', logger = '/usr/bin/logger'): InetdLog {
  return {
    debug,
    syslog(level, text) {
      if (debug) writeLine(text);
      if (!existsSync(devLog)) return;
      try {
        const c = spawn(logger, ['-u', devLog, '-d', '-t', `inetd[${process.pid}]`, '-p', `daemon.${level}`, '--', text],
          { stdio: 'ignore' });
        c.on('error', () => {});
      } catch {
        // no logger: nothing better to do
      }
    },
    trace(text) {
      if (debug) writeLine(text);
    },
  };
}
