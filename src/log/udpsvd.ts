// udpsvd's log lines: ipsvd's wording, as tcpsvd's (svd.ts, which they reuse),
// with udpsvd's own differences: no status or concurrency lines, "end P"
// without the exit code, and a datagram that gets no prog is "discard data".
import type { Decision } from '../decide/decision';
import { decimal } from '../decimal';
import { errstr } from '../lib/errstr';
import { writeLine } from '../lib/strerr';
import type { ConnFacts, MatchedEntry } from './log';
import { svdLog } from './svd';

export interface UdpLog {
  listening(ip: string, port: number | string, uid?: number, gid?: number): void;
  /** "pid P from ip", then the start/exec/deny line with the matched entry. */
  datagram(pid: number, c: ConnFacts, verdict: 'start' | 'exec' | 'deny', d: Decision): void;
  /** Only "pid P from ip": for a datagram dropped before a verdict. */
  from(pid: number, ip: string): void;
  end(pid: number): void;
  /** The datagram was dropped: "drop: discard data: what: arg: err". */
  discard(what: string, arg: string, err: NodeJS.ErrnoException | string): void;
  /** "drop: what: err", the datagram stays queued. */
  drop(what: string, err: NodeJS.ErrnoException | string): void;
  warn(what: string, err?: NodeJS.ErrnoException | string): void;
  sigterm(): void;
}

export function udpsvdLog(verbose: number, entry?: MatchedEntry): UdpLog {
  const svd = svdLog(verbose, entry, 'udpsvd');
  return {
    listening: (ip, port, uid, gid) => svd.listening(ip, port, uid, gid),
    datagram: (pid, c, verdict, d) => svd.connection(pid, c, verdict, null, d),
    from: (pid, ip) => svd.from(pid, ip),
    end(pid) {
      if (verbose) writeLine(`udpsvd: info: end ${decimal(pid)}`, 1);
    },
    discard(what, arg, err) {
      writeLine(`udpsvd: drop: discard data: ${what}: ${arg}: ${errstr(err)}`);
    },
    drop: (what, err) => svd.drop(what, err),
    warn: (what, err) => svd.warn(what, err),
    sigterm: () => svd.sigterm(),
  };
}
