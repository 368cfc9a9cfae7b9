// svstat's line for one directory, from what it read there (pure, for tests).
import * as os from 'node:os';
import { State, decodeStatus } from './status';
import { Extended, Info, LastExit } from './extra';
import { Tai } from '../lib/tai64';
import { tooMany } from './voice';

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

/**
 * svstat --long's lines after the usual one, each "\n  key: value": what
 * our supervisor's extra files (extra.ts) add to the status, '-' where the
 * supervisor (Debian's, or runsv without policy files) keeps no such thing.
 */
export function extended(e: Extended, now: number): string {
  const ago = (t: Tai) => `${Math.max(0, Math.floor(now - t.sec))} seconds`;
  const up = e.status.state !== State.Down && e.status.pid !== 0;
  const i = e.info;
  const rows: Array<[string, string]> = [
    ['uptime', up ? ago(e.status.when) : '-'],
    ['restarts', i ? String(i.restarts) : '-'],
    ['last exit', i ? exitText(i.lastExit) : '-'],
    ['ready', !up || !i || i.notify === null ? '-' : e.ready ? `yes, ${ago(e.ready)}` : 'no'],
    ['respawn', i ? respawnText(i, now) : '-'],
  ];
  return rows.map(([k, v]) => `\n  ${k}: ${v}`).join('');
}

function exitText(x: LastExit): string {
  if (x === null) return '-';
  if ('code' in x) return `exit code ${x.code}`;
  const name = Object.entries(os.constants.signals).find(([, n]) => n === x.signal)?.[0];
  return `signal ${x.signal}${name ? ` (${name})` : ''}`;
}

function respawnText(i: Info, now: number): string {
  const r = i.respawn;
  if (r === null) return i.delay === null ? '-' : `started after a delay of ${i.delay / 1000} seconds`;
  if ('wait' in r) return `next start in ${Math.max(0, Math.ceil(r.wait.sec + r.wait.nano / 1e9 - now))} seconds`;
  const s = r.stayDown;
  return `left down: ${tooMany(s.restarts, s.max, s.periodMs)}`;
}
