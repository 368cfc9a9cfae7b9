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
  /** When the connection was accepted (performance.now()), set only for a log that is timed. */
  t0?: number;
}

export type Verdict = 'start' | 'exec' | 'deny';

/**
 * The per-host count (this connection included) and the limit that held;
 * prefix: the network counted under with --prefix (undefined: the client's
 * own address, as without the option).
 */
export type Concurrency = [n: number, limit: number, prefix?: string];

/** A connection refused over --rate: the key counted under (address or prefix), and the rate. */
export interface RateRefusal {
  key: string;
  count: number;
  seconds: number;
}

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
  /** Set by a log that wants each connection's accept time (ConnFacts.t0) at end(). */
  readonly timed?: boolean;
  /** pid from, optional per-host concurrency, then the verdict line. */
  connection(pid: number, c: ConnFacts, verdict: Verdict, concurrency: Concurrency | null,
             decision: Decision): void;
  /** A client refused over --rate, before any lookup or rule (the engine's pid, as for any deny). */
  rate(pid: number, c: ConnFacts, r: RateRefusal): void;
  /** c: the connection that ended, when the engine has it. */
  end(st: ExitStatus, c?: ConnFacts): void;
  /** prog could not be started: that connection is dropped. */
  cannotRun(prog: string, err: NodeJS.ErrnoException): void;
  /** The connection is dropped before a verdict (ipsvd: no local name). */
  drop(what: string, err: NodeJS.ErrnoException | string): void;
  /** The rule source could not be read: that connection is dropped (fail closed). */
  cannotReadRules(path: string, err: NodeJS.ErrnoException | string): void;
  warn(what: string, err?: NodeJS.ErrnoException | string): void;
  sigterm(): void;
}
