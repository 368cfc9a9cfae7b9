// svstat's line for one directory, from what it read there (pure, for tests).
import { decodeStatus } from './status';

export interface Observed {
  /** The "down" file exists. */
  normallyDown: boolean;
  /** supervise/status as read. */
  status: Buffer;
  /** Unix seconds now. */
  now: number;
  /**
   * With -r: supervise/restarts when it goes with this status (our supervisor
   * wrote both); null otherwise, and then nothing is added.
   */
  restarts?: number | null;
}

/** The text after "dir: ", daemontools 0.76's words and order; -r adds ", restarts N". */
export function describe(o: Observed): string {
  if (o.status.length < 18) return 'unable to read supervise/status: bad format';
  const s = decodeStatus(o.status)!;
  const age = Math.max(0, o.now - s.when.sec);
  let t = s.pid ? `up (pid ${s.pid}) ${age} seconds` : `down ${age} seconds`;
  if (s.pid && o.normallyDown) t += ', normally down';
  if (!s.pid && !o.normallyDown) t += ', normally up';
  if (s.pid && s.paused) t += ', paused';
  if (!s.pid && s.want === 'u') t += ', want up';
  if (s.pid && s.want === 'd') t += ', want down';
  if (o.restarts !== undefined && o.restarts !== null) t += `, restarts ${o.restarts}`;
  return t;
}
