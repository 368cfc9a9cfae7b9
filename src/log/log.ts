import type { Decision } from '../decide/decision';
// What the engine reports, independent of the wording: tcpsvd and tcpserver
// each implement it with their own lines (see svd.ts, server.ts).
import type { ExitStatus } from '../launch/launch';

/** The facts of one connection, as they appear in the "start"/"ok" line. */
export interface ConnFacts {
  localHost?: string;
  localIp: string;
  localPort: number;
  remoteHost?: string;
  remoteIp: string;
  remotePort: number;
  remoteInfo?: string;
}

export type Verdict = 'start' | 'exec' | 'deny';

/**
 * The words a rule source ends the start/deny/exec line with, naming the
 * entry that matched (vv: tcpsvd -vv, with its instructions).
 */
export type MatchedEntry = (d: Decision, vv: boolean) => string;

export interface EngineLog {
  /** Whether connection() and status() print anything at this verbosity. */
  readonly connections: boolean;
  listening(ip: string, port: number | string, uid?: number, gid?: number): void;
  status(active: number, max: number): void;
  /** Only the "pid P from ip" line: for connections dropped before a verdict. */
  from(pid: number, ip: string): void;
  /** pid from, optional per-host concurrency, then the verdict line. */
  connection(pid: number, c: ConnFacts, verdict: Verdict, concurrency: [number, number] | null,
             decision: Decision): void;
  end(st: ExitStatus): void;
  /** prog could not be started: that connection is dropped. */
  cannotRun(prog: string, err: NodeJS.ErrnoException): void;
  /** The connection is dropped before a verdict (ipsvd: no local name). */
  drop(what: string, err: NodeJS.ErrnoException | string): void;
  /** The rule source could not be read: that connection is dropped (fail closed). */
  cannotReadRules(path: string, err: NodeJS.ErrnoException | string): void;
  warn(what: string, err?: NodeJS.ErrnoException | string): void;
  sigterm(): void;
}
