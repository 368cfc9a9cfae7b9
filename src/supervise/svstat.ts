// svstat's line for one directory, from what it read there (pure, for tests).
import { decodeStatus } from './status';

export interface Observed {
  /** The "down" file exists. */
  normallyDown: boolean;
  /** supervise/status as read (null when supervise/status said "bad format"). */
  status: Buffer;
  /** Unix seconds now. */
  now: number;
  /** Our addition: supervise/restarts, when our supervisor wrote one. */
  restarts: number | null;
}

/** The text after "dir: ", daemontools' words, then our ", restarts N". */
export function describe(o: Observed): string {
  const s = decodeStatus(o.status);
  if (!s) return 'unable to read supervise/status: bad format';
  const age = Math.max(0, o.now - s.when.sec);
  let t = s.pid ? `up (pid ${s.pid}) ${age} seconds` : `down ${age} seconds`;
  if (s.pid && o.normallyDown) t += ', normally down';
  if (!s.pid && !o.normallyDown) t += ', normally up';
  if (s.pid && s.paused) t += ', paused';
  if (!s.pid && s.want === 'u') t += ', want up';
  if (s.pid && s.want === 'd') t += ', want down';
  if (o.restarts !== null) t += `, restarts ${o.restarts}`;
  return t;
}
